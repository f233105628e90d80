package live_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/live"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// streamsEnv is a farm and its streams on a real bbolt file, with the ingest's side played
// by the test: it calls AuthorizePublish, Published and Unpublished as the RTMP server does,
// and counts bytes for the stale check.
type streamsEnv struct {
	t     *testing.T
	ctx   context.Context
	path  string
	st    *store.Store
	farm  *farm.Service
	s     *live.Streams
	bytes atomic.Int64
	stop  func()
	// sessions are the sessions standalone ingests were granted, by stream ID.
	sessions map[string]string
}

func startStreams(t *testing.T, path string, tune func(*live.Config)) *streamsEnv {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "master.db")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	quietLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	f, err := farm.New(ctx, st, farm.Config{Logger: quietLog, Interval: time.Hour, Aging: -1})
	if err != nil {
		t.Fatal(err)
	}
	e := &streamsEnv{t: t, ctx: ctx, path: path, st: st, farm: f, sessions: map[string]string{}}
	cfg := live.Config{Grace: 300 * time.Millisecond, IngestPort: 19350, Logger: quietLog,
		Stats: func(string) (live.IngestStats, bool) {
			return live.IngestStats{Bytes: e.bytes.Load(), BitrateBPS: 1e6}, true
		}}
	if tune != nil {
		tune(&cfg)
	}
	if e.s, err = live.New(ctx, f, st, cfg); err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = e.s.Run(runCtx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			stopRun()
			wg.Wait()
			_ = st.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

func (e *streamsEnv) create(name string) api.Stream {
	e.t.Helper()
	s, err := e.s.CreateStream(e.ctx, farm.Admin("test"), api.StreamRequest{Name: name, Preset: "abr-480p"})
	if err != nil {
		e.t.Fatalf("create stream %s: %v", name, err)
	}
	return s
}

func (e *streamsEnv) get(id string) api.Stream {
	e.t.Helper()
	s, err := e.s.Stream(e.ctx, farm.Admin("test"), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// publish authorizes key and reports the publisher started, as the ingest does.
func (e *streamsEnv) publish(key string) string {
	e.t.Helper()
	id, err := e.s.AuthorizePublish(e.ctx, key)
	if err != nil {
		e.t.Fatalf("publish: %v", err)
	}
	e.s.Published(id, api.StreamInput{VideoCodec: "h264", Width: 640, Height: 360, FPS: 30, AudioCodec: "aac", Remote: "127.0.0.1:5555"})
	return id
}

// waitState polls stream id until it is in state want.
func (e *streamsEnv) waitState(id string, want api.StreamState) api.Stream {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.get(id)
		if s.State == want {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("stream %s is %s, want %s", id, s.State, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// playToken is the token in the relay URL of the live job.
func playToken(t *testing.T, j api.Job) (streamID, token string) {
	t.Helper()
	u, err := url.Parse(j.Input)
	if err != nil || u.Scheme != "rtmp" || u.Host != "127.0.0.1:19350" || !strings.HasPrefix(u.Path, "/live/") {
		t.Fatalf("live job input %q: want rtmp://127.0.0.1:19350/live/<id>?token=...", j.Input)
	}
	return strings.TrimPrefix(u.Path, "/live/"), u.Query().Get("token")
}

func TestStreamSessionLifecycle(t *testing.T) {
	e := startStreams(t, "", nil)
	cam := e.create("cam1")
	other := e.create("cam2")
	if cam.StreamKey == "" || len(cam.StreamKey) < 43 {
		t.Fatalf("stream key %q: want 32 random bytes, URL-safe", cam.StreamKey)
	}
	if got := e.get(cam.ID); got.StreamKey != "" || got.State != api.StreamIdle || got.JobID != "" {
		t.Fatalf("a new stream: %+v", got)
	}
	if _, err := e.s.AuthorizePublish(e.ctx, "wrong"+cam.StreamKey); !errors.Is(err, live.ErrPublishRefused) {
		t.Fatalf("a wrong key: %v", err)
	}
	if _, err := e.s.AuthorizePublish(e.ctx, ""); !errors.Is(err, live.ErrPublishRefused) {
		t.Fatalf("an empty key: %v", err)
	}

	// Publish: live, with a job in the live queue that reads the relay with a play token.
	id := e.publish(cam.StreamKey)
	if id != cam.ID {
		t.Fatalf("the key resolved to %s, want %s", id, cam.ID)
	}
	onAir := e.get(id)
	if onAir.State != api.StreamLive || onAir.JobID == "" || onAir.Input == nil || onAir.Input.Height != 360 || onAir.LiveSince == nil {
		t.Fatalf("a published stream: %+v", onAir)
	}
	if onAir.Input.Bitrate != 1e6 {
		t.Errorf("input bitrate %v, want the ingest's 1e6", onAir.Input.Bitrate)
	}
	job, err := e.farm.Get(e.ctx, farm.Admin("test"), onAir.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if job.Queue != api.QueueLive || job.Status != api.StatusQueued || job.Preset != "abr-480p" || job.Labels["stream_id"] != id {
		t.Fatalf("live job: queue %s status %s preset %s labels %v", job.Queue, job.Status, job.Preset, job.Labels)
	}
	if job.Output != "streams/cam1/" || len(job.Spec.Outputs) != 3 {
		t.Fatalf("live job output %q with %d outputs, want the ladder under streams/cam1/", job.Output, len(job.Spec.Outputs))
	}
	sid, token := playToken(t, job)
	if sid != id || len(token) < 43 {
		t.Fatalf("relay URL names stream %s with token %q", sid, token)
	}
	if err := e.s.AuthorizePlay(e.ctx, id, token); err != nil {
		t.Fatalf("the job's token: %v", err)
	}
	for name, c := range map[string][2]string{"wrong token": {id, token + "x"}, "no token": {id, ""},
		"other stream": {other.ID, token}, "unknown stream": {"nope", token}} {
		if err := e.s.AuthorizePlay(e.ctx, c[0], c[1]); !errors.Is(err, live.ErrPlayRefused) {
			t.Errorf("%s: %v, want ErrPlayRefused", name, err)
		}
	}

	// A connected publisher cannot be deleted out from under.
	if err := e.s.DeleteStream(e.ctx, farm.Admin("test"), id); !isKind[*fault.ConflictError](err) {
		t.Fatalf("delete a connected stream: %v, want 409", err)
	}

	// Rotate: the old key stops working at once; the session goes on.
	rot, err := e.s.RotateStreamKey(e.ctx, farm.Admin("test"), id)
	if err != nil || rot.StreamKey == "" || rot.StreamKey == cam.StreamKey || rot.State != api.StreamLive {
		t.Fatalf("rotate: %+v, %v", rot, err)
	}
	if _, err := e.s.AuthorizePublish(e.ctx, cam.StreamKey); !errors.Is(err, live.ErrPublishRefused) {
		t.Fatalf("the old key after rotation: %v", err)
	}

	// Leave and come back within the grace: the same job goes on.
	e.s.Unpublished(id, 1000)
	if got := e.get(id); got.State != api.StreamLive || got.JobID != job.ID {
		t.Fatalf("in the grace: %+v", got)
	}
	e.publish(rot.StreamKey)
	if got := e.get(id); got.State != api.StreamLive || got.JobID != job.ID {
		t.Fatalf("back within the grace: job %s, want %s", got.JobID, job.ID)
	}
	page, err := e.farm.List(e.ctx, farm.Admin("test"), store.Filter{Queue: api.QueueLive})
	if err != nil || len(page.Jobs) != 1 {
		t.Fatalf("live jobs after a reconnect: %d, %v; want 1", len(page.Jobs), err)
	}

	// Leave for good: idle after the grace, the unstarted job canceled, the token dead.
	e.s.Unpublished(id, 2000)
	idle := e.waitState(id, api.StreamIdle)
	if idle.JobID != "" || idle.LastJobID != job.ID || idle.Input != nil || idle.LiveSince != nil {
		t.Fatalf("idle stream: %+v", idle)
	}
	if j, _ := e.farm.Get(e.ctx, farm.Admin("test"), job.ID); j.Status != api.StatusCanceled {
		t.Errorf("the never-started live job is %s, want canceled", j.Status)
	}
	if err := e.s.AuthorizePlay(e.ctx, id, token); !errors.Is(err, live.ErrPlayRefused) {
		t.Errorf("the ended session's token still plays: %v", err)
	}

	// A new session: a new job and a new token.
	e.publish(rot.StreamKey)
	again := e.get(id)
	if again.JobID == "" || again.JobID == job.ID {
		t.Fatalf("a new session's job %q (old %s)", again.JobID, job.ID)
	}
	j2, _ := e.farm.Get(e.ctx, farm.Admin("test"), again.JobID)
	if _, tok2 := playToken(t, j2); tok2 == token {
		t.Error("the play token was not rotated for the new live job")
	}

	// Delete in the grace: allowed, the job canceled.
	e.s.Unpublished(id, 0)
	if err := e.s.DeleteStream(e.ctx, farm.Admin("test"), id); err != nil {
		t.Fatalf("delete in the grace: %v", err)
	}
	if j, _ := e.farm.Get(e.ctx, farm.Admin("test"), again.JobID); j.Status != api.StatusCanceled {
		t.Errorf("a deleted stream's job is %s, want canceled", j.Status)
	}
	if _, err := e.s.AuthorizePublish(e.ctx, rot.StreamKey); !errors.Is(err, live.ErrPublishRefused) {
		t.Errorf("a deleted stream's key: %v", err)
	}
	if _, err := e.s.Stream(e.ctx, farm.Admin("test"), id); !isKind[*fault.NotFoundError](err) {
		t.Errorf("get a deleted stream: %v", err)
	}
}

// TestStreamRunningJobOutlivesGrace: a job a node already runs is not canceled at the
// grace's end (it ends with its input); the stream goes idle.
func TestStreamRunningJobOutlivesGrace(t *testing.T) {
	e := startStreams(t, "", nil)
	cam := e.create("cam")
	id := e.publish(cam.StreamKey)
	jobID := e.get(id).JobID
	if _, err := e.farm.Register(e.ctx, api.Registration{ID: "n1", Name: "n1", Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264", "aac"}, Slots: 1}}, "127.0.0.1", farm.NodeCaller{Key: "test"}); err != nil {
		t.Fatal(err)
	}
	l, err := e.farm.Lease(e.ctx, "n1", time.Second)
	if err != nil || l == nil || l.Job.ID != jobID {
		t.Fatalf("lease: %+v, %v; want %s", l, err, jobID)
	}
	e.s.Unpublished(id, 0)
	e.waitState(id, api.StreamIdle)
	if j, _ := e.farm.Get(e.ctx, farm.Admin("test"), jobID); j.Status != api.StatusAssigned {
		t.Errorf("the leased live job is %s after the grace, want still assigned", j.Status)
	}
}

// TestStreamStale: a connected publisher whose byte count stops moving shows as stale, and
// live again when data flows.
func TestStreamStale(t *testing.T) {
	e := startStreams(t, "", func(c *live.Config) { c.Stale = 50 * time.Millisecond; c.Poll = 10 * time.Millisecond })
	cam := e.create("cam")
	id := e.publish(cam.StreamKey)
	e.waitState(id, api.StreamStale)
	e.bytes.Add(4096)
	if got := e.get(id); got.State != api.StreamLive {
		t.Fatalf("data flows again: %s, want live", got.State)
	}
}

// TestStreamSessionAcrossRestart: a master that stops mid-session gives the stream a grace
// at the next start, then makes it idle.
func TestStreamSessionAcrossRestart(t *testing.T) {
	e := startStreams(t, "", func(c *live.Config) { c.Grace = time.Hour })
	cam := e.create("cam")
	id := e.publish(cam.StreamKey)
	jobID := e.get(id).JobID
	e.stop()

	e2 := startStreams(t, e.path, func(c *live.Config) { c.Grace = 200 * time.Millisecond })
	if got := e2.get(id); got.State != api.StreamLive || got.JobID != jobID {
		t.Fatalf("after the restart: %+v, want live in its grace with job %s", got, jobID)
	}
	idle := e2.waitState(id, api.StreamIdle)
	if idle.LastJobID != jobID {
		t.Fatalf("idle after the restart's grace: %+v", idle)
	}
}

func TestStreamValidation(t *testing.T) {
	e := startStreams(t, "", nil)
	long := strings.Repeat("a", 65)
	many := make([]string, 9)
	for i := range many {
		many[i] = "rtmp://a.example/live/" + string(rune('a'+i))
	}
	for _, c := range []struct {
		req   api.StreamRequest
		field string
	}{
		{api.StreamRequest{Preset: "abr-720p"}, "name"},
		{api.StreamRequest{Name: long, Preset: "abr-720p"}, "name"},
		{api.StreamRequest{Name: "..", Preset: "abr-720p"}, "name"},
		{api.StreamRequest{Name: "a/b", Preset: "abr-720p"}, "name"},
		{api.StreamRequest{Name: "cam"}, "preset"},
		{api.StreamRequest{Name: "cam", Preset: "nope"}, "preset"},
		{api.StreamRequest{Name: "cam", Preset: "abr-720p", Queue: "urgent"}, "queue"},
		{api.StreamRequest{Name: "cam", Preset: "abr-720p", Destinations: many}, "destinations"},
		{api.StreamRequest{Name: "cam", Preset: "abr-720p", Destinations: []string{"rtmp://a/b", "http://a/b"}}, "destinations[1]"},
		{api.StreamRequest{Name: "cam", Preset: "abr-720p", Destinations: []string{"rtmp:///nohost"}}, "destinations[0]"},
		{api.StreamRequest{Name: "cam", Preset: "abr-720p", Destinations: []string{"rtmp://a/b c"}}, "destinations[0]"},
		{api.StreamRequest{Name: "cam", Preset: "abr-720p", Destinations: []string{"rtmp://a/b", "rtmp://a/b"}}, "destinations[1]"},
	} {
		_, err := e.s.CreateStream(e.ctx, farm.Admin("test"), c.req)
		var inv *fault.InvalidError
		if !errors.As(err, &inv) || inv.Field != c.field {
			t.Errorf("%+v: %v, want an invalid-field error naming %s", c.req, err, c.field)
		}
	}
	ok, err := e.s.CreateStream(e.ctx, farm.Admin("test"), api.StreamRequest{Name: "Cam_1.b-2", Preset: "abr-720p", HLS: new(false),
		Destinations: []string{"rtmps://live.example.com/app/key", "RTMP://b.example:1936/x"}, Queue: api.QueueHigh})
	if err != nil || ok.HLS || ok.Queue != api.QueueHigh || len(ok.Destinations) != 2 {
		t.Fatalf("a valid stream: %+v, %v", ok, err)
	}
	if def := e.create("defaults"); !def.HLS || def.Queue != api.QueueLive {
		t.Errorf("defaults: hls %v queue %s, want true and live", def.HLS, def.Queue)
	}
	if _, err := e.s.CreateStream(e.ctx, farm.Admin("test"), api.StreamRequest{Name: "Cam_1.b-2", Preset: "abr-480p"}); !isKind[*fault.ConflictError](err) {
		t.Errorf("a taken name: %v, want 409", err)
	}
}

// isKind reports whether err is (or wraps) a T: one of the domain's refusals (package fault).
func isKind[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

// isSessionRefused reports whether err refuses an ingest's news for its session.
func isSessionRefused(err error) bool {
	var f *fault.ForbiddenError
	return errors.As(err, &f) && f.Code == api.CodeIngestSession && f.Field == "session"
}

// leaseLive registers node n1 (once) and leases the stream's waiting live job to it, as a
// worker that starts playing the relay does.
func (e *streamsEnv) leaseLive(jobID string) {
	e.t.Helper()
	if _, err := e.farm.Register(e.ctx, api.Registration{ID: "n1", Name: "n1", Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264", "aac"}, Slots: 4}}, "127.0.0.1", farm.NodeCaller{Key: "test"}); err != nil {
		e.t.Fatal(err)
	}
	l, err := e.farm.Lease(e.ctx, "n1", time.Second)
	if err != nil || l == nil || l.Job.ID != jobID {
		e.t.Fatalf("lease: %+v, %v; want %s", l, err, jobID)
	}
}

// TestStreamReconnectContinuesRunningJob: a publisher coming back within the grace whose
// input the ingest continued keeps the running job; one whose input it could not continue
// gets a new job (the running one ends with its input). The live job waits on its input
// longer than the grace.
func TestStreamReconnectContinuesRunningJob(t *testing.T) {
	const grace = time.Hour // nothing here waits for it
	e := startStreams(t, "", func(c *live.Config) { c.Grace = grace })
	cam := e.create("cam")
	id := e.publish(cam.StreamKey)
	jobID := e.get(id).JobID
	j, err := e.farm.Get(e.ctx, farm.Admin("test"), jobID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (grace + 10*time.Second).Seconds(); j.Spec.Input.TimeoutSeconds != want {
		t.Errorf("live job input timeout %v s, want the grace and a margin: %v s", j.Spec.Input.TimeoutSeconds, want)
	}
	e.leaseLive(jobID)
	in := api.StreamInput{VideoCodec: "h264", Width: 640, Height: 360, AudioCodec: "aac", Remote: "127.0.0.1:6666"}

	e.s.Unpublished(id, 1000)
	e.s.Continued(id, in)
	got := e.get(id)
	if got.State != api.StreamLive || got.JobID != jobID || got.Input == nil || got.Input.Remote != "127.0.0.1:6666" {
		t.Fatalf("continued within the grace: %+v, want live with job %s", got, jobID)
	}
	if j, _ := e.farm.Get(e.ctx, farm.Admin("test"), jobID); j.Status != api.StatusAssigned {
		t.Errorf("the continued job is %s, want still assigned", j.Status)
	}

	// The ingest could not continue the input: a new job, the running one left to end.
	e.s.Unpublished(id, 2000)
	e.s.Published(id, in)
	got = e.get(id)
	if got.JobID == "" || got.JobID == jobID || got.LastJobID != jobID {
		t.Fatalf("not continued: job %q, last %q; want a new job after %s", got.JobID, got.LastJobID, jobID)
	}
	if j, _ := e.farm.Get(e.ctx, farm.Admin("test"), jobID); j.Status != api.StatusAssigned {
		t.Errorf("the running job is %s after a reconnect the ingest did not continue, want assigned (it ends with its input)", j.Status)
	}
}

// TestStreamContinuedAfterGraceEnded: the ingest's grace starts before the streams' and its
// publisher's tracks take a moment to read, so a continued publisher may be reported just
// after the session ended: its running job is the stream's again, not a second one.
func TestStreamContinuedAfterGraceEnded(t *testing.T) {
	e := startStreams(t, "", nil)
	cam := e.create("cam")
	id := e.publish(cam.StreamKey)
	jobID := e.get(id).JobID
	e.leaseLive(jobID)
	e.s.Unpublished(id, 0)
	e.waitState(id, api.StreamIdle)
	e.s.Continued(id, api.StreamInput{VideoCodec: "h264", Width: 640, Height: 360})
	got := e.get(id)
	if got.State != api.StreamLive || got.JobID != jobID {
		t.Fatalf("continued after the session ended: %+v, want live with job %s", got, jobID)
	}
	page, err := e.farm.List(e.ctx, farm.Admin("test"), store.Filter{Queue: api.QueueLive})
	if err != nil || len(page.Jobs) != 1 {
		t.Fatalf("live jobs: %d, %v; want 1", len(page.Jobs), err)
	}
}
