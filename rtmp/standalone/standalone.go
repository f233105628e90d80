// Package standalone runs the RTMP ingest on its own machine, in front of a master it
// reaches over the REST API (`ffrtmp ingest`).
//
// It is the rtmp.Server the master runs in-process, with the master's answers and news
// carried over HTTP: each publish and play is authorized by the master (POST
// /v1/ingest/publish, /v1/ingest/play, with a short timeout: a master that does not answer
// refuses the publisher rather than holding it), and what happens to streams (published,
// continued, unpublished, and their counters every few seconds) is queued and delivered to
// POST /v1/ingest/events in order, retried with backoff while the master is away. The master
// starts each live job playing the stream from this ingest's relay URL.
package standalone

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/rtmp"
)

// Master is what the ingest needs of the master: *api.Client, with a key of the ingest role.
type Master interface {
	AuthorizePublish(ctx context.Context, req api.IngestPublishRequest) (*api.IngestPublishReply, error)
	AuthorizePlay(ctx context.Context, req api.IngestPlayRequest) error
	IngestEvent(ctx context.Context, ev api.IngestEvent) error
}

// Config configures an Ingest. Zero values take the defaults in brackets.
type Config struct {
	// Master answers who may publish and play, and hears of streams. Required.
	Master Master
	// Listen is the RTMP address [":1935"].
	Listen string
	// TLS, when set, serves RTMPS.
	TLS *tls.Config
	// RelayURL is where workers play streams from this ingest, rtmp(s)://host:port [the
	// scheme served, the listen address's host or else this machine's name, and the port
	// bound].
	RelayURL string
	// Grace is how long a stream whose publisher left keeps its players (the live job); it
	// must match the master's --live-grace [10s].
	Grace time.Duration
	// StatsInterval is how often every live stream's counters go to the master [5s]; the
	// master takes a stream whose ingest reported nothing for 30 s as left.
	StatsInterval time.Duration
	// AuthTimeout bounds one question to the master (a publish or a play) [5s].
	AuthTimeout time.Duration
	// EventTimeout bounds the delivery of one event [5s].
	EventTimeout time.Duration
	// StopTimeout is how long, once stopping, the queued events (the streams' unpublishes)
	// have to reach the master [5s].
	StopTimeout time.Duration
	// QueueSize bounds the events waiting for the master [4096].
	QueueSize int
	// MaxConns bounds the RTMP connections open at once [256].
	MaxConns int
	// Registerer, when set, gets the ffrtmp_rtmp_* and ffrtmp_ingest_* metrics.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Ingest is a standalone RTMP ingest, bound; Run serves it.
type Ingest struct {
	cfg   Config
	log   *slog.Logger
	ln    net.Listener
	srv   *rtmp.Server
	rep   *reporter
	m     *metrics
	relay string
	// serving is closed when Run starts serving the listener.
	serving chan struct{}
}

// New checks cfg and binds the RTMP listener.
func New(cfg Config) (*Ingest, error) {
	if cfg.Master == nil {
		return nil, errors.New("ingest: Config.Master is required")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Grace, 10*time.Second)
	def(&cfg.StatsInterval, 5*time.Second)
	def(&cfg.AuthTimeout, 5*time.Second)
	def(&cfg.EventTimeout, 5*time.Second)
	def(&cfg.StopTimeout, 5*time.Second)
	if cfg.QueueSize < 2 {
		cfg.QueueSize = 4096
	}
	if cfg.Listen == "" {
		cfg.Listen = ":1935"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("RTMP ingest: listen on %s: %w", cfg.Listen, err)
	}
	in := &Ingest{cfg: cfg, log: cfg.Logger, ln: ln, m: m, serving: make(chan struct{})}
	if cfg.RelayURL == "" {
		in.relay, err = defaultRelay(ln.Addr(), cfg.TLS != nil)
	} else {
		in.relay, err = api.CheckRTMPBase(cfg.RelayURL)
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("relay URL: %w", err)
	}
	in.rep = newReporter(cfg.Master, in.relay, cfg.QueueSize, cfg.EventTimeout, m, cfg.Logger.With("component", "events"))
	auth := &authorizer{master: cfg.Master, relay: in.relay, timeout: cfg.AuthTimeout, grace: cfg.Grace, m: m, log: cfg.Logger}
	in.srv, err = rtmp.NewServer(rtmp.Config{Listen: cfg.Listen, TLS: cfg.TLS, Auth: auth, Observer: in.rep,
		Logger: cfg.Logger.With("component", "rtmp"), Registerer: cfg.Registerer, Grace: cfg.Grace, MaxConns: cfg.MaxConns})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("RTMP ingest: %w", err)
	}
	return in, nil
}

