package rtmp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

// publish authorizes a publisher, relays its stream under the stream ID until it leaves.
func (s *Server) publish(ctx context.Context, c *conn, sc *gortmplib.ServerConn, app, key string) {
	id, session, ok := s.authorizePublish(ctx, c, sc, app, key)
	if !ok {
		return
	}
	st, held := s.claim(id, c.remote)
	if st == nil {
		s.refuse(c, sc, ReasonDuplicate, app, "stream", id)
		return
	}
	// st may change below (a held stream given up for a new one): unpublish the last one.
	defer func() { s.unpublish(ctx, st) }()

	r, tracks, ok := s.readTracks(c, sc)
	if !ok {
		return
	}
	var (
		info      StreamInfo
		paramSets map[int][][]byte
		taken     bool
	)
	if held != nil {
		st, info, paramSets, taken = s.continueHeld(c, held, tracks)
		if taken {
			s.refuse(c, sc, ReasonDuplicate, app, "stream", id)
			return
		}
	}
	if !info.Continued {
		st.setTracks(tracks)
		info = st.describeOnce
	}
	err := relayTracks(r, tracks, paramSets, func(u *unit) {
		for _, p := range st.publish(u) {
			p.kick()
		}
	})
	if err != nil {
		s.m.refused.WithLabelValues(ReasonProtocol).Inc()
		s.log.Warn("rtmp publish refused", "remote", c.remote, "stream", id, "reason", ReasonProtocol, "error", redact.Text(err.Error()))
		return
	}
	s.goLive(st)
	s.announce(c, st, info, session)
	s.readUntilEnd(ctx, c, sc, r, st)
}

// authorizePublish asks the Authorizer for the stream ID and session of a publish to
// app/key; on a refusal it answers the client and returns false.
func (s *Server) authorizePublish(ctx context.Context, c *conn, sc *gortmplib.ServerConn, app, key string) (id, session string, ok bool) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	id, session, err := s.cfg.Auth.AuthorizePublish(actx, app, key)
	cancel()
	if err == nil && id == "" {
		err = errors.New("the authorizer returned no stream ID")
	}
	if err != nil {
		s.refuse(c, sc, ReasonAuth, app, "error", redact.Secret(err.Error(), key))
		return "", "", false
	}
	return id, session, true
}

// claim registers a new stream under id for a publisher at remote. A stream whose publisher
// left within the grace is claimed instead: st is then that stream, also returned as held,
// and this publisher may continue it. st is nil when the stream has a publisher already.
func (s *Server) claim(id, remote string) (st, held *stream) {
	st = newStream(id, remote, s.m, s.cfg.PlayerQueue, s.cfg.GOPCacheBytes)
	s.mu.Lock()
	defer s.mu.Unlock()
	held = s.streams[id]
	switch {
	case held == nil:
		s.streams[id] = st
		return st, nil
	case held.held && !held.claimed:
		held.claimed = true // its grace timer, if it fires now, leaves it alone
		held.holdTimer.Stop()
		return held, held
	}
	return nil, nil
}

// readTracks reads the publisher's track setup; on a failure it counts a protocol error
// and returns false.
func (s *Server) readTracks(c *conn, sc *gortmplib.ServerConn) (*gortmplib.Reader, []*gortmplib.Track, bool) {
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		s.protocolError(c, "tracks", err)
		return nil, nil, false
	}
	tracks := r.Tracks()
	if len(tracks) == 0 {
		s.protocolError(c, "tracks", errors.New("no tracks"))
		return nil, nil, false
	}
	return r, tracks, true
}

// continueHeld decides what a publisher who claimed held stream continues. With the same
// tracks it resumes held (info.Continued, and the parameter sets its players already have).
// With other tracks the held players end and the publisher gets a new stream st; taken
// reports that another publisher registered the stream meanwhile (st is then the new stream,
// registered nowhere).
func (s *Server) continueHeld(c *conn, held *stream, tracks []*gortmplib.Track) (st *stream, info StreamInfo, paramSets map[int][][]byte, taken bool) {
	paramSets, err := compatibleTracks(held.tracks, tracks)
	if err == nil {
		info = held.resume(tracks, c.remote)
		info.Continued = true
		return held, info, paramSets, false
	}
	// Other tracks: the held players end, and the publisher starts a new stream.
	s.log.Info("rtmp publisher came back with other tracks: the stream's players end", "remote", c.remote,
		"stream", held.id, "reason", err)
	s.endStream(held)
	st = newStream(held.id, c.remote, s.m, s.cfg.PlayerQueue, s.cfg.GOPCacheBytes)
	s.mu.Lock()
	taken = s.streams[held.id] != nil
	if !taken {
		s.streams[held.id] = st
	}
	s.mu.Unlock()
	return st, StreamInfo{}, nil, taken
}

