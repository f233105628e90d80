package worker

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// Restream outputs reach the master as per-output stats, their errors without the
// destination's key, and never as "outputs written".
func TestRestreamReporting(t *testing.T) {
	outs := []spec.Output{{Name: "720p", Target: "/srv/out/720p"}, {Name: "restream0", Target: "rtmp://a.example/app/SECRETKEY", Reconnect: &spec.Reconnect{}},
		{Name: "restream1", Target: "rtmps://b.example/app/SECRETKEY2", Reconnect: &spec.Reconnect{}}}
	rs := restreamNames(outs)
	pr := engine.Progress{Elapsed: 4 * time.Second, Outputs: []engine.OutputProgress{
		{Name: "720p", FramesOut: 120, Dropped: 1},
		{Name: "restream0", FramesOut: 100, Connected: true, Connections: 2, Reconnects: 1, LastError: "write rtmp://a.example/app/SECRETKEY: broken pipe"},
	}}
	got := outputProgress(pr, rs)
	if len(got) != 2 || got[0].FPS != 30 || got[0].Restream || got[0].Dropped != 1 {
		t.Fatalf("progress outputs %+v", got)
	}
	if r := got[1]; !r.Restream || !r.Connected || r.Connections != 2 || r.Reconnects != 1 || r.FPS != 25 ||
		r.LastError != "write rtmp://a.example/app/***: broken pipe" {
		t.Errorf("restream progress %+v", r)
	}

	res := result(&engine.Result{Outputs: []engine.OutputResult{
		{Name: "720p", Target: "/srv/out/720p", Frames: 120},
		{Name: "restream0", Target: "rtmp://a.example/app/SECRETKEY", Connections: 2, Reconnects: 1, DroppedPackets: 9, LastError: "rtmp://a.example/app/SECRETKEY: refused"},
		{Name: "restream1", Target: "rtmps://b.example/app/SECRETKEY2", Unreached: true, Reconnects: 5, LastError: "connect rtmps://b.example/app/SECRETKEY2: timeout"},
	}})
	if len(res.Outputs) != 1 || res.Outputs[0] != "/srv/out/720p" {
		t.Errorf("outputs written %v, want the file alone", res.Outputs)
	}
	if len(res.Unreached) != 1 || res.Unreached[0] != "restream1" {
		t.Errorf("unreached %v", res.Unreached)
	}
	if len(res.Restreams) != 2 || res.Restreams[0].Connections != 2 || res.Restreams[0].DroppedPackets != 9 || !res.Restreams[1].Unreached || res.Restreams[1].Reconnects != 5 {
		t.Errorf("restreams %+v", res.Restreams)
	}
	b, _ := json.Marshal(api.Result{Outputs: res.Outputs, Restreams: res.Restreams, Unreached: res.Unreached})
	if strings.Contains(string(b), "SECRETKEY") {
		t.Errorf("the reported restream stats show a key: %s", b)
	}
}

// A run that did not complete reaches the master as the job error its ending maps to; a
// canceled run says whether it ran past its max run time or the worker was shutting down.
func TestJobErrorOfEnding(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	drained, stop := context.WithCancel(context.Background())
	stop()
	for _, c := range []struct {
		name string
		ctx  context.Context
		o    executor.Outcome
		want api.JobError
	}{
		{"failed", context.Background(),
			executor.Outcome{End: executor.EndFailed, Event: &executor.Event{Type: "error", Error: &executor.Failure{Kind: "input", Message: "no audio or video stream"}}},
			api.JobError{Code: "input", Message: "no audio or video stream"}},
		{"crashed", context.Background(), executor.Outcome{End: executor.EndCrashed, Signal: "SIGSEGV: segmentation violation", Code: 2},
			api.JobError{Code: api.JobErrExecutorCrashed, Message: "the executor crashed: SIGSEGV: segmentation violation", Transient: true}},
		{"stalled", context.Background(), executor.Outcome{End: executor.EndStalled},
			api.JobError{Code: JobErrStalled, Message: "the executor made no progress and was killed", Transient: true}},
		{"max run time", expired, executor.Outcome{End: executor.EndCanceled},
			api.JobError{Code: api.JobErrMaxRunTime, Message: "ran longer than its max_run_time; stopped by the worker"}},
		{"drained", drained, executor.Outcome{End: executor.EndCanceled},
			api.JobError{Code: api.JobErrNodeDrained, Message: "the worker shut down before the job finished", Transient: true}},
	} {
		if got := jobError(c.ctx, c.o); got != c.want {
			t.Errorf("%s: job error %+v, want %+v", c.name, got, c.want)
		}
	}
}
