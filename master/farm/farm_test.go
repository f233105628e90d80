package farm_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// ---- the state machine ----

func TestLegalTable(t *testing.T) {
	legal := map[[2]api.Status]bool{
		{api.StatusQueued, api.StatusAssigned}:    true,
		{api.StatusQueued, api.StatusCanceled}:    true,
		{api.StatusAssigned, api.StatusRunning}:   true,
		{api.StatusAssigned, api.StatusRetrying}:  true,
		{api.StatusAssigned, api.StatusFailed}:    true,
		{api.StatusAssigned, api.StatusCanceled}:  true,
		{api.StatusRunning, api.StatusCompleted}:  true,
		{api.StatusRunning, api.StatusRetrying}:   true,
		{api.StatusRunning, api.StatusFailed}:     true,
		{api.StatusRunning, api.StatusCanceled}:   true,
		{api.StatusRetrying, api.StatusQueued}:    true,
		{api.StatusRetrying, api.StatusCanceled}:  true,
		{api.StatusFailed, api.StatusQueued}:      true,
		{api.StatusCanceled, api.StatusQueued}:    true,
		{api.StatusCompleted, api.StatusQueued}:   false, // finished for good
		{api.StatusQueued, api.StatusRunning}:     false, // must be leased first
		{api.StatusQueued, api.StatusCompleted}:   false,
		{api.StatusRetrying, api.StatusAssigned}:  false, // back through the queue
		{api.StatusAssigned, api.StatusCompleted}: false, // through running
	}
	for _, from := range api.Statuses {
		for _, to := range api.Statuses {
			if got := farm.Legal(from, to); got != legal[[2]api.Status{from, to}] {
				t.Errorf("Legal(%s, %s) = %v", from, to, got)
			}
		}
	}
}

// The happy path, one state event per transition.
func TestQueuedAssignedRunningCompleted(t *testing.T) {
	e := start(t)
	n := e.node(api.Capabilities{}, nil)
	j := e.submit(api.JobRequest{})
	e.wantStates(j.ID, ">queued")

	l := e.mustLease(n)
	if l.Job.ID != j.ID || l.Job.Attempts != 1 || l.Job.AssignedAt == nil {
		t.Fatalf("lease %+v", l.Job)
	}
	e.wantStates(j.ID, ">queued", "queued>assigned")

	if r := e.progress(j.ID, n, 10); r.Cancel {
		t.Fatal("progress of a job the node owns was told to cancel")
	}
	got := e.job(j.ID)
	if got.Status != api.StatusRunning || got.StartedAt == nil || got.Progress == nil || got.Progress.Percent != 10 || got.Phase != api.PhaseTranscoding {
		t.Fatalf("after progress: %+v", got)
	}
	e.progress(j.ID, n, 50) // a second report is not a transition
	e.wantStates(j.ID, ">queued", "queued>assigned", "assigned>running")

	done := e.complete(j.ID, n)
	if done.Status != api.StatusCompleted || done.FinishedAt == nil || done.Result == nil || done.Result.Frames != 300 || done.Node != n {
		t.Fatalf("completed job %+v", done)
	}
	e.wantStates(j.ID, ">queued", "queued>assigned", "assigned>running", "running>completed")
	for _, ev := range e.events(j.ID) {
		if ev.Type == api.EventState && ev.To != api.StatusQueued && ev.Node != n {
			t.Fatalf("state event %+v does not name the node", ev)
		}
	}
}

// A worker that completes without a progress report still passes through running.
func TestCompleteFromAssigned(t *testing.T) {
	e := start(t)
	n := e.node(api.Capabilities{}, nil)
	j := e.submit(api.JobRequest{})
	e.mustLease(n)
	e.complete(j.ID, n)
	e.wantStates(j.ID, ">queued", "queued>assigned", "assigned>running", "running>completed")
}

func TestFailTransientRetriesThroughTheQueue(t *testing.T) {
	e := start(t, func(c *farm.Config) { c.RetryBackoff = 20 * time.Millisecond })
	n := e.node(api.Capabilities{}, nil)

	// From running.
	j := e.submit(api.JobRequest{})
	e.mustLease(n)
	e.progress(j.ID, n, 5)
	r := e.fail(j.ID, n, "input_timeout", true)
	if r.Status != api.StatusRetrying || r.RetryAt == nil || !r.RetryAt.After(r.UpdatedAt) || r.Error == nil || r.Error.Code != "input_timeout" || !r.Error.Transient {
		t.Fatalf("after a transient failure: %+v", r)
	}
	e.tick()
	if time.Now().Before(*r.RetryAt) && e.job(j.ID).Status != api.StatusRetrying {
		t.Fatal("a Tick before the backoff ended requeued the job")
	}
	e.noLease(n) // not in the queue while retrying
	q := e.waitStatus(j.ID, true, api.StatusQueued)
	if q.RetryAt != nil {
		t.Fatalf("queued job keeps retry_at %v", q.RetryAt)
	}
	l := e.mustLease(n)
	if l.Job.ID != j.ID || l.Job.Attempts != 2 {
		t.Fatalf("second lease: %s attempt %d", l.Job.ID, l.Job.Attempts)
	}
	e.wantStates(j.ID, ">queued", "queued>assigned", "assigned>running", "running>retrying", "retrying>queued", "queued>assigned")

	e.complete(j.ID, n)

	// From assigned.
	k := e.submit(api.JobRequest{})
	e.mustLease(n)
	if r := e.fail(k.ID, n, "no_space", true); r.Status != api.StatusRetrying {
		t.Fatalf("assigned job after a transient failure is %s", r.Status)
	}
	e.wantStates(k.ID, ">queued", "queued>assigned", "assigned>retrying")
}

func TestFailTerminal(t *testing.T) {
	e := start(t)
	n := e.node(api.Capabilities{Slots: 2}, nil)
	run := e.submit(api.JobRequest{})
	asg := e.submit(api.JobRequest{})
	e.mustLease(n)
	e.mustLease(n)
	e.progress(run.ID, n, 1)
	for _, id := range []string{run.ID, asg.ID} {
		f := e.fail(id, n, "bad_input", false)
		if f.Status != api.StatusFailed || f.FinishedAt == nil || f.Error == nil || f.Error.Transient || f.Error.Message != "it broke: bad_input" {
			t.Fatalf("after a terminal failure: %+v %+v", f, f.Error)
		}
	}
	e.wantStates(run.ID, ">queued", "queued>assigned", "assigned>running", "running>failed")
	e.wantStates(asg.ID, ">queued", "queued>assigned", "assigned>failed")
	e.noLease(n)
}

