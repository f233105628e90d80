package rtmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

// waiter is a player waiting for its stream; it gets the stream, already joined, on ch.
type waiter struct {
	p  *player
	ch chan *stream
}

// play authorizes a player, waits up to PlayWait for the stream to be live, and relays it.
func (s *Server) play(ctx context.Context, c *conn, sc *gortmplib.ServerConn, app, name, token string) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	err := s.cfg.Auth.AuthorizePlay(actx, app, name, token)
	cancel()
	if err != nil {
		s.refuse(c, sc, ReasonAuth, app, "stream", name, "error", redact.Secret(err.Error(), token))
		return
	}
	p := &player{q: make(chan *unit, s.cfg.PlayerQueue), kick: c.kill}
	st := s.attach(ctx, name, p)
	if st == nil {
		s.refuse(c, sc, ReasonNotLive, app, "stream", name)
		return
	}
	var slow bool
	defer func() { st.leave(p, slow) }()

	w := &gortmplib.Writer{Conn: sc, Tracks: st.tracks}
	c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if err := w.Initialize(); err != nil {
		s.protocolError(c, "play", err)
		return
	}
	s.m.players.Inc()
	defer s.m.players.Dec()
	s.log.Info("rtmp play started", "remote", c.remote, "stream", name)

	readerDone := drainReads(c)
	defer func() { c.kill(); <-readerDone }()

	slow, err = s.writeUnits(c, w, p, st.tracks, readerDone)
	if slow || p.gone.Load() {
		s.log.Warn("rtmp player disconnected: too slow", "remote", c.remote, "stream", name,
			"queue", s.cfg.PlayerQueue, "write_timeout", s.cfg.WriteTimeout)
		return
	}
	if err == nil {
		linger(c, readerDone)
	}
	s.log.Info("rtmp play ended", "remote", c.remote, "stream", name, "reason", err)
}

// drainReads reads and drops what a player sends after play (acknowledgements, pings): they
// are not needed, and reading them notices the player leaving (the connection is then
// killed) and keeps its socket from filling. The returned channel closes when reading stops.
func drainReads(c *conn) <-chan struct{} {
	c.nc.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			if _, err := c.nc.Read(buf); err != nil {
				c.kill()
				return
			}
		}
	}()
	return done
}

// linger ends a player's connection after its stream ended. Closing at once could reset the
// connection (an acknowledgement unread) and cost the player the tail it has not read yet:
// shut the writing side and give the player a moment to read to the end and hang up
// (readerDone closes).
func linger(c *conn, readerDone <-chan struct{}) {
	c.closeWrite()
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-readerDone:
	case <-t.C:
	}
}

// writeUnits sends the player its queue (units of tracks, the ones w was set up with) until
// the queue closes (stream ended or player evicted), a write fails or the player leaves
// (gone closes: it matters while the stream is held and its queue idle); slow reports a
// write that timed out.
func (s *Server) writeUnits(c *conn, w *gortmplib.Writer, p *player, tracks []*gortmplib.Track, gone <-chan struct{}) (slow bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("relay: %v", r)
		}
	}()
	for {
		var u *unit
		select {
		case u = <-p.q:
		case <-gone:
			return false, errors.New("the player left")
		}
		if u == nil { // the queue closed
			return false, nil
		}
		if p.gone.Load() {
			return false, nil
		}
		c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if err := u.write(w, tracks); err != nil {
			var ne net.Error
			return errors.As(err, &ne) && ne.Timeout(), err
		}
	}
}

// attach joins p to stream id when it is live now or goes live within PlayWait, and returns
// the stream; nil when it did not.
func (s *Server) attach(ctx context.Context, id string, p *player) *stream {
	ch := make(chan *stream, 1)
	s.mu.Lock()
	if st := s.streams[id]; st != nil && (st.live.Load() || st.held) {
		s.mu.Unlock()
		if st.join(p) {
			return st
		}
		return nil
	}
	if s.cfg.PlayWait < 0 {
		s.mu.Unlock()
		return nil
	}
	// Bounded: each waiter holds one of MaxConns connections.
	s.waiting[id] = append(s.waiting[id], waiter{p, ch})
	s.mu.Unlock()

	timer := time.NewTimer(s.cfg.PlayWait)
	defer timer.Stop()
	select {
	case st := <-ch:
		return st
	case <-timer.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	ws := s.waiting[id]
	for i, w := range ws {
		if w.p == p {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(s.waiting, id)
	} else {
		s.waiting[id] = ws
	}
	s.mu.Unlock()
	select {
	case st := <-ch: // went live just as the wait ended
		return st
	default:
		return nil
	}
}
