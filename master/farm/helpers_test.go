package farm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// env is a real master on loopback with one client per role: sub submits and watches jobs,
// wrk plays the workers, adm drains and removes nodes.
type env struct {
	t      *testing.T
	h      *mastertest.Harness
	sub    *api.Client
	wrk    *api.Client
	adm    *api.Client
	ctx    context.Context
	mutate func(*master.Config)
	nodes  []string // registered by node(): their secrets outlive a restart, as workers keep them
}

// quiet is the farm config tests start from: the background loop ticks once at start and
// then not for an hour, so a test decides when failure handling runs (Tick) unless it sets
// Interval itself.
func quiet(c *farm.Config) {
	c.Interval = time.Hour
	c.Aging = -1
}

// start runs a master whose farm config is quiet, then each of tune.
func start(t *testing.T, tune ...func(*farm.Config)) *env {
	t.Helper()
	mutate := func(c *master.Config) {
		quiet(&c.Farm)
		for _, f := range tune {
			f(&c.Farm)
		}
	}
	return envOf(t, mastertest.Start(t, mutate), mutate)
}

func envOf(t *testing.T, h *mastertest.Harness, mutate func(*master.Config)) *env {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, h: h, ctx: ctx, mutate: mutate,
		sub: h.Client(t, auth.RoleSubmitter), wrk: h.Client(t, auth.RoleWorker), adm: h.Client(t, auth.RoleAdmin)}
}

// clock is a farm clock a test moves: failure handling then sees exactly the time the test
// says has passed, at once.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock on by d.
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// withClock makes the farm's time c's.
func withClock(c *clock) func(*farm.Config) { return func(cfg *farm.Config) { cfg.Clock = c.Now } }

// restart stops the master and starts another on the same database with the same config.
func (e *env) restart() *env {
	e.t.Helper()
	if err := e.h.Stop(e.t); err != nil {
		e.t.Fatalf("stop master: %v", err)
	}
	ne := envOf(e.t, mastertest.StartIn(e.t, e.h.Dir, e.mutate), e.mutate)
	ne.nodes = e.nodes
	for _, id := range e.nodes {
		ne.wrk.SetNodeSecret(id, e.wrk.NodeSecret(id))
	}
	return ne
}

func (e *env) farm() *farm.Service { return e.h.Master.Farm() }

// tick runs one round of failure handling now.
func (e *env) tick() { e.farm().Tick(e.ctx) }

var nodeSeq atomic.Int64

// node registers a worker with caps (Slots 0 means 1) and returns its ID.
func (e *env) node(caps api.Capabilities, labels map[string]string) string {
	e.t.Helper()
	id := fmt.Sprintf("node-%d", nodeSeq.Add(1))
	if caps.Encoders == nil {
		caps.Encoders = []string{"libx264"}
	}
	n, err := e.wrk.Register(e.ctx, api.Registration{ID: id, Name: id, Labels: labels, Capabilities: caps})
	if err != nil {
		e.t.Fatalf("register %s: %v", id, err)
	}
	if n.ID != id || n.Status != api.NodeOnline || !strings.HasPrefix(n.Secret, auth.NodeSecretPrefix) {
		e.t.Fatalf("registered %+v", n)
	}
	e.nodes = append(e.nodes, id)
	return id
}

// submit queues req; a request that names no work gets the 720p30-h264 scenario.
func (e *env) submit(req api.JobRequest) api.Job {
	e.t.Helper()
	if req.Spec == nil && req.Preset == "" && req.Scenario == "" {
		req.Scenario = "720p30-h264"
	}
	j, err := e.sub.SubmitJob(e.ctx, req, "")
	if err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	if j.Status != api.StatusQueued {
		e.t.Fatalf("submitted job is %s", j.Status)
	}
	return *j
}

func (e *env) lease(node string, wait time.Duration) *api.Lease {
	e.t.Helper()
	l, err := e.wrk.Lease(e.ctx, node, wait)
	if err != nil {
		e.t.Fatalf("lease for %s: %v", node, err)
	}
	return l
}

