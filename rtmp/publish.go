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
	actx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	id, session, err := s.cfg.Auth.AuthorizePublish(actx, app, key)
	cancel()
	if err == nil && id == "" {
		err = errors.New("the authorizer returned no stream ID")
	}
	if err != nil {
		s.refuse(c, sc, ReasonAuth, app, "error", redact.Secret(err.Error(), key))
		return
	}
	st := newStream(id, c.remote, s.m, s.cfg.PlayerQueue, s.cfg.GOPCacheBytes)
	// A stream whose publisher left within the grace is claimed: this publisher may continue it.
	s.mu.Lock()
	held := s.streams[id]
	dup := false
	switch {
	case held == nil:
		s.streams[id] = st
	case held.held && !held.claimed:
		held.claimed = true // its grace timer, if it fires now, leaves it alone
		held.holdTimer.Stop()
		st = held
	default:
		dup = true
	}
	s.mu.Unlock()
	if dup {
		s.refuse(c, sc, ReasonDuplicate, app, "stream", id)
		return
	}
	defer func() { s.unpublish(ctx, st) }()

	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		s.protocolError(c, "tracks", err)
		return
	}
	tracks := r.Tracks()
	if len(tracks) == 0 {
		s.protocolError(c, "tracks", errors.New("no tracks"))
		return
	}
	var (
		info      StreamInfo
		paramSets map[int][][]byte
	)
	if held != nil {
		if paramSets, err = compatibleTracks(held.tracks, tracks); err == nil {
			info = held.resume(tracks, c.remote)
			info.Continued = true
		} else {
			// Other tracks: the held players end, and the publisher starts a new stream.
			s.log.Info("rtmp publisher came back with other tracks: the stream's players end", "remote", c.remote,
				"stream", id, "reason", err)
			s.endStream(held)
			st = newStream(id, c.remote, s.m, s.cfg.PlayerQueue, s.cfg.GOPCacheBytes)
			s.mu.Lock()
			taken := s.streams[id] != nil
			if !taken {
				s.streams[id] = st
			}
			s.mu.Unlock()
			if taken {
				s.refuse(c, sc, ReasonDuplicate, app, "stream", id)
				return
			}
		}
	}
	if !info.Continued {
		st.setTracks(tracks)
		info = st.describeOnce
	}
	err = relayTracks(r, tracks, paramSets, func(u *unit) {
		for _, p := range st.publish(u) {
			p.kick()
		}
	})
	if err != nil {
		s.m.refused.WithLabelValues(ReasonProtocol).Inc()
		s.log.Warn("rtmp publish refused", "remote", c.remote, "stream", id, "reason", ReasonProtocol, "error", redact.Text(err.Error()))
		return
	}

	// Waiting players join before the first unit is read, so they miss nothing.
	s.mu.Lock()
	st.live.Store(true)
	st.held, st.claimed = false, false
	for _, w := range s.waiting[id] {
		if st.join(w.p) {
			w.ch <- st
		}
	}
	delete(s.waiting, id)
	s.mu.Unlock()
	s.m.publishers.Inc()
	s.log.Info("rtmp publish started", "remote", c.remote, "stream", id, "video", info.VideoCodec,
		"width", info.Width, "height", info.Height, "fps", info.FPS, "audio", info.AudioCodec, "continued", info.Continued)
	if s.cfg.Observer != nil {
		info.Session = session
		s.cfg.Observer.Published(id, info)
	}

	for {
		c.nc.SetDeadline(time.Now().Add(s.cfg.ReadTimeout))
		err := r.Read()
		st.received(int64(sc.BytesReceived()))
		if err != nil {
			level := slog.LevelInfo
			if ctx.Err() == nil && !isClosed(err) {
				level = slog.LevelWarn
			}
			s.log.Log(ctx, level, "rtmp publish ended", "remote", c.remote, "stream", id, "reason", err)
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
