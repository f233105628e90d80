package master_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// publisher is the engine pushing a synthetic source to the master's ingest, as a
// broadcaster would, until stopped.
type publisher struct {
	cancel context.CancelFunc
	done   chan error
}

// publish starts pushing to rtmp://addr/live/key. The source is long and encoded as fast as
// the machine goes: the publish lasts until stop.
func publish(t *testing.T, addr, key string) *publisher {
	t.Helper()
	return publishURL(t, "rtmp://"+addr+"/live/"+key)
}

// publishURL is publish to any URL.
func publishURL(t *testing.T, target string) *publisher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &publisher{cancel: cancel, done: make(chan error, 1)}
	s := spec.Spec{
		Input: spec.Input{Synthetic: &spec.Synthetic{Width: 320, Height: 240, FPS: spec.Rate{Num: 30, Den: 1}, Duration: 600}},
		Outputs: []spec.Output{{Container: "flv", Target: target,
			Video: &spec.Video{Codec: "libx264", Preset: "ultrafast", Bitrate: 300_000, GOP: 1},
			Audio: &spec.Audio{Codec: "aac", Bitrate: 64_000}}},
	}
	go func() {
		_, err := engine.Run(ctx, s, nil)
		p.done <- err
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the publish and waits for the engine to return.
func (p *publisher) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the publisher did not stop within 20 s")
	}
}

