package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	if err := s.start(ln); err != nil {
		ln.Close()
		return err
	}
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
		c, ok := s.admit(nc)
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.slots }()
			s.handle(ctx, c)
		}()
	}
	cancel()
	ln.Close()
	s.killConns()
	wg.Wait()
	s.endHeld()
	return serveErr
}

// start marks the server serving on ln; a Server serves once.
func (s *Server) start(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		return errors.New("rtmp: Serve called twice")
	}
	s.serving = true
	s.addr = ln.Addr()
	return nil
}

// admit takes one of MaxConns slots for a new connection nc (the caller gives it back when
// the connection ends) and tracks it; with none free it closes nc, counts it refused and
// returns false.
func (s *Server) admit(nc net.Conn) (*conn, bool) {
	select {
	case s.slots <- struct{}{}:
	default:
		s.m.refused.WithLabelValues(ReasonLimit).Inc()
		s.log.Warn("rtmp connection refused", "remote", nc.RemoteAddr().String(), "reason", ReasonLimit,
			"max_conns", s.cfg.MaxConns)
		nc.Close()
		return nil, false
	}
	c := newConn(nc)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	return c, true
}

// killConns cuts every open connection off (when the server stops).
func (s *Server) killConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.kill()
	}
}
