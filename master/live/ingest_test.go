package live_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/live"
)

const (
	edgeRelay = "rtmp://edge-1.example:1935"
	edgeKey   = "edge-1" // the name of the ingest's API key
)

var camInput = &api.StreamInput{VideoCodec: "h264", Width: 640, Height: 360, FPS: 30, AudioCodec: "aac", Remote: "198.51.100.7:5555"}

// publishAt authorizes key at the standalone ingest edgeKey whose relay is relay and reports
// the publisher started, as `ffrtmp ingest` does over the API. It returns the stream's ID;
// the session is kept for the stream's later news (e.sessions).
func (e *streamsEnv) publishAt(relay, key string) string {
	e.t.Helper()
	id, session, err := e.s.GrantPublish(e.ctx, key, relay, edgeKey)
	if err != nil {
		e.t.Fatalf("publish at %s: %v", relay, err)
	}
	e.sessions[id] = session
	e.event(api.IngestEvent{Type: api.IngestPublished, StreamID: id, Relay: relay, Session: session, Input: camInput})
	return id
}

// event is news from the ingest edgeKey, of the stream's session when it carries none.
func (e *streamsEnv) event(ev api.IngestEvent) {
	e.t.Helper()
	if ev.Session == "" {
		ev.Session = e.sessions[ev.StreamID]
	}
	if err := e.s.IngestEvent(e.ctx, ev, edgeKey); err != nil {
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
	e := startStreams(t, "", func(c *live.Config) { c.Grace = 300 * time.Millisecond })
	cam := e.create("edge-cam")
	id := e.publishAt(edgeRelay, cam.StreamKey)

	onAir := e.get(id)
	if onAir.State != api.StreamLive || onAir.JobID == "" {
		t.Fatalf("after the ingest's publish: %+v, want live with a job", onAir)
	}
	job := e.job(onAir.JobID)
	prefix := edgeRelay + "/live/" + id + "?token="
	if !strings.HasPrefix(job.Input, prefix) {
		t.Fatalf("live job input %q, want %s<token>", job.Input, prefix)
	}
	if err := e.s.AuthorizePlay(e.ctx, id, strings.TrimPrefix(job.Input, prefix)); err != nil {
		t.Errorf("the job's token does not play: %v", err)
	}
	// Until the ingest reports counters the view has no bitrate; then it has the ingest's
	// (the env's own-ingest Stats say 1 Mb/s, and must not be used).
	if in := onAir.Input; in == nil || in.Bitrate != 0 {
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
	e := startStreams(t, "", func(c *live.Config) {
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

	e2 := startStreams(t, e.path, func(c *live.Config) { c.Grace = 300 * time.Millisecond })
	e2.sessions = e.sessions // the ingest kept its session across the master's restart
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

// TestIngestCannotTakeOverStream replays issue 12's finding 3: an ingest key whose publish
// was refused (or never asked) reports a stream published through its own relay. The master
// applies only news of publishes it admitted for that ingest and session, so the real live
// job goes on and the real ingest's unpublish still counts.
func TestIngestCannotTakeOverStream(t *testing.T) {
	e := startStreams(t, "", func(c *live.Config) { c.Grace = 200 * time.Millisecond })
	cam, other := e.create("cam"), e.create("attackers-own")
	id := e.publishAt(edgeRelay, cam.StreamKey)
	jobID := e.get(id).JobID
	session := e.sessions[id]
	const evil, evilRelay = "evil-ingest", "rtmp://203.0.113.66:1935"

	// The attacker's publish with a guessed key is refused: no session.
	if _, _, err := e.s.GrantPublish(e.ctx, "guessed-key", evilRelay, evil); err == nil {
		t.Fatal("a wrong stream key was admitted")
	}
	// A session the attacker got for its own stream.
	_, own, err := e.s.GrantPublish(e.ctx, other.StreamKey, evilRelay, evil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, session, relay, ingest string
	}{
		{"no session", "", evilRelay, evil},
		{"a made-up session", "made-up", evilRelay, evil},
		{"its session for another stream", own, evilRelay, evil},
		{"the real ingest's session from another ingest key", session, edgeRelay, evil},
	} {
		for _, typ := range []api.IngestEventType{api.IngestPublished, api.IngestContinued} {
			err := e.s.IngestEvent(e.ctx, api.IngestEvent{Type: typ, StreamID: id, Relay: tt.relay, Session: tt.session, Input: camInput}, tt.ingest)
			if !isSessionRefused(err) {
				t.Errorf("%s, %s: %v, want 403 %s", tt.name, typ, err, api.CodeIngestSession)
			}
		}
		// Its unpublish and stats are not the session's news: ignored.
		if err := e.s.IngestEvent(e.ctx, api.IngestEvent{Type: api.IngestUnpublished, StreamID: id, Relay: tt.relay, Session: tt.session}, tt.ingest); err != nil {
			t.Errorf("%s: unpublish answered %v", tt.name, err)
		}
	}
	time.Sleep(300 * time.Millisecond) // past the grace an accepted unpublish would have started
	if got := e.get(id); got.State != api.StreamLive || got.JobID != jobID {
		t.Fatalf("after the attack: %s with job %s, want live with the real job %s", got.State, got.JobID, jobID)
	}
	if j := e.job(jobID); j.Status.Terminal() || !strings.HasPrefix(j.Input, edgeRelay+"/") {
		t.Fatalf("the real live job is %s reading %s", j.Status, j.Input)
	}
	// A retried published event of the real session (its answer was lost) is no error and
	// changes nothing; the real ingest's unpublish still ends the session.
	e.event(api.IngestEvent{Type: api.IngestPublished, StreamID: id, Relay: edgeRelay, Input: camInput})
	if got := e.get(id); got.JobID != jobID {
		t.Fatalf("a repeated published event made job %s, want %s still", got.JobID, jobID)
	}
	e.event(api.IngestEvent{Type: api.IngestUnpublished, StreamID: id, Relay: edgeRelay})
	e.waitState(id, api.StreamIdle)
	// A session is good for one publish: used, it cannot start another.
	e.sessions[id] = session
	err = e.s.IngestEvent(e.ctx, api.IngestEvent{Type: api.IngestPublished, StreamID: id, Relay: edgeRelay, Session: session, Input: camInput}, edgeKey)
	if !isSessionRefused(err) {
		t.Fatalf("a used session published again: %v, want %s", err, api.CodeIngestSession)
	}
}

// TestIngestURL: streams' ingest_url names the configured ingest host (IPv6 in brackets);
// with standalone ingests' address configured it points there, also when the master runs
// no ingest of its own.
func TestIngestURL(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  func(*live.Config)
		want string
	}{
		{"own ingest", func(c *live.Config) { c.IngestHost = "master.example" }, "rtmp://master.example:19350/live/"},
		{"own ingest over IPv6", func(c *live.Config) { c.IngestHost = "::1" }, "rtmp://[::1]:19350/live/"},
		{"bracketed IPv6", func(c *live.Config) { c.IngestHost = "[2001:db8::1]" }, "rtmp://[2001:db8::1]:19350/live/"},
		{"no host", nil, "rtmp://localhost:19350/live/"},
		{"standalone only", func(c *live.Config) { c.IngestPort, c.IngestURL = 0, "RTMPS://live.example:443/" }, "rtmps://live.example:443/live/"},
		{"both", func(c *live.Config) { c.IngestURL = "rtmp://live.example:1935" }, "rtmp://live.example:1935/live/"},
		{"none", func(c *live.Config) { c.IngestPort = 0 }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startStreams(t, "", c.cfg)
			if got := e.s.IngestURL(); got != c.want {
				t.Errorf("IngestURL = %q, want %q", got, c.want)
			}
		})
	}
}
