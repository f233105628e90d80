package farm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
)

const edgeRelay = "rtmp://edge-1.example:1935"

// publishAt authorizes key at the standalone ingest whose relay is relay and reports the
// publisher started, as `ffrtmp ingest` does over the API.
func (e *streamsEnv) publishAt(relay, key string) string {
	e.t.Helper()
	id, err := e.s.AuthorizePublishAt(e.ctx, key, relay)
	if err != nil {
		e.t.Fatalf("publish at %s: %v", relay, err)
	}
	e.event(api.IngestEvent{Type: api.IngestPublished, StreamID: id, Relay: relay, Session: "s-" + relay,
		Input: &api.StreamInput{VideoCodec: "h264", Width: 640, Height: 360, FPS: 30, AudioCodec: "aac", Remote: "198.51.100.7:5555"}})
	return id
}

func (e *streamsEnv) event(ev api.IngestEvent) {
	e.t.Helper()
	if err := e.s.IngestEvent(e.ctx, ev); err != nil {
		e.t.Fatalf("%s event: %v", ev.Type, err)
	}
}

func (e *streamsEnv) job(id string) api.Job {
	e.t.Helper()
	j, err := e.farm.Get(e.ctx, farm.Admin("test"), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// TestRemoteIngestSession: a stream published through a standalone ingest gets a live job
// that plays it from that ingest's relay, its view shows the counters the ingest reports
// (not the master's own ingest's), and the ingest's unpublish starts the grace, after which
// the stream is idle and its waiting job canceled.
func TestRemoteIngestSession(t *testing.T) {
	e := startStreams(t, "", func(c *farm.StreamsConfig) { c.Grace = 300 * time.Millisecond })
	cam := e.create("edge-cam")
	id := e.publishAt(edgeRelay, cam.StreamKey)

	live := e.get(id)
	if live.State != api.StreamLive || live.JobID == "" {
		t.Fatalf("after the ingest's publish: %+v, want live with a job", live)
	}
	job := e.job(live.JobID)
	prefix := edgeRelay + "/live/" + id + "?token="
	if !strings.HasPrefix(job.Input, prefix) {
		t.Fatalf("live job input %q, want %s<token>", job.Input, prefix)
	}
	if err := e.s.AuthorizePlay(e.ctx, id, strings.TrimPrefix(job.Input, prefix)); err != nil {
		t.Errorf("the job's token does not play: %v", err)
	}
	// Until the ingest reports counters the view has no bitrate; then it has the ingest's
	// (the env's own-ingest Stats say 1 Mb/s, and must not be used).
	if in := live.Input; in == nil || in.Bitrate != 0 {
		t.Errorf("input before any stats: %+v, want no bitrate", in)
	}
	e.event(api.IngestEvent{Type: api.IngestStats, StreamID: id, Relay: edgeRelay, Bytes: 64 << 10, BitrateBPS: 2.5e6})
	if in := e.get(id).Input; in == nil || in.Bitrate != 2.5e6 {
		t.Errorf("input after the ingest's stats: %+v, want its 2.5 Mb/s", in)
	}
	// The master's own ingest and other ingests cannot end the session.
	e.s.Unpublished(id, 0)
	e.event(api.IngestEvent{Type: api.IngestUnpublished, StreamID: id, Relay: "rtmp://edge-2.example:1935"})
	if _, err := e.s.AuthorizePublish(e.ctx, cam.StreamKey); err == nil {
		t.Error("the master's own ingest admitted a second publisher of a stream live through another ingest")
	}
	time.Sleep(400 * time.Millisecond)
	if got := e.get(id); got.State != api.StreamLive {
		t.Fatalf("after unpublishes from elsewhere: %s, want still live", got.State)
	}

	e.event(api.IngestEvent{Type: api.IngestUnpublished, StreamID: id, Relay: edgeRelay, Bytes: 128 << 10})
	idle := e.waitState(id, api.StreamIdle)
	if idle.LastJobID != job.ID {
		t.Errorf("idle stream %+v, want last job %s", idle, job.ID)
	}
	if j := e.job(job.ID); j.Status != api.StatusCanceled {
		t.Errorf("the session's job that never started is %s after the grace, want canceled", j.Status)
	}
}

// TestRemoteIngestStaleAndSilent: the ingest's byte counts feed the stale check, and an
// ingest that reports nothing for IngestSilence is taken as gone: the grace starts.
func TestRemoteIngestStaleAndSilent(t *testing.T) {
	e := startStreams(t, "", func(c *farm.StreamsConfig) {
		c.Stale, c.Poll, c.IngestSilence, c.Grace = 150*time.Millisecond, 20*time.Millisecond, 600*time.Millisecond, 100*time.Millisecond
	})
	cam := e.create("edge-cam")
	id := e.publishAt(edgeRelay, cam.StreamKey)
	// Counters that do not move: stale (the env's own-ingest bytes do move: not used).
	e.bytes.Add(1)
	for range 10 {
		e.event(api.IngestEvent{Type: api.IngestStats, StreamID: id, Relay: edgeRelay, Bytes: 1000})
		e.bytes.Add(1)
		time.Sleep(30 * time.Millisecond)
	}
	if got := e.get(id).State; got != api.StreamStale {
		t.Errorf("ingest counters stuck at 1000 bytes: %s, want stale", got)
	}
	e.event(api.IngestEvent{Type: api.IngestStats, StreamID: id, Relay: edgeRelay, Bytes: 2000})
	if got := e.get(id).State; got != api.StreamLive {
		t.Errorf("ingest counters moving again: %s, want live", got)
	}
	// Then the ingest falls silent.
	e.waitState(id, api.StreamIdle)
}

// TestRemoteIngestAcrossMasterRestart: a master restarted while a standalone ingest kept the
// publisher connected gives the stream its grace, and the ingest's next stats (its job
// playing from that ingest) carry the session on past the grace.
func TestRemoteIngestAcrossMasterRestart(t *testing.T) {
	e := startStreams(t, "", nil)
	cam := e.create("edge-cam")
	id := e.publishAt(edgeRelay, cam.StreamKey)
	jobID := e.get(id).JobID
	e.stop()

	e2 := startStreams(t, e.path, func(c *farm.StreamsConfig) { c.Grace = 300 * time.Millisecond })
	// Another ingest's word does not carry it.
	e2.event(api.IngestEvent{Type: api.IngestStats, StreamID: id, Relay: "rtmp://edge-2.example:1935", Bytes: 10})
	e2.event(api.IngestEvent{Type: api.IngestStats, StreamID: id, Relay: edgeRelay, Bytes: 10, BitrateBPS: 1e5})
	time.Sleep(500 * time.Millisecond)
	got := e2.get(id)
	if got.State != api.StreamLive || got.JobID != jobID || got.Input == nil || got.Input.Bitrate != 1e5 {
		t.Fatalf("after the restart and the ingest's stats, past the grace: %+v, want live with job %s", got, jobID)
	}
	e2.event(api.IngestEvent{Type: api.IngestUnpublished, StreamID: id, Relay: edgeRelay})
	e2.waitState(id, api.StreamIdle)
}

// TestIngestURL: with standalone ingests' address configured, streams' ingest_url points
// there, also when the master runs no ingest of its own.
func TestIngestURL(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  func(*farm.StreamsConfig)
		want string
	}{
		{"own ingest", nil, "rtmp://api.example:19350/live/"},
		{"standalone only", func(c *farm.StreamsConfig) { c.IngestPort, c.IngestURL = 0, "RTMPS://live.example:443/" }, "rtmps://live.example:443/live/"},
		{"both", func(c *farm.StreamsConfig) { c.IngestURL = "rtmp://live.example:1935" }, "rtmp://live.example:1935/live/"},
		{"none", func(c *farm.StreamsConfig) { c.IngestPort = 0 }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startStreams(t, "", c.cfg)
			if got := e.s.IngestURL("api.example:8080"); got != c.want {
				t.Errorf("IngestURL = %q, want %q", got, c.want)
			}
		})
	}
}
