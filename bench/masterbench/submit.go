package masterbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// Targets from the issue (2 cores, load generator on the same machine).
const (
	targetSubmitRate  = 10_000 // durable submits per second
	targetSubmitP99Ms = 20
	targetLeaseP99Ms  = 10
	targetListP99Ms   = 20
)

// SubmitTargets are what a submit measurement is held to.
type SubmitTargets struct {
	Rate  float64 // durable submits per second, at least
	P99Ms float64 // latency p99, at most
}

// SingleSubmitTargets are a single master's (the bench-master targets).
var SingleSubmitTargets = SubmitTargets{Rate: targetSubmitRate, P99Ms: targetSubmitP99Ms}

// submitCase measures POST /v1/jobs: p.Clients clients submitting back to back into a fresh
// database for p.Duration after p.Warmup.
func (e *env) submitCase(ctx context.Context) (CaseResult, error) {
	// No queued-jobs cap: at the target rate the run queues more than the default 100k.
	m, err := e.startMaster(ctx, "submit", filepath.Join(e.tmp, "submit.db"), "--max-queued-jobs", "0")
	if err != nil {
		return CaseResult{Name: "submit"}, err
	}
	defer m.Stop()
	e.logf("submit: %d clients for %s (+%s warm-up)", e.opts.Profile.Clients, e.opts.Profile.Duration, e.opts.Profile.Warmup)
	res, err := MeasureSubmit(ctx, m.URL, []*Master{m}, e.opts.Profile, SingleSubmitTargets)
	res.Setup = append([]string{fmt.Sprintf("master started in %.2f s on a fresh database, with --max-queued-jobs 0 (the run queues more than the default cap)", m.StartTime.Seconds())}, res.Setup...)
	if err != nil {
		return res, err
	}
	e.logf("submit: %s", res.Summary)
	return res, m.Stop()
}

// MeasureSubmit measures POST /v1/jobs at url: p.Clients clients submitting back to back
// for p.Duration after p.Warmup, then each client's last accepted job read back. masters
// are the processes whose CPU time the result counts (a cluster's members: all of them).
func MeasureSubmit(ctx context.Context, url string, masters []*Master, p Profile, tg SubmitTargets) (CaseResult, error) {
	res := CaseResult{Name: "submit", Latencies: map[string]Latency{},
		Description: fmt.Sprintf("POST /v1/jobs {\"scenario\":\"1080p30-h264\",\"queue\":\"batch\",\"priority\":N} from %d clients, closed loop, %s after %s of warm-up",
			p.Clients, p.Duration, p.Warmup)}
	conns, err := newWireConns(url, p.Clients)
	if err != nil {
		return res, err
	}
	defer conns.Close()
	// One body per priority, encoded once.
	bodies := make([][]byte, api.MaxPriority-api.MinPriority+1)
	for i := range bodies {
		b, err := json.Marshal(api.JobRequest{Scenario: "1080p30-h264", Queue: api.QueueBatch, Priority: api.MinPriority + i})
		if err != nil {
			return res, err
		}
		bodies[i] = b
	}

	last := make([]string, p.Clients) // each client's last accepted job, checked afterwards
	seq := make([]int, p.Clients)
	span := &cpuSpan{ms: masters}
	w := runFor(ctx, p.Clients, p.Warmup, p.Duration, span.mark, func(ctx context.Context, c int) (time.Duration, error) {
		seq[c]++
		body := bodies[(c*37+seq[c])%len(bodies)]
		var j struct {
			ID     string     `json:"id"`
			Status api.Status `json:"status"`
		}
		t := time.Now()
		code, err := conns[c].do(http.MethodPost, "/v1/jobs", body, &j)
		d := time.Since(t)
		switch {
		case err != nil:
			return d, err
		case code != http.StatusCreated || j.ID == "" || j.Status != api.StatusQueued:
			return d, fmt.Errorf("answer %d with job id %q status %q: want 201, an id and queued", code, j.ID, j.Status)
		}
		last[c] = j.ID
		return d, nil
	})
	span.end(&res, w.OK)

	// A 201 means the job is stored: read each client's last one back, through api.Client.
	cs, err := newClients(url, 1)
	if err != nil {
		return res, err
	}
	defer cs.Close()
	for _, id := range last {
		if id == "" {
			continue
		}
		if _, err := cs.c[0].GetJob(ctx, id); err != nil {
			w.Failed++
			w.Errors["accepted job not found: "+ErrorKey(err)]++
		}
	}
	lat := Summarize(w.Latencies)
	res.Latencies["submit"] = lat
	res.Errors = w.Errors
	res.Metrics = []Metric{
		AtLeast("throughput (201/s)", w.Rate(), "/s", tg.Rate),
		Info("latency p50", lat.P50, "ms"),
		AtMost("latency p99", lat.P99, "ms", tg.P99Ms),
		Info("latency max", lat.Max, "ms"),
		Zero("errors", float64(w.Failed), ""),
		Info("accepted", float64(w.OK), "jobs"),
		Info("master CPU per submit", res.MasterCPUPerOpUs, "µs"),
		Info("load generator CPU per submit", perOp(res.LoadCPUSeconds, w.OK), "µs"),
		Info("other processes' CPU meanwhile", res.OtherCPUCores, "cores"),
	}
	res.Summary = fmt.Sprintf("%.0f/s, p50 %.2f ms, p99 %.2f ms, %d errors", w.Rate(), lat.P50, lat.P99, w.Failed)
	return res, nil
}
