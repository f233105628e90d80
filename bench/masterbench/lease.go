package masterbench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ffrtmp/ffrtmp/api"
)

var errEmptyLease = errors.New("no job leased (204) while jobs were queued")

// SingleLeaseP99Ms is a single master's lease p99 target (bench-master's).
const SingleLeaseP99Ms = targetLeaseP99Ms

// heartbeatInterval is how often each simulated node heartbeats, as a worker does by
// default.
const heartbeatInterval = 10 * time.Second

// leaseCase measures POST /v1/nodes/{id}/lease with p.Queued jobs queued and p.Nodes
// registered nodes, driven by p.Requesters concurrent requesters.
func (e *env) leaseCase(ctx context.Context) (CaseResult, error) {
	p := e.opts.Profile
	db := filepath.Join(e.tmp, "lease.db")
	t0 := time.Now()
	if err := FillQueued(ctx, db, p.Queued); err != nil {
		return CaseResult{Name: "lease"}, fmt.Errorf("fill queued jobs: %w", err)
	}
	setup := []string{fmt.Sprintf("%d queued jobs written through master/store.PutJobs before the master started, in %.1f s", p.Queued, time.Since(t0).Seconds())}
	m, err := e.startMaster(ctx, "lease", db)
	if err != nil {
		return CaseResult{Name: "lease", Setup: setup}, err
	}
	defer m.Stop()
	setup = append(setup, fmt.Sprintf("master started in %.2f s (loading %d queued jobs into the scheduler)", m.StartTime.Seconds(), p.Queued))
	e.logf("lease: %d leases (+%d warm-up) offered at %.0f/s to %d requesters over %d nodes", p.Leases, p.LeaseWarmup, p.LeaseRate, p.Requesters, p.Nodes)
	res, err := MeasureLease(ctx, m.URL, []*Master{m}, p, targetLeaseP99Ms)
	res.Setup = append(setup, res.Setup...)
	if err != nil {
		return res, err
	}
	e.logf("lease: %s", res.Summary)
	return res, m.Stop()
}

// MeasureLease measures POST /v1/nodes/{id}/lease at url, where p.Queued jobs are queued
// already: it registers p.Nodes nodes, then p.Requesters concurrent requesters lease and
// complete at p.LeaseRate offered, then back to back. The lease p99 is held to p99Ms.
// masters are the processes whose CPU time the result counts.
func MeasureLease(ctx context.Context, url string, masters []*Master, p Profile, p99Ms float64) (CaseResult, error) {
	res := CaseResult{Name: "lease", Latencies: map[string]Latency{},
		Description: fmt.Sprintf("POST /v1/nodes/{id}/lease (wait 0) with %d jobs queued and %d registered nodes (1 slot each), each lease followed by POST /v1/jobs/{id}/complete; "+
			"%d leases measured (after %d) offered at %.0f/s as independent arrivals to at most %d concurrent requesters, latency counted from when a lease was due; "+
			"then %d leases by %d requesters back to back (saturation)", p.Queued, p.Nodes, p.Leases, p.LeaseWarmup, p.LeaseRate, p.Requesters, p.SatLeases, p.Requesters)}
	// One client per requester, and one more for the heartbeats.
	cs, err := newClients(url, p.Requesters+1)
	if err != nil {
		return res, err
	}
	defer cs.Close()

	t0 := time.Now()
	nodes, err := registerNodes(ctx, cs, p.Nodes)
	if err != nil {
		return res, err
	}
	res.Setup = append(res.Setup, fmt.Sprintf("%d nodes registered through the API in %.1f s", p.Nodes, time.Since(t0).Seconds()))

	conns, err := newWireConns(url, p.Requesters)
	if err != nil {
		return res, err
	}
	defer conns.Close()
	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	hb := startHeartbeats(hbCtx, cs.c[p.Requesters], nodes)

	// A requester takes a free node, leases for it, completes the job and frees the node, so
	// no node has two requests at once and each lease finds the node's slot free.
	free := make(chan *simNode, len(nodes))
	for _, n := range nodes {
		free <- n
	}
	var compMu sync.Mutex
	var completes []time.Duration
	var compErrs []error
	leaseOp := func(ctx context.Context, c int) (time.Duration, error) {
		n := <-free
		defer func() { free <- n }()
		var l struct {
			Job struct {
				ID string `json:"id"`
			} `json:"job"`
		}
		t := time.Now()
		code, err := conns[c].doAs(n.secret, http.MethodPost, "/v1/nodes/"+n.id+"/lease", nil, &l)
		d := time.Since(t)
		switch {
		case err != nil:
			return d, err
		case code == http.StatusNoContent:
			return d, errEmptyLease
		case code != http.StatusOK || l.Job.ID == "":
			return d, fmt.Errorf("lease answer %d with job %q: want 200 and a job", code, l.Job.ID)
		}
		n.setRunning(l.Job.ID)
		var j struct {
			Status api.Status `json:"status"`
		}
		t = time.Now()
		_, cerr := conns[c].doAs(n.secret, http.MethodPost, "/v1/jobs/"+l.Job.ID+"/complete", n.complete, &j)
		cd := time.Since(t)
		n.setRunning("")
		if cerr == nil && j.Status != api.StatusCompleted {
			cerr = fmt.Errorf("complete answered status %q", j.Status)
		}
		compMu.Lock()
		if cerr != nil {
			compErrs = append(compErrs, fmt.Errorf("complete: %w", cerr))
		} else {
			completes = append(completes, cd)
		}
		compMu.Unlock()
		return d, nil
	}

	span := &cpuSpan{ms: masters}
	w := runRate(ctx, p.LeaseRate, p.Requesters, p.LeaseWarmup, p.Leases, span.mark, leaseOp)
	span.end(&res, w.OK)
	sat := runCount(ctx, p.Requesters, 0, p.SatLeases, nil, leaseOp)
	stopHB()
	hbStats := hb.wait()

	// Completes of both phases are in completes: a figure to read, not a target.
	comp := Summarize(completes)
	lat := Summarize(w.Latencies)
	satLat := Summarize(sat.Latencies)
	res.Latencies["lease"] = lat
	res.Latencies["lease-saturation"] = satLat
	res.Latencies["complete"] = comp
	res.Errors = w.Errors
	failed := w.Failed + sat.Failed
	for k, v := range sat.Errors {
		res.Errors[k] += v
	}
	for _, err := range append(compErrs, hbStats.errs...) {
		failed++
		res.Errors[ErrorKey(err)]++
	}
	res.Setup = append(res.Setup, fmt.Sprintf("%d heartbeats sent meanwhile (each node every %s)", hbStats.sent, heartbeatInterval))
	res.Metrics = []Metric{
		Info(fmt.Sprintf("lease p50 at %.0f/s offered", p.LeaseRate), lat.P50, "ms"),
		AtMost(fmt.Sprintf("lease p99 at %.0f/s offered", p.LeaseRate), lat.P99, "ms", p99Ms),
		Info("lease max", lat.Max, "ms"),
		Info("complete p99", comp.P99, "ms"),
		Info(fmt.Sprintf("saturation: leases/s, %d back to back", p.Requesters), sat.Rate(), "/s"),
		Info("saturation: lease p50", satLat.P50, "ms"),
		Info("saturation: lease p99", satLat.P99, "ms"),
		Zero("errors", float64(failed), ""),
		Info("master CPU per lease+complete", res.MasterCPUPerOpUs, "µs"),
		Info("load generator CPU per lease+complete", perOp(res.LoadCPUSeconds, w.OK), "µs"),
		Info("other processes' CPU meanwhile", res.OtherCPUCores, "cores"),
	}
	res.Summary = fmt.Sprintf("p50 %.2f ms, p99 %.2f ms at %.0f/s; saturation %.0f/s, p99 %.2f ms; %d errors", lat.P50, lat.P99, p.LeaseRate, sat.Rate(), satLat.P99, failed)
	return res, nil
}

