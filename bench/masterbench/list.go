package masterbench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// listVariant is one kind of first-page request.
type listVariant struct {
	name string
	path string
	// none: the filter matches no job, so the page is empty and ends, with a cursor, after
	// examining store.MaxScan jobs: the slowest page a filter can ask for. It has no target.
	none bool
}

var listVariants = []listVariant{
	{name: "all", path: "/v1/jobs"},
	// Sparse (about 3% of the jobs): one status index.
	{name: "status=failed", path: "/v1/jobs?status=failed"},
	// A dense status and a queue about 1 in 20 of the jobs are in.
	{name: "status=completed&queue=live", path: "/v1/jobs?status=completed&queue=live"},
	// A text search for the failed jobs' error code: read from each job's JSON, not an index.
	{name: "text=encode_failed", path: "/v1/jobs?text=encode_failed"},
	// A text no job holds: every job a page may examine is searched.
	{name: "text=no-such-file.mov", path: "/v1/jobs?text=no-such-file.mov", none: true},
}

// listCase measures GET /v1/jobs first pages (default limit) with p.Listed jobs stored.
func (e *env) listCase(ctx context.Context) (CaseResult, error) {
	p := e.opts.Profile
	res := CaseResult{Name: "list", Latencies: map[string]Latency{},
		Description: fmt.Sprintf("GET /v1/jobs first page (default limit %d) with %d jobs stored, %d clients, %d requests per filter after %d of warm-up; "+
			"a twentieth as many for a text no job holds (each page searches %d jobs); then %d unfiltered pages from 1 client alone",
			defaultPage, p.Listed, p.ListClients, p.ListRequests, p.ListWarmup, store.MaxScan, max(p.ListRequests/4, 1))}
	e.logf("list: database of %d jobs in %s", p.Listed, e.opts.CacheDir)
	ldb, err := EnsureListDB(ctx, e.opts.CacheDir, p.Listed)
	if err != nil {
		return res, err
	}
	how := fmt.Sprintf("cached (built %s in %.0f s)", ldb.Built.Format(time.RFC3339), ldb.BuildSeconds)
	if !ldb.Cached {
		how = fmt.Sprintf("built now in %.0f s", ldb.BuildSeconds)
	}
	res.Setup = append(res.Setup, fmt.Sprintf("database of %d jobs (94%% completed, 3%% failed, 2%% canceled, 1%% queued; written through master/store.PutJobs) %s: %s, %.0f MB",
		ldb.Jobs, how, ldb.Path, float64(ldb.Bytes)/1e6))
	e.logf("list: database %s", how)
	m, err := e.startMaster(ctx, "list", ldb.Path, "--retention", "0")
	if err != nil && ldb.Cached && strings.Contains(err.Error(), "database schema") {
		// Made for another store schema: build it again, once.
		e.logf("list: the master refuses the cached database (%v); building it again", err)
		if err := RemoveListDB(e.opts.CacheDir, p.Listed); err != nil {
			return res, err
		}
		return e.listCase(ctx)
	}
	if err != nil {
		return res, err
	}
	defer m.Stop()
	res.Setup = append(res.Setup, fmt.Sprintf("master started in %.2f s on it (--retention 0 keeps the cached jobs from being purged; "+
		"opening a bbolt file whose freelist is not stored walks every page, so a cold page cache makes this slow)", m.StartTime.Seconds()))
	conns, err := newWireConns(m.URL, p.ListClients)
	if err != nil {
		return res, err
	}
	defer conns.Close()

	ops := 0
	res.Errors = map[string]int{}
	failed := 0
	for _, v := range listVariants {
		reqs, warm := p.ListRequests, p.ListWarmup
		if v.none {
			// Each page searches store.MaxScan jobs: a twentieth as many tell its latency.
			reqs, warm = max(reqs/20, 10), max(warm/20, 2)
		}
		e.logf("list: %s, %d requests (+%d warm-up) from %d clients", v.name, reqs, warm, p.ListClients)
		span := &cpuSpan{ms: []*Master{m}}
		w := runCount(ctx, p.ListClients, warm, reqs, span.mark, func(ctx context.Context, c int) (time.Duration, error) {
			var l struct {
				Jobs []struct {
					ID string `json:"id"`
				} `json:"jobs"`
				NextCursor string `json:"next_cursor"`
			}
			t := time.Now()
			_, err := conns[c].do(http.MethodGet, v.path, nil, &l)
			d := time.Since(t)
			if err != nil {
				return d, err
			}
			switch {
			case v.none && (len(l.Jobs) != 0 || l.NextCursor == "" && p.Listed > store.MaxScan):
				return d, fmt.Errorf("%s: page of %d jobs, next cursor %q: want none and a cursor", v.name, len(l.Jobs), l.NextCursor)
			case !v.none && (len(l.Jobs) != defaultPage || l.NextCursor == ""):
				return d, fmt.Errorf("%s: page of %d jobs, next cursor %q: want a full page of %d and a cursor", v.name, len(l.Jobs), l.NextCursor, defaultPage)
			}
			return d, nil
		})
		var vr CaseResult
		span.end(&vr, w.OK)
		res.MasterCPUSeconds += vr.MasterCPUSeconds
		res.LoadCPUSeconds += vr.LoadCPUSeconds
		res.OtherCPUCores += vr.OtherCPUCores / float64(len(listVariants))
		ops += w.OK
		failed += w.Failed
		for k, n := range w.Errors {
			res.Errors[k] += n
		}
		lat := Summarize(w.Latencies)
		res.Latencies[v.name] = lat
		p99 := AtMost(v.name+" p99", lat.P99, "ms", targetListP99Ms)
		if v.none {
			p99 = Info(v.name+" p99", lat.P99, "ms")
		}
		res.Metrics = append(res.Metrics,
			Info(v.name+" p50", lat.P50, "ms"), p99,
			Info(v.name+" master CPU/page", vr.MasterCPUPerOpUs/1000, "ms"))
		e.logf("list: %s p50 %.2f ms, p99 %.2f ms, %d errors", v.name, lat.P50, lat.P99, w.Failed)
	}
	if ops > 0 {
		res.MasterCPUPerOpUs = res.MasterCPUSeconds / float64(ops) * 1e6
	}
	// The same first page from one client alone: the time a page takes without queueing
	// behind the other clients' pages on the shared cores. For reading, no target.
	n1 := max(p.ListRequests/4, 1)
	e.logf("list: all, %d requests from 1 client", n1)
	w := runCount(ctx, 1, p.ListWarmup, n1, nil, func(ctx context.Context, c int) (time.Duration, error) {
		t := time.Now()
		_, err := conns[0].do(http.MethodGet, listVariants[0].path, nil, nil)
		return time.Since(t), err
	})
	failed += w.Failed
	for k, n := range w.Errors {
		res.Errors[k] += n
	}
	solo := Summarize(w.Latencies)
	res.Latencies["all, 1 client"] = solo
	res.Metrics = append(res.Metrics, Info("all, 1 client: p50", solo.P50, "ms"), Info("all, 1 client: p99", solo.P99, "ms"))
	res.Metrics = append(res.Metrics, Zero("errors", float64(failed), ""),
		Info("other processes' CPU meanwhile", res.OtherCPUCores, "cores"))
	return res, m.Stop()
}

// defaultPage is the page size of a GET /v1/jobs without a limit.
const defaultPage = farm.DefaultPageSize
