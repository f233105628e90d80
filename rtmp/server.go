package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/internal/backoff"
)

// Authorizer decides who may publish and play. The master implements it with its streams.
type Authorizer interface {
	// AuthorizePublish is asked when a client publishes to rtmp://host/<app>/<key>. It returns
	// the stream's ID (the name the stream is relayed under) and the authorizer's name for
	// this publish ("" none; the Observer gets it in StreamInfo.Session), or an error that
	// refuses it.
	AuthorizePublish(ctx context.Context, app, key string) (streamID, session string, err error)
	// AuthorizePlay is asked when a client plays rtmp://host/<app>/<name>?token=<token>.
	AuthorizePlay(ctx context.Context, app, name, token string) error
}

// Observer hears about streams starting and stopping. Its methods are called from the
// publisher's goroutine and must return quickly.
type Observer interface {
	Published(streamID string, info StreamInfo)     // a publisher started; tracks known
	Unpublished(streamID string, stats StreamStats) // the publisher left or was cut off
}

// StreamInfo describes a stream's input: its first video and first audio track, named as
// libav names codecs (h264, hevc, aac, opus...). FPS is the SPS's, 0 when it has none (Live
// then reports the measured rate). Remote is the publisher's address. Continued is set when
// the publisher came back within Config.Grace with matching tracks: the players of the
// stream's last publisher go on with its data, in one session with increasing timestamps.
type StreamInfo struct {
	VideoCodec string
	Width      int
	Height     int
	FPS        float64
	AudioCodec string
	SampleRate int
	Channels   int
	Remote     string
	Continued  bool
	// Session is what the Authorizer named this publish (a standalone ingest's session,
	// issued by the master with its authorisation).
	Session string
}

// StreamStats counts a stream's input. Bytes are those received from the publisher,
// protocol included; Dropped counts units that slow players lost. BitrateBPS is the rate over
// the last second or so while the stream is live (Live), and the mean over its whole life once
// it ended (Unpublished).
type StreamStats struct {
	Bytes       int64
	VideoFrames int64
	AudioFrames int64
	Dropped     int64
	Started     time.Time
	Ended       time.Time
	BitrateBPS  float64
}

// Config configures a Server. Zero values take the defaults named.
type Config struct {
	// Listen is the address ListenAndServe binds; default ":1935".
	Listen string
	// TLS, when set, serves RTMPS: every accepted connection is TLS.
	TLS *tls.Config
	// Auth decides who may publish and play. Required.
	Auth Authorizer
	// Observer hears about streams starting and stopping; may be nil.
	Observer Observer
	// Logger receives connection events; default slog.Default(). Stream keys and play
	// tokens are never logged.
	Logger *slog.Logger
	// Registerer, when set, gets the ffrtmp_rtmp_* metrics.
	Registerer prometheus.Registerer

	// MaxConns bounds the connections open at once, in any state; default 256. Connections
	// over it are closed at once and counted as refused (limit).
	MaxConns int
	// HandshakeTimeout bounds the RTMP handshake, the connect and publish/play commands, the
	// authorization and the publisher's track setup, so a silent client cannot hold a slot;
	// default 10 s.
	HandshakeTimeout time.Duration
	// ReadTimeout cuts off a publisher that sends nothing for this long; default 10 s.
	ReadTimeout time.Duration
	// WriteTimeout disconnects a player whose socket accepts nothing for this long; default 10 s.
	WriteTimeout time.Duration
	// PlayerQueue is each player's queue, in media messages (frames); default 1024. A player
	// that falls further behind is disconnected. The cached GOP holds at most half of it. It
	// must hold a burst of about 2 s of frames: gortmplib reads a publisher's first 2 s of
	// media to find its tracks, and that arrives at once when the stream goes live.
	PlayerQueue int
	// GOPCacheBytes bounds the cached current GOP that lets a player start at once, from the
	// last keyframe; default 8 MiB. Negative disables the cache: players wait for the next
	// keyframe.
	GOPCacheBytes int
	// PlayWait is how long a player asking for a stream that is not live waits for it to
	// start before it is refused; default 5 s. Negative refuses at once.
	PlayWait time.Duration
	// Grace is how long a stream whose publisher left keeps its players: a publisher of the
	// same stream who comes back within it, with the same tracks, continues their session
	// (after a stall, from its first keyframe, its timestamps following the last ones).
	// Past it, or with other tracks, the players end. 0: players end when the publisher
	// leaves. A player's read timeout must be longer than Grace.
	Grace time.Duration
}

// Server is the RTMP ingest and relay server. Create it with NewServer.
type Server struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	slots chan struct{}

	mu      sync.Mutex
	addr    net.Addr
	serving bool
	streams map[string]*stream // by stream ID, live or setting up
	conns   map[*conn]struct{}
	waiting map[string][]waiter // players waiting for a stream to go live
}

// waiter is a player waiting for its stream; it gets the stream, already joined, on ch.
type waiter struct {
	p  *player
	ch chan *stream
}