// simNode is a registered node the load drives.
type simNode struct {
	id       string
	complete []byte // body of its complete reports
	secret   string // its node secret, from its registration
	mu       sync.Mutex
	running  string // the job it holds between lease and complete
}

func (n *simNode) setRunning(id string) {
	n.mu.Lock()
	n.running = id
	n.mu.Unlock()
}

func (n *simNode) runningJobs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running == "" {
		return []string{}
	}
	return []string{n.running}
}

// registerNodes registers n CPU nodes (one slot, libx264; a quarter labelled pool=gpu with
// one GPU and NVENC) through the clients.
func registerNodes(ctx context.Context, cs *clients, n int) ([]*simNode, error) {
	nodes := make([]*simNode, n)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(len(cs.c))
	for i := range nodes {
		id := fmt.Sprintf("bench-node-%04d", i)
		nodes[i] = &simNode{id: id, complete: []byte(`{"node":"` + id + `","result":{"frames":300,"seconds":1}}`)}
		reg := api.Registration{ID: nodes[i].id, Name: nodes[i].id, Version: "bench",
			Capabilities: api.Capabilities{CPUs: 16, Encoders: []string{"libx264", "aac", "libopus"}, Slots: 1}}
		if i%4 == 0 {
			reg.Labels = map[string]string{"pool": "gpu"}
			reg.Capabilities.Encoders = append(reg.Capabilities.Encoders, "h264_nvenc", "hevc_nvenc")
			reg.Capabilities.Hardware = []string{"cuda"}
			reg.Capabilities.GPUs = []api.GPU{{Index: 0, Name: "NVIDIA L4", MemoryTotalMB: 23034, EncoderSessions: 3}}
		}
		c, n := cs.c[i%len(cs.c)], nodes[i]
		g.Go(func() error {
			r, err := c.Register(ctx, reg)
			if err != nil {
				return fmt.Errorf("register %s: %w", reg.ID, err)
			}
			n.secret = r.Secret
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Any client may act as any node (the heartbeats' does).
	for _, n := range nodes {
		for _, c := range cs.c {
			c.SetNodeSecret(n.id, n.secret)
		}
	}
	return nodes, nil
}

type heartbeats struct {
	done chan struct{}
	sent int
	errs []error
}

// startHeartbeats sends each node's heartbeat every heartbeatInterval, spread evenly over
// the interval, until ctx ends.
func startHeartbeats(ctx context.Context, c *api.Client, nodes []*simNode) *heartbeats {
	h := &heartbeats{done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(heartbeatInterval / time.Duration(len(nodes)))
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			n := nodes[i%len(nodes)]
			_, err := c.Heartbeat(ctx, n.id, api.Heartbeat{Telemetry: api.Telemetry{CPUPercent: 55, LoadAverage: 8}, RunningJobs: n.runningJobs()})
			if ctx.Err() != nil {
				return
			}
			h.sent++
			if err != nil && len(h.errs) < 100 {
				h.errs = append(h.errs, fmt.Errorf("heartbeat: %w", err))
			}
		}
	}()
	return h
}

func (h *heartbeats) wait() *heartbeats {
	<-h.done
	return h
}
