package live

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

// The news of standalone ingests (ffrtmp ingest), which report over the API what the
// master's own ingest tells Streams by calling it: publishers starting, coming back, leaving,
// and their counters. Each ingest names itself by its relay, where workers play its streams
// from: the session's job reads from there, and news from an ingest the stream has since
// left is ignored.

// publishGrant is a publish the master admitted for a standalone ingest: the stream, the
// ingest's API key name and relay, and until when its published event may come.
type publishGrant struct {
	stream, ingest, relay string
	until                 time.Time
}

// Grants outstanding at once (a publish whose news never came expires); past the bound the
// oldest go first.
const (
	grantTTL  = 2 * time.Minute
	maxGrants = 10000
)

// GrantPublish admits a publisher of the stream whose key is key on the standalone ingest
// whose relay is relay and whose API key is named ingest (AuthorizePublishAt), and returns
// the stream's ID and the publish's session: the master applies the ingest's news of the
// publish only with that session, from that ingest.
func (s *Streams) GrantPublish(ctx context.Context, key, relay, ingest string) (id, session string, err error) {
	id, err = s.AuthorizePublishAt(ctx, key, relay)
	if err != nil {
		return "", "", err
	}
	session, _, err = newSecret()
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.grants) >= maxGrants {
		var oldest string
		for k, g := range s.grants {
			if !g.until.After(now) {
				delete(s.grants, k)
			} else if oldest == "" || g.until.Before(s.grants[oldest].until) {
				oldest = k
			}
		}
		if len(s.grants) >= maxGrants {
			delete(s.grants, oldest)
		}
	}
	s.grants[session] = publishGrant{stream: id, ingest: ingest, relay: relay, until: now.Add(grantTTL)}
	return id, session, nil
}

// IngestEvent applies the news of a stream from the standalone ingest whose API key is named
// ingest. A bad event is a 400 naming the field, a stream the master does not know a 404. A
// published or continued event counts only for a publish the master granted that ingest
// (GrantPublish) for that stream and session, else it is a 403 ingest_session_refused;
// unpublished and stats events count only for the stream's current session through that
// ingest, and are otherwise ignored.
func (s *Streams) IngestEvent(ctx context.Context, ev api.IngestEvent, ingest string) error {
	relay, aerr := checkIngestEvent(&ev)
	if aerr != nil {
		return aerr
	}
	if _, err := s.st.GetStream(ctx, ev.StreamID); err != nil {
		return storeErr(err, "stream", ev.StreamID)
	}
	switch ev.Type {
	case api.IngestPublished, api.IngestContinued:
		if aerr := s.takeGrant(ev, relay, ingest); aerr != nil {
			s.log.Warn("ingest news of a publish the master did not admit: ignored", "stream_id", ev.StreamID,
				"ingest", ingest, "relay", relay, "type", ev.Type)
			return aerr
		}
		s.published(ev.StreamID, *ev.Input, ev.Type == api.IngestContinued, relay, ev.Session, ingest)
	case api.IngestUnpublished:
		s.leave(ev.StreamID, func(ls *liveStream) bool {
			return ls.relay != "" && ls.ingest == ingest && ls.session == ev.Session && (relay == "" || ls.relay == relay)
		}, ev.Bytes)
	case api.IngestStats:
		s.remoteStats(ctx, ev.StreamID, relay, ingest, ev.Session, IngestStats{Bytes: ev.Bytes, BitrateBPS: ev.BitrateBPS})
	}
	return nil
}

// takeGrant consumes the grant of ev's session, which must be for ev's stream, from ingest
// at relay, and not expired. The news of a session applied already (a retry whose answer was
// lost) passes: published ignores it.
func (s *Streams) takeGrant(ev api.IngestEvent, relay, ingest string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ls := s.live[ev.StreamID]; ev.Session != "" && ls != nil && ls.connected && ls.session == ev.Session && ls.ingest == ingest {
		return nil
	}
	g, ok := s.grants[ev.Session]
	if !ok || g.stream != ev.StreamID || g.ingest != ingest || g.relay != relay || time.Now().After(g.until) {
		return &fault.ForbiddenError{Code: api.CodeIngestSession, Field: "session", Msg: fmt.Sprintf(
			"stream %s: no publish admitted for this ingest with this session (sessions come from POST /v1/ingest/publish and expire after %s)",
			ev.StreamID, grantTTL)}
	}
	delete(s.grants, ev.Session)
	return nil
}