// NewServer checks cfg, fills in its defaults and registers the metrics.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Auth == nil {
		return nil, errors.New("rtmp: Config.Auth is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = ":1935"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxConns < 0 || cfg.PlayerQueue < 0 || cfg.HandshakeTimeout < 0 || cfg.ReadTimeout < 0 || cfg.WriteTimeout < 0 || cfg.Grace < 0 {
		return nil, errors.New("rtmp: MaxConns, PlayerQueue, Grace and the timeouts must not be negative")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.HandshakeTimeout, 10*time.Second)
	def(&cfg.ReadTimeout, 10*time.Second)
	def(&cfg.WriteTimeout, 10*time.Second)
	def(&cfg.PlayWait, 5*time.Second)
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 256
	}
	if cfg.PlayerQueue == 0 {
		cfg.PlayerQueue = 1024
	}
	if cfg.PlayerQueue < 2 {
		return nil, errors.New("rtmp: PlayerQueue must be at least 2")
	}
	if cfg.GOPCacheBytes == 0 {
		cfg.GOPCacheBytes = 8 << 20
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg: cfg, log: cfg.Logger, m: m,
		slots:   make(chan struct{}, cfg.MaxConns),
		streams: map[string]*stream{},
		conns:   map[*conn]struct{}{},
		waiting: map[string][]waiter{},
	}, nil
}

// ListenAndServe listens on Config.Listen and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("rtmp: listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Addr is the address the server listens on, nil before Serve has bound it.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Live reports a stream that is live now: its info and its stats so far.
func (s *Server) Live(streamID string) (StreamInfo, StreamStats, bool) {
	s.mu.Lock()
	st := s.streams[streamID]
	s.mu.Unlock()
	if st == nil || !st.live.Load() {
		return StreamInfo{}, StreamStats{}, false
	}
	info, stats := st.snapshot()
	return info, stats, true
}

// LiveStreams lists the IDs of the streams live now (not those held in their grace), sorted.
func (s *Server) LiveStreams() []string {
	s.mu.Lock()
	ids := make([]string, 0, len(s.streams))
	for id, st := range s.streams {
		if st.live.Load() {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// Serve accepts connections on ln (wrapped in TLS when Config.TLS is set) until ctx ends,
// then closes ln and every connection, waits for their goroutines and returns nil. It
// returns an error when ln fails. A Server serves once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		ln.Close()
		return errors.New("rtmp: Serve called twice")
	}
	s.serving = true
	s.addr = ln.Addr()
	s.mu.Unlock()
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	var serveErr error
	timeouts := 0
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: wait, as net/http does.
				timeouts++
				time.Sleep(backoff.Policy{Base: 5 * time.Millisecond, Max: time.Second}.Delay(timeouts))
				continue
			}
			serveErr = fmt.Errorf("rtmp: accept: %w", err)
			break
		}
		timeouts = 0
		select {
		case s.slots <- struct{}{}:
		default:
			s.m.refused.WithLabelValues(ReasonLimit).Inc()
			s.log.Warn("rtmp connection refused", "remote", nc.RemoteAddr().String(), "reason", ReasonLimit,
				"max_conns", s.cfg.MaxConns)
			nc.Close()
			continue
		}
		c := newConn(nc)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.slots }()
			s.handle(ctx, c)
		}()
	}
	cancel()
	ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.kill()
	}
	s.mu.Unlock()
	wg.Wait()
	s.endHeld()
	return serveErr
}

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

	c.nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	sc := &gortmplib.ServerConn{RW: c.nc}
	if err := sc.Initialize(); err != nil {
		s.protocolError(c, "handshake", err)
		return
	}
	if err := sc.AcceptConn(); err != nil {
		s.protocolError(c, "connect", err)
		return
	}
	app, name, err := splitPath(sc.URL)
	if err != nil {
		s.protocolError(c, "path", err)
		sc.RejectAction()
		return
	}
	if sc.Publish {
		s.publish(ctx, c, sc, app, name)
		return
	}
	s.play(ctx, c, sc, app, name, sc.URL.Query().Get("token"))
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

	// What a player sends after play (acknowledgements, pings) is not needed; reading it
	// notices the player leaving and keeps its socket from filling.
	c.nc.SetReadDeadline(time.Time{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 4096)
		for {
			if _, err := c.nc.Read(buf); err != nil {
				c.kill()
				return
			}
		}
	}()
	defer func() { c.kill(); <-readerDone }()

	slow, err = s.writeUnits(c, w, p, st.tracks, readerDone)
	if slow || p.gone.Load() {
		s.log.Warn("rtmp player disconnected: too slow", "remote", c.remote, "stream", name,
			"queue", s.cfg.PlayerQueue, "write_timeout", s.cfg.WriteTimeout)
		return
	}
	if err == nil {
		// The stream ended. Closing at once could reset the connection (an acknowledgement
		// unread) and cost the player the tail it has not read yet: shut the writing side and
		// give the player a moment to read to the end and hang up.
		c.closeWrite()
		linger := time.NewTimer(2 * time.Second)
		select {
		case <-readerDone:
		case <-linger.C:
		}
		linger.Stop()
	}
	s.log.Info("rtmp play ended", "remote", c.remote, "stream", name, "reason", err)
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
