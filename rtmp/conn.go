package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

// conn is one client connection.
type conn struct {
	nc     net.Conn // what RTMP runs on: a *tls.Conn under RTMPS
	raw    net.Conn // the TCP connection under it, closed to cut the peer off at once
	remote string
	once   sync.Once
}

func newConn(nc net.Conn) *conn {
	c := &conn{nc: nc, raw: nc, remote: nc.RemoteAddr().String()}
	if tc, ok := nc.(*tls.Conn); ok {
		c.raw = tc.NetConn()
	}
	return c
}

// closeWrite shuts the writing side: the peer reads to the end, then EOF.
func (c *conn) closeWrite() {
	switch nc := c.nc.(type) {
	case *tls.Conn:
		nc.CloseWrite()
	case *net.TCPConn:
		nc.CloseWrite()
	}
}

// kill closes the connection without waiting on the peer (no TLS close_notify).
func (c *conn) kill() { c.once.Do(func() { c.raw.Close() }) }

// handle runs one connection from the handshake to its end.
func (s *Server) handle(ctx context.Context, c *conn) {
	s.m.connections.Inc()
	defer s.m.connections.Dec()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.nc.Close()
		c.kill()
	}()
	defer func() {
		// gortmplib parses what peers send; a fault there must cost this connection only.
		if r := recover(); r != nil {
			s.log.Error("rtmp connection failed", "remote", c.remote, "panic", fmt.Sprint(r))
		}
	}()
	if ctx.Err() != nil {
		return
	}

	sc, app, name, ok := s.accept(c)
	if !ok {
		return
	}
	if sc.Publish {
		s.publish(ctx, c, sc, app, name)
		return
	}
	s.play(ctx, c, sc, app, name, sc.URL.Query().Get("token"))
}

// accept runs the RTMP handshake and the connect command, under HandshakeTimeout, and reads
// the <app>/<name> the client publishes to or plays; on a failure it counts a protocol error
// and returns false.
func (s *Server) accept(c *conn) (sc *gortmplib.ServerConn, app, name string, ok bool) {
	c.nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	sc = &gortmplib.ServerConn{RW: c.nc}
	if err := sc.Initialize(); err != nil {
		s.protocolError(c, "handshake", err)
		return nil, "", "", false
	}
	if err := sc.AcceptConn(); err != nil {
		s.protocolError(c, "connect", err)
		return nil, "", "", false
	}
	app, name, err := splitPath(sc.URL)
	if err != nil {
		s.protocolError(c, "path", err)
		sc.RejectAction()
		return nil, "", "", false
	}
	return sc, app, name, true
}

// splitPath takes <app>/<name> from a publish or play URL.
func splitPath(u *url.URL) (app, name string, err error) {
	if u == nil {
		return "", "", errors.New("no URL")
	}
	app, name, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || app == "" || name == "" {
		return "", "", errors.New("the path is not /<app>/<name>")
	}
	return app, name, nil
}

func (s *Server) protocolError(c *conn, step string, err error) {
	s.m.refused.WithLabelValues(ReasonProtocol).Inc()
	s.log.Debug("rtmp connection dropped", "remote", c.remote, "step", step, "error", redact.Text(err.Error()))
}

// refuse answers a refused publish or play and counts it. The message must not hold the key
// or token: callers pass an Authorizer's error through redact.Secret, which strips the key
// it may have echoed.
func (s *Server) refuse(c *conn, sc *gortmplib.ServerConn, reason, app string, attrs ...any) {
	s.m.refused.WithLabelValues(reason).Inc()
	action := "play"
	if sc.Publish {
		action = "publish"
	}
	// Logged before the client hears it: whoever reads the log once the client gave up finds it.
	s.log.Warn("rtmp "+action+" refused", append([]any{"remote", c.remote, "app", app, "reason", reason}, attrs...)...)
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	sc.RejectAction()
}