// mustLease leases for node without waiting and fails when no job comes.
func (e *env) mustLease(node string) api.Lease {
	e.t.Helper()
	l := e.lease(node, 0)
	if l == nil {
		e.t.Fatalf("no job for %s", node)
	}
	if l.Job.Status != api.StatusAssigned || l.Job.Node != node {
		e.t.Fatalf("leased job is %s on %q, want assigned to %s", l.Job.Status, l.Job.Node, node)
	}
	return *l
}

// noLease checks that node gets nothing now.
func (e *env) noLease(node string) {
	e.t.Helper()
	if l := e.lease(node, 0); l != nil {
		e.t.Fatalf("%s leased job %s (%s %d), want none", node, l.Job.ID, l.Job.Queue, l.Job.Priority)
	}
}

func (e *env) progress(id, node string, percent float64) *api.ProgressReply {
	e.t.Helper()
	r, err := e.wrk.ReportProgress(e.ctx, id, api.ProgressReport{Node: node, Phase: api.PhaseTranscoding,
		Progress: &api.Progress{Percent: percent, FPS: 30, Speed: 1}})
	if err != nil {
		e.t.Fatalf("progress %s: %v", id, err)
	}
	return r
}

func (e *env) complete(id, node string) api.Job {
	e.t.Helper()
	j, err := e.wrk.Complete(e.ctx, id, api.CompleteReport{Node: node, Result: &api.Result{Frames: 300}})
	if err != nil {
		e.t.Fatalf("complete %s: %v", id, err)
	}
	return *j
}

func (e *env) fail(id, node, code string, transient bool) api.Job {
	e.t.Helper()
	j, err := e.wrk.Fail(e.ctx, id, api.FailReport{Node: node, Error: api.JobError{Code: code, Message: "it broke: " + code, Transient: transient}})
	if err != nil {
		e.t.Fatalf("fail %s: %v", id, err)
	}
	return *j
}

func (e *env) job(id string) api.Job {
	e.t.Helper()
	j, err := e.sub.GetJob(e.ctx, id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return *j
}

func (e *env) events(id string) []api.Event {
	e.t.Helper()
	var out []api.Event
	after := int64(0)
	for {
		page, err := e.sub.JobEvents(e.ctx, id, after, 0)
		if err != nil {
			e.t.Fatalf("events of %s: %v", id, err)
		}
		out = append(out, page.Events...)
		if page.Next == 0 {
			return out
		}
		after = page.Next
	}
}

// states lists job id's state events as "from>to" ("" for the first).
func (e *env) states(id string) []string {
	e.t.Helper()
	var out []string
	for _, ev := range e.events(id) {
		if ev.Type == api.EventState {
			out = append(out, fmt.Sprintf("%s>%s", ev.From, ev.To))
		}
	}
	return out
}

// wantStates checks the whole state history of job id.
func (e *env) wantStates(id string, want ...string) {
	e.t.Helper()
	got := e.states(id)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		e.t.Fatalf("job %s state events\n got %v\nwant %v", id, got, want)
	}
}

// waitJob polls job id until ok accepts it, ticking the farm each round when tick is set.
func (e *env) waitJob(id string, tick bool, what string, ok func(api.Job) bool) api.Job {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tick {
			e.tick()
		}
		j := e.job(id)
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s never became %s: it is %s (error %+v)", id, what, j.Status, j.Error)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) waitStatus(id string, tick bool, st api.Status) api.Job {
	e.t.Helper()
	return e.waitJob(id, tick, string(st), func(j api.Job) bool { return j.Status == st })
}

// waitNode polls node id until its status is st.
func (e *env) waitNode(id string, st api.NodeStatus) api.Node {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := e.sub.GetNode(e.ctx, id)
		if err != nil {
			e.t.Fatalf("get node %s: %v", id, err)
		}
		if n.Status == st {
			return *n
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("node %s never became %s: it is %s", id, st, n.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// keepAlive heartbeats for node until the test ends, listing the jobs the master says it runs.
func (e *env) keepAlive(node string) {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	e.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var running []string
			if n, err := e.sub.GetNode(ctx, node); err == nil {
				running = n.RunningJobs
			}
			_, _ = e.wrk.Heartbeat(ctx, node, api.Heartbeat{RunningJobs: running})
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
}

// wantAPIError checks that err is an *api.Error with status and code.
func wantAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an API error %d %s", err, status, code)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func intp(v int) *int { return &v }