// goLive marks st live and hands it to the players waiting for it. They join before the
// first unit is read, so they miss nothing.
func (s *Server) goLive(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.live.Store(true)
	st.held, st.claimed = false, false
	for _, w := range s.waiting[st.id] {
		if st.join(w.p) {
			w.ch <- st
		}
	}
	delete(s.waiting, st.id)
}

// announce counts, logs and tells the Observer that st went live.
func (s *Server) announce(c *conn, st *stream, info StreamInfo, session string) {
	s.m.publishers.Inc()
	s.log.Info("rtmp publish started", "remote", c.remote, "stream", st.id, "video", info.VideoCodec,
		"width", info.Width, "height", info.Height, "fps", info.FPS, "audio", info.AudioCodec, "continued", info.Continued)
	if s.cfg.Observer != nil {
		info.Session = session
		s.cfg.Observer.Published(st.id, info)
	}
}

// readUntilEnd relays what the publisher sends until it leaves, stalls past ReadTimeout or
// ctx ends.
func (s *Server) readUntilEnd(ctx context.Context, c *conn, sc *gortmplib.ServerConn, r *gortmplib.Reader, st *stream) {
	for {
		c.nc.SetDeadline(time.Now().Add(s.cfg.ReadTimeout))
		err := r.Read()
		st.received(int64(sc.BytesReceived()))
		if err != nil {
			level := slog.LevelInfo
			if ctx.Err() == nil && !isClosed(err) {
				level = slog.LevelWarn
			}
			s.log.Log(ctx, level, "rtmp publish ended", "remote", c.remote, "stream", st.id, "reason", err)
			return
		}
	}
}

// isClosed reports whether err is the peer leaving rather than a failure.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF") ||
		strings.Contains(err.Error(), "connection reset")
}

// unpublish handles a publisher leaving stream st. With a Grace, a stream that was live
// keeps its players for it (held) unless ctx ended; otherwise it ends: its players drain and
// close, its metric series go. The Observer hears of a live stream's publisher leaving.
func (s *Server) unpublish(ctx context.Context, st *stream) {
	s.mu.Lock()
	wasLive := st.live.Swap(false)
	hold := wasLive && s.cfg.Grace > 0 && ctx.Err() == nil && s.streams[st.id] == st
	if hold {
		st.held, st.claimed = true, false
		st.holdGen++
		gen := st.holdGen
		st.holdTimer = time.AfterFunc(s.cfg.Grace, func() { s.endHold(st, gen) })
	}
	s.mu.Unlock()
	var stats StreamStats
	if hold {
		stats = st.pause()
	} else {
		stats = s.endStream(st)
	}
	if !wasLive {
		return
	}
	s.m.publishers.Dec()
	if s.cfg.Observer != nil {
		s.cfg.Observer.Unpublished(st.id, stats)
	}
}

// endStream ends st: it leaves the streams, its players drain and close, its metric series
// go. It returns the stream's final stats.
func (s *Server) endStream(st *stream) StreamStats {
	s.mu.Lock()
	if s.streams[st.id] == st {
		delete(s.streams, st.id)
	}
	st.held, st.claimed = false, false
	if st.holdTimer != nil {
		st.holdTimer.Stop()
	}
	s.mu.Unlock()
	stats := st.end()
	if !stats.Started.IsZero() {
		s.m.forget(st.id) // the stream went live
	}
	return stats
}

// endHold ends held stream st when its grace (hold gen) is over and no publisher claimed it.
func (s *Server) endHold(st *stream, gen uint64) {
	s.mu.Lock()
	over := st.held && !st.claimed && st.holdGen == gen
	s.mu.Unlock()
	if !over {
		return
	}
	s.log.Info("rtmp stream ended: its publisher did not come back within the grace", "stream", st.id, "grace", s.cfg.Grace)
	s.endStream(st)
}

// endHeld ends every held stream (when the server stops).
func (s *Server) endHeld() {
	s.mu.Lock()
	var held []*stream
	for _, st := range s.streams {
		if st.held {
			held = append(held, st)
		}
	}
	s.mu.Unlock()
	for _, st := range held {
		s.endStream(st)
	}
}