// checkIngestEvent checks ev and returns its relay in canonical form.
func checkIngestEvent(ev *api.IngestEvent) (string, error) {
	if !slices.Contains(api.IngestEventTypes, ev.Type) {
		return "", fault.Invalid("type", "type %q: want one of %v", ev.Type, api.IngestEventTypes)
	}
	if ev.StreamID == "" || len(ev.StreamID) > 64 {
		return "", fault.Invalid("stream_id", "stream_id %q: want a stream's ID", ev.StreamID)
	}
	relay := ""
	if ev.Relay != "" || ev.Type == api.IngestPublished || ev.Type == api.IngestContinued {
		var err error
		if relay, err = api.CheckRTMPBase(ev.Relay); err != nil {
			return "", fault.Invalid("relay", "relay: %v", err)
		}
	}
	if len(ev.Session) > 64 {
		return "", fault.Invalid("session", "session: longer than 64 bytes")
	}
	if ev.Bytes < 0 {
		return "", fault.Invalid("bytes", "bytes %d: want 0 or more", ev.Bytes)
	}
	if ev.BitrateBPS < 0 || math.IsNaN(ev.BitrateBPS) || math.IsInf(ev.BitrateBPS, 0) {
		return "", fault.Invalid("bitrate_bps", "bitrate_bps %v: want 0 or more", ev.BitrateBPS)
	}
	switch ev.Type {
	case api.IngestPublished, api.IngestContinued:
		if ev.Input == nil {
			return "", fault.Invalid("input", "a %s event needs the input the publisher sends", ev.Type)
		}
		if field, msg := checkStreamInput(*ev.Input); field != "" {
			return "", fault.Invalid("input."+field, "input.%s", msg)
		}
	default:
		if ev.Input != nil {
			return "", fault.Invalid("input", "only published and continued events carry an input")
		}
	}
	return relay, nil
}

// checkStreamInput bounds what an ingest says of a publisher's input (it is stored with the
// stream); it returns the faulty field and why, or "".
func checkStreamInput(in api.StreamInput) (field, msg string) {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"video_codec", in.VideoCodec, 32}, {"audio_codec", in.AudioCodec, 32}, {"remote", in.Remote, 256}} {
		if len(f.v) > f.max {
			return f.name, fmt.Sprintf("%s: longer than %d bytes", f.name, f.max)
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"width", in.Width}, {"height", in.Height}, {"sample_rate", in.SampleRate}, {"channels", in.Channels}} {
		if f.v < 0 || f.v > 1<<20 {
			return f.name, fmt.Sprintf("%s %d: out of range", f.name, f.v)
		}
	}
	if in.FPS < 0 || in.FPS > 1000 || math.IsNaN(in.FPS) {
		return "fps", fmt.Sprintf("fps %v: out of range", in.FPS)
	}
	if in.Bitrate < 0 || math.IsNaN(in.Bitrate) || math.IsInf(in.Bitrate, 0) {
		return "bitrate", fmt.Sprintf("bitrate %v: want 0 or more", in.Bitrate)
	}
	return "", ""
}

// remoteStats keeps what the ingest named ingest at relay ("": the session's ingest) counts
// of stream id's publisher in session. A stream the master holds in its grace, or restored
// after a restart, while the ingest its job plays from reports it live, missed the ingest's
// news (the master was down): its session goes on.
func (s *Streams) remoteStats(ctx context.Context, id, relay, ingest, session string, st IngestStats) {
	now := time.Now()
	s.mu.Lock()
	ls := s.live[id]
	switch {
	case ls == nil: // idle: no session to count for
		s.mu.Unlock()
		return
	case ls.connected:
		if ls.relay != "" && ls.ingest == ingest && ls.session == session && (relay == "" || relay == ls.relay) {
			ls.remote, ls.remoteOK, ls.lastReport = st, true, now
			s.noteBytes(ls, st.Bytes, now)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if relay != "" {
		s.resumeReported(ctx, id, relay, ingest, session, st)
	}
}

// resumeReported reconnects stream id's session when its live job plays from the ingest
// named ingest at relay, which reports the stream live in session.
func (s *Streams) resumeReported(ctx context.Context, id, relay, ingest, session string, st IngestStats) {
	s.op.Lock()
	defer s.op.Unlock()
	r, err := s.st.GetStream(ctx, id)
	if err != nil || r.Stream.JobID == "" || r.Ingest != ingest {
		return
	}
	j, err := s.jobs.Get(ctx, farm.Admin("live"), r.Stream.JobID)
	if fault.IsNotFound(err) || (err == nil && (j.Status.Terminal() || !s.readsFrom(j, relay))) {
		return
	}
	if err != nil {
		s.log.Warn("read a stream's live job", "stream_id", id, "job_id", r.Stream.JobID, "err", err)
		return
	}
	now := time.Now()
	s.mu.Lock()
	ls := s.live[id]
	if ls == nil || ls.connected {
		s.mu.Unlock()
		return
	}
	ls.connected, ls.graceUntil, ls.lastData, ls.lastBytes = true, time.Time{}, now, st.Bytes
	ls.relay, ls.session, ls.ingest, ls.remote, ls.remoteOK, ls.lastReport = relay, session, ingest, st, true, now
	s.mu.Unlock()
	s.log.Info("the stream's ingest reports it live: its session goes on", "stream_id", id, "stream", r.Stream.Name,
		"job_id", j.ID, "relay", relay)
}