// defaultRelay is rtmp(s)://<host>:<port> of addr: its IP when it is a specific one, else
// this machine's name.
func defaultRelay(addr net.Addr, rtmps bool) (string, error) {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("listening on %s, not TCP", addr)
	}
	host := ""
	if ta.IP != nil && !ta.IP.IsUnspecified() {
		host = ta.IP.String()
	} else if h, err := os.Hostname(); err == nil && h != "" {
		host = h
	} else {
		return "", errors.New("this machine has no name to give workers: set the relay URL")
	}
	scheme := "rtmp"
	if rtmps {
		scheme = "rtmps"
	}
	return api.CheckRTMPBase(scheme + "://" + net.JoinHostPort(host, strconv.Itoa(ta.Port)))
}

// Addr is the RTMP listener's address.
func (in *Ingest) Addr() net.Addr { return in.ln.Addr() }

// Relay is where workers play streams from this ingest, as the master is told.
func (in *Ingest) Relay() string { return in.relay }

// Run serves RTMP until ctx ends, then closes every connection, gives the queued events
// (the unpublishes of the streams it cut) StopTimeout to reach the master, and returns. It
// returns an error when the listener fails.
func (in *Ingest) Run(ctx context.Context) error {
	stop := make(chan struct{})
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		in.rep.run(stop)
	}()
	serveCtx, cancel := context.WithCancel(ctx)
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		in.tick(serveCtx)
	}()
	close(in.serving)
	err := in.srv.Serve(serveCtx, in.ln)
	cancel()
	<-ticked
	deadline := time.Now().Add(in.cfg.StopTimeout)
	close(stop)
	<-delivered
	if left := in.rep.drain(deadline); left > 0 {
		in.log.Warn("stopped with news the master did not take: it ends those streams when it hears nothing of them",
			"events", left, "timeout", in.cfg.StopTimeout)
	}
	return err
}

// tick sends every live stream's counters each StatsInterval until ctx ends.
func (in *Ingest) tick(ctx context.Context) {
	t := time.NewTicker(in.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, id := range in.srv.LiveStreams() {
			if _, st, ok := in.srv.Live(id); ok {
				in.rep.stats(id, st)
			}
		}
	}
}

// authorizer asks the master who may publish and play.
type authorizer struct {
	master  Master
	relay   string
	timeout time.Duration
	grace   time.Duration
	m       *metrics
	log     *slog.Logger

	graceWarned atomic.Bool
}

var _ rtmp.Authorizer = (*authorizer)(nil)

func (a *authorizer) AuthorizePublish(ctx context.Context, app, key string) (string, string, error) {
	if app != api.LiveApp {
		return "", "", fmt.Errorf("unknown application %q: publish to rtmp://host/%s/<stream key>", app, api.LiveApp)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	rep, err := a.master.AuthorizePublish(ctx, api.IngestPublishRequest{App: app, Key: key, Relay: a.relay})
	if err != nil {
		return "", "", a.masterError("publish", api.CodePublishRefused, err)
	}
	if g := time.Duration(rep.LiveGraceSeconds * float64(time.Second)); g > 0 && g != a.grace && !a.graceWarned.Swap(true) {
		a.log.Warn("this ingest's --grace differs from the master's --live-grace: a publisher who comes back may lose its job or hold it too long",
			"grace", a.grace, "master_live_grace", g)
	}
	return rep.StreamID, rep.Session, nil
}

func (a *authorizer) AuthorizePlay(ctx context.Context, app, name, token string) error {
	if app != api.LiveApp {
		return fmt.Errorf("unknown application %q", app)
	}
	if token == "" {
		return errors.New("no play token")
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	if err := a.master.AuthorizePlay(ctx, api.IngestPlayRequest{App: app, StreamID: name, Token: token}); err != nil {
		return a.masterError("play", api.CodePlayRefused, err)
	}
	return nil
}

// masterError is the refusal of a publish or play (action) the master did not admit: its
// refusal as it is, anything else (no answer, a key the master refuses) logged as the
// ingest's own trouble. The messages never hold the key or token, which travel in the body.
func (a *authorizer) masterError(action, refusedCode string, err error) error {
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code == refusedCode {
		return errors.New(ae.Message)
	}
	a.m.authErrors.WithLabelValues(action).Inc()
	switch {
	case errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403):
		a.log.Error("the master refuses this ingest's API key (it needs the ingest role): "+action+" refused", "err", err)
	case errors.As(err, &ae):
		a.log.Error("the master could not answer: "+action+" refused", "err", err)
	default:
		a.log.Error("the master did not answer: "+action+" refused", "err", err)
	}
	return fmt.Errorf("ask the master: %w", err)
}