// refused pushes with key and wants the ingest to refuse it.
func refused(t *testing.T, addr, key, what string) {
	t.Helper()
	p := publish(t, addr, key)
	select {
	case err := <-p.done:
		p.cancel()
		p.cancel = nil
		if err == nil {
			t.Fatalf("%s: the publish ended without an error", what)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: the ingest did not refuse the publish within 20 s", what)
	}
}

// waitStream polls stream id until ok holds.
func waitStream(t *testing.T, c *api.Client, id, what string, ok func(*api.Stream) bool) *api.Stream {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := c.GetStream(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream never %s: %+v (input %+v)", what, s, s.Input)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func liveJobs(t *testing.T, c *api.Client, streamID string) []api.Job {
	t.Helper()
	l, err := c.ListJobs(context.Background(), api.ListJobsOptions{Queue: api.QueueLive})
	if err != nil {
		t.Fatal(err)
	}
	var out []api.Job
	for _, j := range l.Jobs {
		if j.Labels["stream_id"] == streamID {
			out = append(out, j)
		}
	}
	return out
}

// TestIngestLive runs the master's ingest on a free port and publishes to it with the engine:
// wrong keys are refused, a publish makes the stream live with a job in the live queue that
// reads the relay, rotation kills the old key, a reconnect within the grace keeps the one
// job, and the stream is idle after the grace.
func TestIngestLive(t *testing.T) {
	const grace = 5 * time.Second // the reconnect below must land within it, also on a loaded machine
	h := mastertest.Start(t, func(c *master.Config) {
		c.RTMPListen = "127.0.0.1:0"
		c.LiveGrace = grace
	})
	addr := h.Master.RTMPAddr().String()
	ctx := context.Background()
	sub := h.Client(t, auth.RoleSubmitter)
	st, err := sub.CreateStream(ctx, api.StreamRequest{Name: "cam1", Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	if st.IngestURL != "rtmp://"+addr+"/live/" {
		t.Errorf("ingest_url %q, want rtmp://%s/live/", st.IngestURL, addr)
	}

	refused(t, addr, "not-the-key", "a wrong key")
	refused(t, addr, st.StreamKey[:20], "a prefix of the key")
	if got, _ := sub.GetStream(ctx, st.ID); got.State != api.StreamIdle || len(liveJobs(t, sub, st.ID)) != 0 {
		t.Fatalf("refused publishes made the stream %s with %d jobs", got.State, len(liveJobs(t, sub, st.ID)))
	}

	// Publish: live with the input as the ingest saw it, and a live job reading the relay.
	p1 := publish(t, addr, st.StreamKey)
	live := waitStream(t, sub, st.ID, "live with its input", func(s *api.Stream) bool {
		return s.State == api.StreamLive && s.Input != nil && s.JobID != ""
	})
	if in := live.Input; in.VideoCodec != "h264" || in.Width != 320 || in.Height != 240 || in.AudioCodec != "aac" {
		t.Errorf("input %+v, want h264 320x240 with aac", in)
	}
	if live.LiveSince == nil {
		t.Error("no live_since")
	}
	job, err := sub.GetJob(ctx, live.JobID)
	if err != nil {
		t.Fatal(err)
	}
	// A submitter sees the relay URL with its stream ID and play token hidden (the worker's
	// lease has them: TestJobViewsRedactDestinationKeys).
	u, err := url.Parse(job.Input)
	if err != nil || job.Queue != api.QueueLive || u.Scheme != "rtmp" || u.Host != addr || u.Path != "/live/***" || u.RawQuery != "***" ||
		job.Labels["stream_id"] != st.ID {
		t.Fatalf("live job in queue %s reads %q (labels %v), want rtmp://%s/live/***?*** for stream %s", job.Queue, job.Input, job.Labels, addr, st.ID)
	}
	if job.Spec.Input.URL != job.Input || len(job.Spec.Outputs) != 3 || !strings.HasPrefix(job.Spec.Outputs[0].Target, "streams/cam1") {
		t.Errorf("live job spec: input %q, %d outputs, first to %q", job.Spec.Input.URL, len(job.Spec.Outputs), job.Spec.Outputs[0].Target)
	}
	if strings.Contains(job.Input, st.StreamKey) {
		t.Error("the live job's input holds the stream key")
	}

	// While it is live: a second publisher on the key is refused, the stream cannot be
	// deleted, and rotation kills the old key for new publishes.
	refused(t, addr, st.StreamKey, "a second publisher")
	err = sub.DeleteStream(ctx, st.ID)
	if !api.IsCode(err, api.CodeConflict) {
		t.Fatalf("delete a live stream: %v, want 409 conflict", err)
	}
	rot, err := sub.RotateStreamKey(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	refused(t, addr, st.StreamKey, "the rotated-out key")

	// The publisher drops and comes back within the grace (with the new key): one job.
	first := live.Input.Remote
	p1.stop(t)
	p2 := publish(t, addr, rot.StreamKey)
	back := waitStream(t, sub, st.ID, "back from a new connection", func(s *api.Stream) bool {
		return s.Input != nil && s.Input.Remote != first
	})
	if back.State != api.StreamLive || back.JobID != job.ID {
		t.Fatalf("after a reconnect within the grace: state %s job %s, want live with job %s", back.State, back.JobID, job.ID)
	}
	if jobs := liveJobs(t, sub, st.ID); len(jobs) != 1 {
		t.Fatalf("%d live jobs after a reconnect, want 1", len(jobs))
	}

	// The publisher leaves for good: idle after the grace.
	p2.stop(t)
	idle := waitStream(t, sub, st.ID, "idle", func(s *api.Stream) bool { return s.State == api.StreamIdle })
	if idle.JobID != "" || idle.LastJobID != job.ID || idle.Input != nil {
		t.Errorf("idle stream: %+v", idle)
	}
	if j, _ := sub.GetJob(ctx, job.ID); j.Status != api.StatusCanceled {
		t.Errorf("the live job nobody leased is %s after the grace, want canceled", j.Status)
	}
	if jobs := liveJobs(t, sub, st.ID); len(jobs) != 1 {
		t.Errorf("%d live jobs in all, want 1", len(jobs))
	}
	if err := sub.DeleteStream(ctx, st.ID); err != nil {
		t.Fatalf("delete an idle stream: %v", err)
	}
}

// TestIngestRTMPS: a master serving TLS serves RTMPS with the same certificate; plain RTMP
// is not spoken there.
func TestIngestRTMPS(t *testing.T) {
	h := mastertest.Start(t, func(c *master.Config) {
		c.RTMPListen = "127.0.0.1:0"
		c.TLS = tlsconf.Options{Enabled: true}
	})
	addr := h.Master.RTMPAddr().String()
	ctx := context.Background()
	streams := h.Master.Streams()
	st, err := streams.CreateStream(ctx, farm.Admin("test"), api.StreamRequest{Name: "secure", Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	if u := streams.IngestURL(); u != "rtmps://"+addr+"/live/" {
		t.Errorf("ingest URL %q, want rtmps://%s/live/", u, addr)
	}
	plain := publish(t, addr, st.StreamKey)
	select {
	case err := <-plain.done:
		plain.cancel()
		plain.cancel = nil
		if err == nil {
			t.Fatal("plain RTMP to the RTMPS port: no error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("plain RTMP to the RTMPS port was neither refused nor timed out in 30 s")
	}
	p := publishURL(t, "rtmps://"+addr+"/live/"+st.StreamKey)
	defer p.stop(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := streams.Stream(ctx, farm.Admin("test"), st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.State == api.StreamLive && s.Input != nil && s.JobID != "" {
			job, err := h.Master.Farm().Get(ctx, farm.Admin("test"), s.JobID)
			if err != nil || !strings.HasPrefix(job.Input, "rtmps://127.0.0.1:") {
				t.Fatalf("live job over RTMPS reads %q (%v), want the rtmps:// relay", job.Input, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("an RTMPS publish never made the stream live: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