func TestCancelFromEveryLiveState(t *testing.T) {
	e := start(t, func(c *farm.Config) { c.RetryBackoff = time.Hour })
	n := e.node(api.Capabilities{Slots: 3}, nil)
	queued := e.submit(api.JobRequest{Priority: -10})
	assigned := e.submit(api.JobRequest{Priority: 10})
	running := e.submit(api.JobRequest{Priority: 9})
	retrying := e.submit(api.JobRequest{Priority: 8})
	for _, want := range []string{assigned.ID, running.ID, retrying.ID} {
		if l := e.mustLease(n); l.Job.ID != want {
			t.Fatalf("leased %s, want %s", l.Job.ID, want)
		}
	}
	e.progress(running.ID, n, 1)
	e.fail(retrying.ID, n, "flaky", true)

	for _, c := range []struct {
		job  api.Job
		path []string
	}{
		{queued, []string{">queued", "queued>canceled"}},
		{assigned, []string{">queued", "queued>assigned", "assigned>canceled"}},
		{running, []string{">queued", "queued>assigned", "assigned>running", "running>canceled"}},
		{retrying, []string{">queued", "queued>assigned", "assigned>retrying", "retrying>canceled"}},
	} {
		j, err := e.sub.CancelJob(e.ctx, c.job.ID)
		if err != nil {
			t.Fatalf("cancel %s: %v", c.path[len(c.path)-2], err)
		}
		if j.Status != api.StatusCanceled || j.FinishedAt == nil || j.RetryAt != nil {
			t.Fatalf("canceled job %+v", j)
		}
		e.wantStates(c.job.ID, c.path...)
	}
	// The node hears of it: heartbeats list the jobs to stop, progress says cancel, and its
	// reports are refused.
	unknown := store.NewID(time.Now()) // a job the master never heard of
	hb, err := e.wrk.Heartbeat(e.ctx, n, api.Heartbeat{RunningJobs: []string{assigned.ID, running.ID, unknown}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{assigned.ID, running.ID, unknown}; !slices.Equal(sorted(hb.Cancel), sorted(want)) {
		t.Fatalf("heartbeat cancel = %v, want %v", hb.Cancel, want)
	}
	if r := e.progress(running.ID, n, 2); !r.Cancel {
		t.Fatal("progress of a canceled job not told to cancel")
	}
	_, err = e.wrk.Complete(e.ctx, running.ID, api.CompleteReport{Node: n})
	wantAPIError(t, err, 409, api.CodeIllegalTransition)
	// The canceled queued job is not leased; the slots it held are free again.
	e.tick()
	e.noLease(n)
	if node, _ := e.sub.GetNode(e.ctx, n); len(node.RunningJobs) != 0 {
		t.Fatalf("node still runs %v", node.RunningJobs)
	}
	fresh := e.submit(api.JobRequest{})
	if l := e.mustLease(n); l.Job.ID != fresh.ID {
		t.Fatalf("leased %s, want the fresh job", l.Job.ID)
	}
}

func TestRetryFromFailedAndCanceled(t *testing.T) {
	e := start(t)
	n := e.node(api.Capabilities{}, nil)
	failed := e.submit(api.JobRequest{})
	e.mustLease(n)
	e.fail(failed.ID, n, "bad_input", false)
	canceled := e.submit(api.JobRequest{})
	if _, err := e.sub.CancelJob(e.ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		job  api.Job
		path []string
	}{
		{failed, []string{">queued", "queued>assigned", "assigned>failed", "failed>queued"}},
		{canceled, []string{">queued", "queued>canceled", "canceled>queued"}},
	} {
		j, err := e.sub.RetryJob(e.ctx, c.job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != api.StatusQueued || j.Attempts != 0 || j.Error != nil || j.Node != "" || j.FinishedAt != nil || j.AssignedAt != nil {
			t.Fatalf("retried job %+v", j)
		}
		e.wantStates(c.job.ID, c.path...)
	}
	// Both are leasable again, oldest first, as fresh first attempts.
	for _, want := range []string{failed.ID, canceled.ID} {
		l := e.mustLease(n)
		if l.Job.ID != want || l.Job.Attempts != 1 {
			t.Fatalf("leased %s attempt %d, want %s attempt 1", l.Job.ID, l.Job.Attempts, want)
		}
		e.complete(want, n)
	}
}

func TestIllegalTransitionsAreRefused(t *testing.T) {
	e := start(t)
	n := e.node(api.Capabilities{Slots: 10}, nil)
	other := e.node(api.Capabilities{}, nil)
	completed := e.submit(api.JobRequest{Priority: 5})
	running := e.submit(api.JobRequest{Priority: 4})
	assigned := e.submit(api.JobRequest{Priority: 3})
	failed := e.submit(api.JobRequest{Priority: 2})
	e.mustLease(n)
	e.mustLease(n)
	e.mustLease(n)
	e.mustLease(n)
	e.progress(running.ID, n, 1)
	e.complete(completed.ID, n)
	e.fail(failed.ID, n, "bad", false)
	canceled := e.submit(api.JobRequest{})
	if _, err := e.sub.CancelJob(e.ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}
	queued := e.submit(api.JobRequest{Priority: -100}) // left in the queue

	complete := func(id, node string) error {
		_, err := e.wrk.Complete(e.ctx, id, api.CompleteReport{Node: node})
		return err
	}
	fail := func(id, node string) error {
		_, err := e.wrk.Fail(e.ctx, id, api.FailReport{Node: node, Error: api.JobError{Code: "x", Message: "x", Transient: true}})
		return err
	}
	cancel := func(id string) error { _, err := e.sub.CancelJob(e.ctx, id); return err }
	retry := func(id string) error { _, err := e.sub.RetryJob(e.ctx, id); return err }

	cases := []struct {
		name   string
		job    api.Job
		do     func() error
		status int
		code   string
	}{
		{"cancel completed", completed, func() error { return cancel(completed.ID) }, 409, api.CodeIllegalTransition},
		{"cancel failed", failed, func() error { return cancel(failed.ID) }, 409, api.CodeIllegalTransition},
		{"cancel canceled", canceled, func() error { return cancel(canceled.ID) }, 409, api.CodeIllegalTransition},
		{"retry running", running, func() error { return retry(running.ID) }, 409, api.CodeIllegalTransition},
		{"retry assigned", assigned, func() error { return retry(assigned.ID) }, 409, api.CodeIllegalTransition},
		{"retry completed", completed, func() error { return retry(completed.ID) }, 409, api.CodeIllegalTransition},
		{"retry queued", queued, func() error { return retry(queued.ID) }, 409, api.CodeIllegalTransition},
		{"complete queued", queued, func() error { return complete(queued.ID, n) }, 409, api.CodeIllegalTransition},
		{"fail queued", queued, func() error { return fail(queued.ID, n) }, 409, api.CodeIllegalTransition},
		{"complete completed", completed, func() error { return complete(completed.ID, n) }, 409, api.CodeIllegalTransition},
		{"fail failed", failed, func() error { return fail(failed.ID, n) }, 409, api.CodeIllegalTransition},
		{"complete canceled", canceled, func() error { return complete(canceled.ID, n) }, 409, api.CodeIllegalTransition},
		{"complete by another node", running, func() error { return complete(running.ID, other) }, 409, api.CodeConflict},
		{"fail by another node", running, func() error { return fail(running.ID, other) }, 409, api.CodeConflict},
		{"complete assigned by another node", assigned, func() error { return complete(assigned.ID, other) }, 409, api.CodeConflict},
		{"cancel unknown", api.Job{}, func() error { return cancel(store.NewID(time.Now())) }, 404, api.CodeNotFound},
		{"retry unknown", api.Job{}, func() error { return retry(store.NewID(time.Now())) }, 404, api.CodeNotFound},
	}
	for _, c := range cases {
		var before api.Job
		var evs int
		if c.job.ID != "" {
			before = e.job(c.job.ID)
			evs = len(e.events(c.job.ID))
		}
		wantAPIError(t, c.do(), c.status, c.code)
		if c.job.ID == "" {
			continue
		}
		after := e.job(c.job.ID)
		if after.Status != before.Status || after.Node != before.Node || after.Attempts != before.Attempts {
			t.Errorf("%s: the job changed from %s to %s", c.name, before.Status, after.Status)
		}
		if got := len(e.events(c.job.ID)); got != evs {
			t.Errorf("%s: a refused change left %d events", c.name, got-evs)
		}
	}
	// The owner can still finish what the others could not touch.
	e.complete(running.ID, n)
}

// ---- ordering ----

func TestLeaseOrder(t *testing.T) {
	e := start(t) // aging off
	var want []string
	subs := map[string]api.JobRequest{
		"batch+100":    {Queue: api.QueueBatch, Priority: 100},
		"low-100":      {Queue: api.QueueLow, Priority: -100},
		"medium 0 old": {Queue: api.QueueMedium},
		"live-100":     {Queue: api.QueueLive, Priority: -100},
		"high+1":       {Queue: api.QueueHigh, Priority: 1},
		"default":      {}, // medium, 0, younger than "medium 0 old"
		"live+50":      {Queue: api.QueueLive, Priority: 50},
		"high 0":       {Queue: api.QueueHigh},
		"medium+100":   {Queue: api.QueueMedium, Priority: 100},
	}
	ids := map[string]string{}
	for _, name := range []string{"batch+100", "low-100", "medium 0 old", "live-100", "high+1", "default", "live+50", "high 0", "medium+100"} {
		ids[e.submit(subs[name]).ID] = name
	}
	want = []string{"live+50", "live-100", "high+1", "high 0", "medium+100", "medium 0 old", "default", "low-100", "batch+100"}
	n := e.node(api.Capabilities{Slots: 100}, nil)
	var got []string
	for range want {
		got = append(got, ids[e.mustLease(n).Job.ID])
	}
	e.noLease(n)
	if !slices.Equal(got, want) {
		t.Fatalf("lease order\n got %q\nwant %q", got, want)
	}
}

func TestAgingLetsBatchOvertakeLive(t *testing.T) {
	// live+100 outranks batch-100 by 4*1000+200 points: with a point per microsecond of
	// waiting, a batch job 10 ms older overtakes it; without aging it never does.
	for _, c := range []struct {
		aging time.Duration
		first string
	}{{time.Microsecond, "batch"}, {-1, "live"}} {
		t.Run(fmt.Sprint("aging=", c.aging), func(t *testing.T) {
			clk := newClock()
			e := start(t, withClock(clk), func(cfg *farm.Config) { cfg.Aging = c.aging })
			batch := e.submit(api.JobRequest{Queue: api.QueueBatch, Priority: -100})
			clk.Add(10 * time.Millisecond) // the batch job waits
			live := e.submit(api.JobRequest{Queue: api.QueueLive, Priority: 100})
			n := e.node(api.Capabilities{Slots: 2}, nil)
			want := map[string][]string{"batch": {batch.ID, live.ID}, "live": {live.ID, batch.ID}}[c.first]
			got := []string{e.mustLease(n).Job.ID, e.mustLease(n).Job.ID}
			if !slices.Equal(got, want) {
				t.Fatalf("with aging %v the %s job should go first: got %v, want %v", c.aging, c.first, got, want)
			}
		})
	}
}

// ---- capabilities ----

func TestCapabilityMatching(t *testing.T) {
	e := start(t)
	cases := []struct {
		name      string
		req       api.Requirements
		without   api.Capabilities
		withCaps  api.Capabilities
		noLabels  map[string]string
		hasLabels map[string]string
		gpu       *int
	}{
		{name: "encoder", req: api.Requirements{Encoder: "h264_nvenc"},
			without:  api.Capabilities{Encoders: []string{"libx264", "hevc_nvenc"}},
			withCaps: api.Capabilities{Encoders: []string{"libx264", "h264_nvenc"}}},
		{name: "hardware", req: api.Requirements{Hardware: "qsv"},
			without:  api.Capabilities{Hardware: []string{"cuda", "vaapi"}},
			withCaps: api.Capabilities{Hardware: []string{"qsv"}}},
		{name: "gpu memory", req: api.Requirements{MinGPUMemoryMB: 16000},
			without:  api.Capabilities{GPUs: []api.GPU{{Index: 0, MemoryTotalMB: 8192}, {Index: 1, MemoryTotalMB: 15999}}},
			withCaps: api.Capabilities{GPUs: []api.GPU{{Index: 0, MemoryTotalMB: 8192}, {Index: 1, MemoryTotalMB: 24576}}},
			gpu:      intp(1)},
		{name: "labels", req: api.Requirements{Labels: map[string]string{"zone": "eu", "disk": "ssd"}},
			noLabels:  map[string]string{"zone": "us", "disk": "ssd"},
			hasLabels: map[string]string{"zone": "eu", "disk": "ssd", "extra": "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			no := e.node(c.without, c.noLabels)
			yes := e.node(c.withCaps, c.hasLabels)
			j := e.submit(api.JobRequest{Requirements: c.req})
			e.noLease(no)
			l := e.mustLease(yes)
			if l.Job.ID != j.ID {
				t.Fatalf("leased %s, want %s", l.Job.ID, j.ID)
			}
			if (l.GPU == nil) != (c.gpu == nil) || (c.gpu != nil && *l.GPU != *c.gpu) || (c.gpu != nil && (l.Job.GPU == nil || *l.Job.GPU != *c.gpu)) {
				t.Fatalf("lease GPU %v, job GPU %v, want %v", l.GPU, l.Job.GPU, c.gpu)
			}
			// A job without requirements goes to either.
			plain := e.submit(api.JobRequest{})
			if l := e.mustLease(no); l.Job.ID != plain.ID {
				t.Fatalf("the plain job went elsewhere: %s", l.Job.ID)
			}
			e.complete(j.ID, yes)
			e.complete(plain.ID, no)
		})
	}
}

func TestSlots(t *testing.T) {
	e := start(t)
	n := e.node(api.Capabilities{Slots: 2}, nil)
	a, b, c := e.submit(api.JobRequest{}), e.submit(api.JobRequest{}), e.submit(api.JobRequest{})
	e.mustLease(n)
	e.mustLease(n)
	e.noLease(n)
	e.complete(a.ID, n)
	if l := e.mustLease(n); l.Job.ID != c.ID {
		t.Fatalf("leased %s, want %s", l.Job.ID, c.ID)
	}
	e.noLease(n)
	e.fail(b.ID, n, "bad", false) // a failure frees its slot too
	d := e.submit(api.JobRequest{})
	if l := e.mustLease(n); l.Job.ID != d.ID {
		t.Fatalf("leased %s, want %s", l.Job.ID, d.ID)
	}
}

func TestPixelRateCapacity(t *testing.T) {
	e := start(t)
	a := e.submit(api.JobRequest{Scenario: "720p30-h264"})
	cost := catalog.Cost(a.Spec)
	if cost != 1280*720*30 || a.Cost != cost {
		t.Fatalf("job cost %d, catalog.Cost %d, want 1280*720*30", a.Cost, cost)
	}
	b := e.submit(api.JobRequest{Scenario: "720p30-h264"})
	c := e.submit(api.JobRequest{Scenario: "720p30-h264"})
	n := e.node(api.Capabilities{Slots: 10, PixelRate: 2 * cost}, nil)
	e.mustLease(n)
	e.mustLease(n)
	e.noLease(n) // two fill it exactly
	other := e.node(api.Capabilities{Slots: 10}, nil)
	if l := e.mustLease(other); l.Job.ID != c.ID {
		t.Fatalf("other node got %s", l.Job.ID)
	}
	e.complete(a.ID, n)
	d := e.submit(api.JobRequest{Scenario: "720p30-h264"})
	if l := e.mustLease(n); l.Job.ID != d.ID {
		t.Fatalf("leased %s after a job ended, want %s", l.Job.ID, d.ID)
	}
	// A 4k60 job (8x the pixels) does not fit a busy node, but an idle one takes it.
	big := e.submit(api.JobRequest{Scenario: "4k60"})
	e.noLease(n)
	e.complete(b.ID, n)
	e.complete(d.ID, n)
	if l := e.mustLease(n); l.Job.ID != big.ID {
		t.Fatalf("idle node got %s, want the 4k60 job", l.Job.ID)
	}
}

func TestLeastLoadedGPU(t *testing.T) {
	e := start(t)
	gpus := []api.GPU{{Index: 0, MemoryTotalMB: 8192}, {Index: 1, MemoryTotalMB: 24576}, {Index: 2, MemoryTotalMB: 24576}}
	n := e.node(api.Capabilities{Slots: 8, Hardware: []string{"cuda"}, GPUs: gpus}, nil)
	var got []int
	for range 3 {
		e.submit(api.JobRequest{Requirements: api.Requirements{MinGPUMemoryMB: 16000}})
		l := e.mustLease(n)
		if l.GPU == nil {
			t.Fatal("a GPU job got no GPU")
		}
		got = append(got, *l.GPU)
	}
	if !slices.Equal(got, []int{1, 2, 1}) {
		t.Fatalf("GPUs %v, want [1 2 1] (GPU 0 is too small)", got)
	}
	// Telemetry breaks ties between equally loaded GPUs.
	m := e.node(api.Capabilities{Slots: 8, Hardware: []string{"cuda"}, GPUs: gpus}, nil)
	_, err := e.wrk.Heartbeat(e.ctx, m, api.Heartbeat{Telemetry: api.Telemetry{GPUs: []api.GPUTelemetry{
		{Index: 0, Utilization: 95}, {Index: 1, Utilization: 40}, {Index: 2, Utilization: 5}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.submit(api.JobRequest{Requirements: api.Requirements{Hardware: "cuda"}})
	if l := e.mustLease(m); l.GPU == nil || *l.GPU != 2 {
		t.Fatalf("GPU %v, want the idle GPU 2", l.GPU)
	}
}

// ---- node loss and failure handling ----

func TestNodeLost(t *testing.T) {
	clk := newClock()
	e := start(t, withClock(clk), func(c *farm.Config) { c.RetryBackoff = time.Millisecond })
	a := e.node(api.Capabilities{Slots: 2}, nil)
	run, asg := e.submit(api.JobRequest{Priority: 1}), e.submit(api.JobRequest{})
	e.mustLease(a)
	e.mustLease(a)
	e.progress(run.ID, a, 30)

	// a goes silent: at the heartbeat timeout (2 minutes) it is still online; past it, failure
	// handling declares it offline and requeues its jobs.
	clk.Add(2 * time.Minute)
	e.tick()
	if n, _ := e.sub.GetNode(e.ctx, a); n.Status != api.NodeOnline {
		t.Fatalf("node at its heartbeat timeout, not past it, is %s", n.Status)
	}
	clk.Add(time.Second)
	e.tick()
	clk.Add(time.Second) // the retry backoff
	e.tick()
	if n, _ := e.sub.GetNode(e.ctx, a); n.Status != api.NodeOffline {
		t.Fatalf("node silent past its heartbeat timeout is %s", n.Status)
	}
	for _, id := range []string{run.ID, asg.ID} {
		j := e.job(id)
		if j.Status != api.StatusQueued || j.Error == nil || j.Error.Code != api.JobErrNodeLost || !j.Error.Transient || j.Attempts != 1 {
			t.Fatalf("requeued job %s: %s attempts %d error %+v", id, j.Status, j.Attempts, j.Error)
		}
	}
	e.wantStates(run.ID, ">queued", "queued>assigned", "assigned>running", "running>retrying", "retrying>queued")
	e.wantStates(asg.ID, ">queued", "queued>assigned", "assigned>retrying", "retrying>queued")
	if l := e.lease(a, 0); l != nil {
		t.Fatalf("an offline node leased %s", l.Job.ID)
	}

	b := e.node(api.Capabilities{Slots: 2}, nil)
	e.keepAlive(b)
	for _, want := range []string{run.ID, asg.ID} {
		if l := e.mustLease(b); l.Job.ID != want || l.Job.Attempts != 2 {
			t.Fatalf("b leased %s attempt %d, want %s attempt 2", l.Job.ID, l.Job.Attempts, want)
		}
	}

	// a comes back still running both: it is online again and told to stop them.
	hb, err := e.wrk.Heartbeat(e.ctx, a, api.Heartbeat{RunningJobs: []string{run.ID, asg.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if want := sorted([]string{run.ID, asg.ID}); !slices.Equal(sorted(hb.Cancel), want) {
		t.Fatalf("heartbeat cancel %v, want %v", hb.Cancel, want)
	}
	if n, _ := e.sub.GetNode(e.ctx, a); n.Status != api.NodeOnline {
		t.Fatalf("node after its heartbeat is %s", n.Status)
	}
	if r := e.progress(run.ID, a, 40); !r.Cancel {
		t.Fatal("the old node's progress was not told to cancel")
	}
	_, err = e.wrk.Complete(e.ctx, run.ID, api.CompleteReport{Node: a})
	wantAPIError(t, err, 409, api.CodeConflict)
	e.complete(run.ID, b)
}

func TestLeaseLost(t *testing.T) {
	clk := newClock()
	e := start(t, withClock(clk), func(c *farm.Config) { c.LeaseAckTimeout = time.Minute; c.RetryBackoff = time.Hour })
	n := e.node(api.Capabilities{Slots: 2}, nil)
	kept, lost := e.submit(api.JobRequest{Priority: 1}), e.submit(api.JobRequest{})
	e.mustLease(n)
	e.mustLease(n)
	// Within the ack timeout a heartbeat that does not list a job yet is fine.
	clk.Add(time.Minute)
	if _, err := e.wrk.Heartbeat(e.ctx, n, api.Heartbeat{RunningJobs: []string{kept.ID}}); err != nil {
		t.Fatal(err)
	}
	if j := e.job(lost.ID); j.Status != api.StatusAssigned {
		t.Fatalf("lost a lease at its ack timeout, not after it: %s", j.Status)
	}
	clk.Add(time.Millisecond) // the ack timeout passes
	if _, err := e.wrk.Heartbeat(e.ctx, n, api.Heartbeat{RunningJobs: []string{kept.ID}}); err != nil {
		t.Fatal(err)
	}
	j := e.job(lost.ID)
	if j.Status != api.StatusRetrying || j.Error == nil || j.Error.Code != api.JobErrLeaseLost {
		t.Fatalf("unreported job: %s %+v, want retrying with lease_lost", j.Status, j.Error)
	}
	if k := e.job(kept.ID); k.Status != api.StatusAssigned {
		t.Fatalf("the reported job is %s", k.Status)
	}
}

func TestStaleJobsAreRequeued(t *testing.T) {
	for _, c := range []struct {
		name             string
		live, batch      time.Duration
		staleQ, healthyQ string
	}{
		{"batch", time.Hour, 30 * time.Minute, api.QueueBatch, api.QueueLive},
		{"live", 5 * time.Minute, time.Hour, api.QueueLive, api.QueueBatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			e := start(t, withClock(clk), func(cfg *farm.Config) {
				cfg.LiveStale, cfg.BatchStale = c.live, c.batch
				cfg.HeartbeatTimeout = 2 * time.Hour // the node stays online: only progress counts
				cfg.RetryBackoff = time.Hour
			})
			threshold := min(c.live, c.batch)
			n := e.node(api.Capabilities{Slots: 3}, nil)
			stale := e.submit(api.JobRequest{Queue: c.staleQ})
			healthy := e.submit(api.JobRequest{Queue: c.healthyQ})
			// In the stale job's queue too, but it keeps reporting progress.
			busy := e.submit(api.JobRequest{Queue: c.staleQ, Priority: -1})
			for range 3 {
				e.mustLease(n)
			}
			for _, id := range []string{stale.ID, healthy.ID, busy.ID} {
				e.progress(id, n, 1)
			}
			// Up to the threshold nothing is stale; busy reports halfway.
			clk.Add(threshold / 2)
			e.progress(busy.ID, n, 2)
			clk.Add(threshold / 2)
			e.tick()
			for _, id := range []string{stale.ID, healthy.ID, busy.ID} {
				if j := e.job(id); j.Status != api.StatusRunning {
					t.Fatalf("job %s is %s at the threshold, not past it", id, j.Status)
				}
			}
			// Past it, only the silent job of the threshold's queue is.
			clk.Add(time.Second)
			e.tick()
			j := e.job(stale.ID)
			if j.Status != api.StatusRetrying || j.Error == nil || j.Error.Code != api.JobErrStale || !j.Error.Transient {
				t.Fatalf("stale job %s %+v, want retrying with a transient stale error", j.Status, j.Error)
			}
			for _, id := range []string{healthy.ID, busy.ID} {
				if h := e.job(id); h.Status != api.StatusRunning {
					t.Fatalf("job %s went %s (%+v) although only the other queue's threshold passed or it progressed", id, h.Status, h.Error)
				}
			}
		})
	}
}

func TestMaxRunTimeFailsWithoutRetry(t *testing.T) {
	clk := newClock()
	e := start(t, withClock(clk), func(c *farm.Config) { c.RetryBackoff = time.Millisecond })
	n := e.node(api.Capabilities{Slots: 2}, nil)
	limited := e.submit(api.JobRequest{MaxRunTime: api.Duration(10 * time.Minute), MaxRetries: intp(5), Priority: 1})
	free := e.submit(api.JobRequest{})
	e.mustLease(n)
	e.mustLease(n)
	// Progress every minute keeps both jobs from going stale; the node stays heard from.
	for range 10 {
		clk.Add(time.Minute)
		e.progress(limited.ID, n, 1)
		e.progress(free.ID, n, 1)
		if _, err := e.wrk.Heartbeat(e.ctx, n, api.Heartbeat{RunningJobs: []string{limited.ID, free.ID}}); err != nil {
			t.Fatal(err)
		}
		e.tick()
	}
	if j := e.job(limited.ID); j.Status != api.StatusRunning {
		t.Fatalf("job at its max run time, not past it: %s %+v", j.Status, j.Error)
	}
	clk.Add(time.Second)
	e.tick()
	j := e.job(limited.ID)
	if j.Status != api.StatusFailed || j.Error == nil || j.Error.Code != api.JobErrMaxRunTime || j.Error.Transient || j.Attempts != 1 {
		t.Fatalf("job past its max run time: %s attempts %d error %+v; want failed, max_run_time, not retried", j.Status, j.Attempts, j.Error)
	}
	if elapsed := j.FinishedAt.Sub(*j.AssignedAt); elapsed != 10*time.Minute+time.Second {
		t.Fatalf("failed %s after assignment, want 10m1s", elapsed)
	}
	e.tick()
	if j := e.job(limited.ID); j.Status != api.StatusFailed {
		t.Fatalf("failed job went on to %s", j.Status)
	}
	if f := e.job(free.ID); f.Status != api.StatusRunning {
		t.Fatalf("the job without a limit is %s", f.Status)
	}
}

func TestDrain(t *testing.T) {
	e := start(t, func(c *farm.Config) { c.RetryBackoff = time.Hour })
	a := e.node(api.Capabilities{Slots: 2}, nil)
	// max_retries 0: a drain hand-back must not count as the one attempt it has.
	j := e.submit(api.JobRequest{MaxRetries: intp(0)})
	e.mustLease(a)
	e.progress(j.ID, a, 10)

	n, err := e.adm.DrainNode(e.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != api.NodeDraining {
		t.Fatalf("drained node is %s", n.Status)
	}
	e.submit(api.JobRequest{})
	if l := e.lease(a, 100*time.Millisecond); l != nil {
		t.Fatalf("a draining node leased %s", l.Job.ID)
	}
	hb, err := e.wrk.Heartbeat(e.ctx, a, api.Heartbeat{RunningJobs: []string{j.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if !hb.Drain || len(hb.Cancel) != 0 {
		t.Fatalf("heartbeat reply %+v, want drain and no cancel", hb)
	}
	if n, _ := e.sub.GetNode(e.ctx, a); n.Status != api.NodeDraining {
		t.Fatalf("after a heartbeat the node is %s, want draining", n.Status)
	}

	f := e.fail(j.ID, a, api.JobErrNodeDrained, true)
	if f.Status != api.StatusRetrying || f.Attempts != 0 || f.RetryAt == nil || f.RetryAt.After(f.UpdatedAt) {
		t.Fatalf("handed back: %s attempts %d retry_at %v updated %v; want retrying at once, attempt refunded", f.Status, f.Attempts, f.RetryAt, f.UpdatedAt)
	}
	e.tick()
	b := e.node(api.Capabilities{}, nil)
	l := e.mustLease(b)
	if l.Job.ID != j.ID || l.Job.Attempts != 1 {
		t.Fatalf("b leased %s attempt %d, want %s attempt 1", l.Job.ID, l.Job.Attempts, j.ID)
	}
	// A drain order outlives the worker registering again (a restart, or a worker undoing
	// the operator's order) and a master restart; only an undrain lifts it.
	again, err := e.wrk.Register(e.ctx, api.Registration{ID: a, Name: a, Capabilities: api.Capabilities{Encoders: []string{"libx264"}}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != api.NodeDraining || again.Secret != "" {
		t.Fatalf("re-registered node %s, secret %q: want it still draining, and no new secret for its own", again.Status, again.Secret)
	}
	e.submit(api.JobRequest{})
	if l := e.lease(a, 0); l != nil {
		t.Fatalf("a drained node that registered again leased %s", l.Job.ID)
	}
	e = e.restart()
	if l := e.lease(a, 0); l != nil {
		t.Fatalf("a drained node leased %s after a master restart", l.Job.ID)
	}
	n, err = e.adm.UndrainNode(e.ctx, a)
	if err != nil || n.Status != api.NodeOnline {
		t.Fatalf("undrain: %+v, %v", n, err)
	}
	if l := e.lease(a, 0); l == nil {
		t.Fatal("an undrained node still gets nothing")
	}
}

func TestRemoveNode(t *testing.T) {
	e := start(t, func(c *farm.Config) { c.RetryBackoff = time.Hour })
	a := e.node(api.Capabilities{}, nil)
	j := e.submit(api.JobRequest{})
	e.mustLease(a)
	e.progress(j.ID, a, 10)

	if err := e.adm.RemoveNode(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	got := e.job(j.ID)
	if got.Status != api.StatusRetrying || got.Attempts != 0 || got.Error == nil || got.Error.Code != api.JobErrNodeRemoved {
		t.Fatalf("job of a removed node: %s attempts %d error %+v", got.Status, got.Attempts, got.Error)
	}
	e.tick()
	if got := e.job(j.ID); got.Status != api.StatusQueued {
		t.Fatalf("job of a removed node is %s after a tick, want queued", got.Status)
	}

	_, err := e.wrk.Heartbeat(e.ctx, a, api.Heartbeat{RunningJobs: []string{j.ID}})
	wantAPIError(t, err, 404, api.CodeUnknownNode)
	_, err = e.wrk.Lease(e.ctx, a, 0)
	wantAPIError(t, err, 404, api.CodeUnknownNode)
	_, err = e.sub.GetNode(e.ctx, a)
	wantAPIError(t, err, 404, api.CodeNotFound)
	wantAPIError(t, e.adm.RemoveNode(e.ctx, a), 404, api.CodeNotFound)

	b := e.node(api.Capabilities{}, nil)
	if l := e.mustLease(b); l.Job.ID != j.ID || l.Job.Attempts != 1 {
		t.Fatalf("b leased %s attempt %d", l.Job.ID, l.Job.Attempts)
	}
}

func TestRetentionPurgesFinishedJobs(t *testing.T) {
	clk := newClock()
	e := start(t, withClock(clk), func(c *farm.Config) { c.Retention = 24 * time.Hour })
	n := e.node(api.Capabilities{}, nil)
	done := e.submit(api.JobRequest{})
	e.mustLease(n)
	e.complete(done.ID, n)
	canceled := e.submit(api.JobRequest{})
	if _, err := e.sub.CancelJob(e.ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}
	waiting := e.submit(api.JobRequest{Requirements: api.Requirements{Encoder: "av1_nvenc"}}) // never leased
	if c := e.farm().Counts(); c[api.StatusCompleted] != 1 || c[api.StatusCanceled] != 1 {
		t.Fatalf("counts before the purge %v", c)
	}
	clk.Add(24 * time.Hour) // as old as the retention, not older: kept
	e.farm().Purge(e.ctx)
	for _, id := range []string{done.ID, canceled.ID} {
		if _, err := e.sub.GetJob(e.ctx, id); err != nil {
			t.Fatalf("finished job %s at the retention, not past it: %v", id, err)
		}
	}
	clk.Add(time.Second)
	e.farm().Purge(e.ctx)
	for _, id := range []string{done.ID, canceled.ID} {
		if _, err := e.sub.GetJob(e.ctx, id); !api.IsNotFound(err) {
			t.Fatalf("finished job %s past the retention: %v, want purged", id, err)
		}
	}
	if c := e.farm().Counts(); c[api.StatusCompleted] != 0 || c[api.StatusCanceled] != 0 || c[api.StatusQueued] != 1 {
		t.Fatalf("counts after the purge %v", c)
	}
	if j := e.job(waiting.ID); j.Status != api.StatusQueued {
		t.Fatalf("an unfinished job is %s", j.Status)
	}
}

// ---- retries and backoff ----

func TestRetryBackoff(t *testing.T) {
	const base, ceiling = 40 * time.Millisecond, 160 * time.Millisecond
	e := start(t, func(c *farm.Config) {
		c.MaxRetries = 5
		c.RetryBackoff, c.RetryBackoffMax = base, ceiling
		c.Interval = 5 * time.Millisecond
	})
	n := e.node(api.Capabilities{}, nil)
	j := e.submit(api.JobRequest{})
	if j.MaxRetries != 5 {
		t.Fatalf("job max_retries %d, want the master's 5", j.MaxRetries)
	}
	var delays []time.Duration
	for attempt := 1; attempt <= 6; attempt++ {
		l := e.lease(n, 5*time.Second) // comes when the background loop requeues the job
		if l == nil || l.Job.ID != j.ID || l.Job.Attempts != attempt {
			t.Fatalf("lease for attempt %d: %+v", attempt, l)
		}
		f := e.fail(j.ID, n, "network", true)
		if attempt == 6 {
			if f.Status != api.StatusFailed || f.Error == nil || f.Error.Code != "network" || !f.Error.Transient ||
				!strings.Contains(f.Error.Message, "gave up after 6 attempts") || f.RetryAt != nil {
				t.Fatalf("after the last retry: %s %+v", f.Status, f.Error)
			}
			break
		}
		if f.Status != api.StatusRetrying || f.RetryAt == nil {
			t.Fatalf("attempt %d: %s", attempt, f.Status)
		}
		d := f.RetryAt.Sub(f.UpdatedAt)
		full := min(base<<(attempt-1), ceiling)
		if d < full/2 || d > full {
			t.Fatalf("attempt %d waits %s, want within [%s, %s]", attempt, d, full/2, full)
		}
		// Below the ceiling the ranges do not overlap: each wait is at least the last.
		if attempt > 1 && min(base<<(attempt-2), ceiling) < ceiling && d < delays[len(delays)-1] {
			t.Fatalf("delays shrank: %v then %s", delays, d)
		}
		delays = append(delays, d)
	}
	if l := e.lease(n, 100*time.Millisecond); l != nil {
		t.Fatalf("a job that gave up was leased again")
	}
	// POST retry gives it a fresh budget.
	r, err := e.sub.RetryJob(e.ctx, j.ID)
	if err != nil || r.Attempts != 0 || r.Status != api.StatusQueued {
		t.Fatalf("retry: %+v %v", r, err)
	}
	if l := e.mustLease(n); l.Job.Attempts != 1 {
		t.Fatalf("after POST retry the attempt is %d", l.Job.Attempts)
	}
	if f := e.fail(j.ID, n, "network", true); f.Status != api.StatusRetrying {
		t.Fatalf("first failure after POST retry: %s", f.Status)
	}
}

func TestRetryLimits(t *testing.T) {
	e := start(t, func(c *farm.Config) { c.RetryBackoff = time.Millisecond; c.Interval = 5 * time.Millisecond })
	n := e.node(api.Capabilities{}, nil)
	run := func(req api.JobRequest, code string, transient bool, attempts int) api.Job {
		t.Helper()
		j := e.submit(req)
		for a := 1; ; a++ {
			l := e.lease(n, 5*time.Second)
			if l == nil || l.Job.ID != j.ID {
				t.Fatalf("attempt %d: lease %+v", a, l)
			}
			f := e.fail(j.ID, n, code, transient)
			if f.Status == api.StatusFailed {
				if a != attempts {
					t.Fatalf("failed after %d attempts, want %d", a, attempts)
				}
				return f
			}
			if a >= attempts {
				t.Fatalf("still %s after %d attempts", f.Status, a)
			}
		}
	}
	if f := run(api.JobRequest{MaxRetries: intp(1)}, "net", true, 2); !strings.Contains(f.Error.Message, "gave up after 2 attempts") {
		t.Fatalf("message %q", f.Error.Message)
	}
	run(api.JobRequest{MaxRetries: intp(0)}, "net", true, 1)
	// Terminal errors fail at once, retries or not, with the worker's message as it was.
	if f := run(api.JobRequest{MaxRetries: intp(5)}, "bad_input", false, 1); f.Error.Message != "it broke: bad_input" {
		t.Fatalf("terminal message %q", f.Error.Message)
	}
	run(api.JobRequest{}, "net", true, 4) // the master's default: 3 retries

	t.Run("no retries", func(t *testing.T) {
		e := start(t, func(c *farm.Config) { c.NoRetries = true })
		n := e.node(api.Capabilities{}, nil)
		j := e.submit(api.JobRequest{})
		if j.MaxRetries != 0 {
			t.Fatalf("max_retries %d with NoRetries", j.MaxRetries)
		}
		e.mustLease(n)
		if f := e.fail(j.ID, n, "net", true); f.Status != api.StatusFailed {
			t.Fatalf("with NoRetries a transient failure leaves the job %s", f.Status)
		}
	})
}

// ---- long-poll leases ----

func TestLeaseLongPoll(t *testing.T) {
	e := start(t)
	n := e.node(api.Capabilities{}, nil)

	t.Run("a job submitted while waiting", func(t *testing.T) {
		got := make(chan *api.Lease, 1)
		go func() {
			l, err := e.wrk.Lease(e.ctx, n, 5*time.Second)
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
		time.Sleep(200 * time.Millisecond) // let the lease start waiting
		j := e.submit(api.JobRequest{})
		submitted := time.Now()
		select {
		case l := <-got:
			if l == nil || l.Job.ID != j.ID {
				t.Fatalf("long poll returned %+v, want job %s", l, j.ID)
			}
			e.complete(j.ID, n)
		case <-time.After(4 * time.Second):
			t.Fatalf("the waiting lease did not return the job submitted %s ago", time.Since(submitted))
		}
	})
	t.Run("nothing comes", func(t *testing.T) {
		t0 := time.Now()
		if l := e.lease(n, 200*time.Millisecond); l != nil {
			t.Fatalf("leased %s from an empty queue", l.Job.ID)
		}
		if d := time.Since(t0); d < 200*time.Millisecond {
			t.Fatalf("204 after %s, before the 200ms wait ended", d)
		}
	})
	t.Run("a job the node cannot run", func(t *testing.T) {
		got := make(chan *api.Lease, 1)
		go func() {
			l, _ := e.wrk.Lease(e.ctx, n, 500*time.Millisecond)
			got <- l
		}()
		time.Sleep(100 * time.Millisecond)
		j := e.submit(api.JobRequest{Requirements: api.Requirements{Encoder: "h264_nvenc"}})
		if l := <-got; l != nil {
			t.Fatalf("leased %s, which needs NVENC", l.Job.ID)
		}
		if _, err := e.sub.CancelJob(e.ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a canceled request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan error, 1)
		go func() {
			_, err := e.wrk.Lease(ctx, n, 5*time.Second)
			done <- err
		}()
		time.Sleep(100 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled lease: %v", err)
			}
		case <-time.After(4 * time.Second):
			t.Fatal("canceling the context did not end the lease")
		}
	})
}

// TestLeaseContextEndsTheWait drives the farm directly: once a canceled Lease returns, it
// holds nothing, and a job submitted afterwards waits in the queue for the next lease.
func TestLeaseContextEndsTheWait(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "m.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	f, err := farm.New(ctx, st, farm.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Register(ctx, api.Registration{ID: "w1", Capabilities: api.Capabilities{Encoders: []string{"libx264"}}}, "test", farm.NodeCaller{Key: "test"}); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	type result struct {
		l   *api.Lease
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := f.Lease(lctx, "w1", 20*time.Second)
		done <- result{l, err}
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case r := <-done:
		if r.l != nil || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("canceled Lease = %v, %v; want context.Canceled", r.l, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lease did not end with its context")
	}
	j, _, err := f.Submit(ctx, farm.Admin("tester"), api.JobRequest{Scenario: "720p30-h264"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Get(ctx, farm.Admin("tester"), j.ID); got.Status != api.StatusQueued {
		t.Fatalf("job after the canceled lease is %s", got.Status)
	}
	l, err := f.Lease(ctx, "w1", 0)
	if err != nil || l == nil || l.Job.ID != j.ID {
		t.Fatalf("next lease: %v, %v", l, err)
	}
}

// ---- durability ----

func TestRestartKeepsTheFarm(t *testing.T) {
	e := start(t, func(c *farm.Config) {
		c.RetryBackoff, c.RetryBackoffMax = time.Second, time.Second
		c.Interval = 20 * time.Millisecond
	})
	a := e.node(api.Capabilities{Slots: 2}, nil)
	b := e.node(api.Capabilities{}, nil)
	asg := e.submit(api.JobRequest{Queue: api.QueueLive, Priority: 100})
	run := e.submit(api.JobRequest{Queue: api.QueueLive, Priority: 100})
	if l := e.mustLease(a); l.Job.ID != asg.ID {
		t.Fatal("unexpected order")
	}
	e.mustLease(a)
	e.progress(run.ID, a, 42)
	// Last in line, so it goes after the queue below even if it is back early.
	retrying := e.submit(api.JobRequest{Queue: api.QueueBatch, Priority: -100})
	e.mustLease(b)
	r := e.fail(retrying.ID, b, "network", true)
	done := e.submit(api.JobRequest{})
	e.mustLease(b)
	e.complete(done.ID, b)
	gone := e.submit(api.JobRequest{})
	if _, err := e.sub.CancelJob(e.ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	// The queue, submitted out of order.
	names := map[string]string{}
	for _, s := range []struct {
		name string
		req  api.JobRequest
	}{
		{"low", api.JobRequest{Queue: api.QueueLow}},
		{"live", api.JobRequest{Queue: api.QueueLive}},
		{"medium-5", api.JobRequest{Priority: -5}},
		{"medium 1st", api.JobRequest{}},
		{"high", api.JobRequest{Queue: api.QueueHigh}},
		{"medium 2nd", api.JobRequest{}},
		{"batch", api.JobRequest{Queue: api.QueueBatch, Priority: 100}},
	} {
		names[e.submit(s.req).ID] = s.name
	}
	wantOrder := []string{"live", "high", "medium 1st", "medium 2nd", "medium-5", "low", "batch"}
	before := e.farm().Counts()
	want := map[api.Status]int{api.StatusQueued: 7, api.StatusAssigned: 1, api.StatusRunning: 1, api.StatusRetrying: 1,
		api.StatusCompleted: 1, api.StatusCanceled: 1, api.StatusFailed: 0}
	if !countsEqual(before, want) {
		t.Fatalf("counts before the restart %v, want %v", before, want)
	}

	e = e.restart()
	if time.Now().Before(*r.RetryAt) { // (a slow restart may already be past it)
		if after := e.farm().Counts(); !countsEqual(after, before) {
			t.Fatalf("counts after the restart %v, want %v", after, before)
		}
		if j := e.job(retrying.ID); j.Status != api.StatusRetrying {
			t.Fatalf("the retrying job is %s before its backoff ended", j.Status)
		}
	}
	// a's jobs are still a's, and they fill its slots.
	for _, id := range []string{asg.ID, run.ID} {
		if j := e.job(id); j.Node != a || !j.Status.Active() {
			t.Fatalf("job %s after the restart: %s on %q", id, j.Status, j.Node)
		}
	}
	if got := e.job(run.ID); got.Status != api.StatusRunning {
		t.Fatalf("running job is %s", got.Status)
	}
	e.noLease(a)
	hb, err := e.wrk.Heartbeat(e.ctx, a, api.Heartbeat{RunningJobs: []string{asg.ID, run.ID}})
	if err != nil || len(hb.Cancel) != 0 {
		t.Fatalf("heartbeat of the owner after a restart: %+v, %v", hb, err)
	}

	// The queue comes back in the same order.
	c := e.node(api.Capabilities{Slots: 20}, nil)
	var got []string
	for range wantOrder {
		got = append(got, names[e.mustLease(c).Job.ID])
	}
	if !slices.Equal(got, wantOrder) {
		t.Fatalf("queue order after the restart\n got %q\nwant %q", got, wantOrder)
	}
	// The retrying job returns after its backoff.
	l := e.lease(c, 5*time.Second)
	if l == nil || l.Job.ID != retrying.ID || l.Job.Attempts != 2 {
		t.Fatalf("after the backoff: %+v, want the retrying job on its 2nd attempt", l)
	}
	if l.Job.AssignedAt.Before(*r.RetryAt) {
		t.Fatalf("leased at %v, before its retry_at %v", l.Job.AssignedAt, r.RetryAt)
	}

	_, err = e.wrk.Complete(e.ctx, run.ID, api.CompleteReport{Node: c})
	wantAPIError(t, err, 409, api.CodeConflict)
	e.progress(asg.ID, a, 1)
	e.complete(asg.ID, a)
	e.complete(run.ID, a)
	e.wantStates(run.ID, ">queued", "queued>assigned", "assigned>running", "running>completed")
	final := e.farm().Counts()
	want = map[api.Status]int{api.StatusQueued: 0, api.StatusAssigned: 8, api.StatusRunning: 0, api.StatusRetrying: 0,
		api.StatusCompleted: 3, api.StatusCanceled: 1, api.StatusFailed: 0}
	if !countsEqual(final, want) {
		t.Fatalf("counts at the end %v, want %v", final, want)
	}
}

func countsEqual(a, b map[api.Status]int) bool {
	for _, s := range api.Statuses {
		if a[s] != b[s] {
			return false
		}
	}
	return true
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestQueuedCapUnderRacingSubmits: many submits at once against the farm's queued cap get
// exactly the cap in, never more (the check and the hold are one step) and never fewer (a
// stored job is not counted both as held and as queued while its submit hands over).
func TestQueuedCapUnderRacingSubmits(t *testing.T) {
	const limit, racers = 8, 120
	e := start(t, func(c *farm.Config) { c.MaxQueued = limit })
	f := e.farm()
	for round := range 3 {
		var accepted, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				// Arrivals spread over the stores, so that checks meet hand-overs.
				time.Sleep(time.Duration(i) * 250 * time.Microsecond)
				_, _, err := f.Submit(e.ctx, farm.Admin("racer"), api.JobRequest{Scenario: "720p30-h264"}, "")
				var qe *fault.QuotaError
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.As(err, &qe) && qe.Quota == "max_queued_jobs":
					refused.Add(1)
				default:
					t.Errorf("submit: %v", err)
				}
			})
		}
		wg.Wait()
		if accepted.Load() != limit || refused.Load() != racers-limit {
			t.Fatalf("round %d: %d accepted, %d refused; want %d and %d", round, accepted.Load(), refused.Load(), limit, racers-limit)
		}
		// Empty the queue for the next round.
		page, err := e.adm.ListJobs(e.ctx, api.ListJobsOptions{Status: []api.Status{api.StatusQueued}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Jobs {
			if _, err := e.adm.CancelJob(e.ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}
