// Package master assembles the farm's master: the bbolt store, the farm (state machine,
// scheduler, failure handling), the REST API with its keys, TLS and rate limit, webhooks,
// the RTMP ingest of live streams, Prometheus metrics and tracing. It links no C:
// CGO_ENABLED=0 builds it.
package master

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/backup"
	"github.com/ffrtmp/ffrtmp/master/cluster"
	"github.com/ffrtmp/ffrtmp/master/connlimit"
	"github.com/ffrtmp/ffrtmp/master/egress"
	"github.com/ffrtmp/ffrtmp/master/events"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/live"
	"github.com/ffrtmp/ffrtmp/master/metrics"
	"github.com/ffrtmp/ffrtmp/master/ratelimit"
	"github.com/ffrtmp/ffrtmp/master/store"
	"github.com/ffrtmp/ffrtmp/master/webhook"
	"github.com/ffrtmp/ffrtmp/rtmp"
	"github.com/ffrtmp/ffrtmp/rtmp/standalone"
)

// Config is everything the master is told at start. Zero values take the defaults the
// flags document.
type Config struct {
	Listen string // host to bind ("" = all interfaces)
	Port   int    // API port (0 picks a free one)
	// MetricsAddr is the /metrics listen address, "" for none; one without a host (":9090",
	// the command's default) binds the API's Listen host, so a master kept on loopback does
	// not show its metrics to the network.
	MetricsAddr string
	DB          string

	APIKeys  []auth.Entry // from --api-key / MASTER_API_KEY
	KeysFile string

	TLS tlsconf.Options

	RateLimit      float64 // requests per second per client IP; 0 disables
	RateBurst      int
	TrustedProxies []netip.Prefix
	MaxBody        int64
	// MaxConnsPerIP caps the API connections one client IP holds open (trusted proxies are
	// not capped); those over it are closed at once [128; negative: no cap].
	MaxConnsPerIP int
	// WriteTimeout bounds each write of a streamed answer (the backup) to a client that
	// stopped reading [30s].
	WriteTimeout time.Duration
	// SessionTTL is how long a console session lasts from its login [auth.DefaultSessionTTL].
	SessionTTL time.Duration
	// SessionClock is the console sessions' clock [time.Now]; tests move it.
	SessionClock func() time.Time

	WebhookSecret string // "" = generated once and kept next to the database
	// WebhookBackoff bounds the delay before a webhook's first retry; it doubles per attempt
	// (with full jitter). 0 takes the dispatcher's default (webhook.DefaultBaseBackoff).
	WebhookBackoff time.Duration
	// WebhookAllow lists ranges webhooks may go to although they are loopback, link-local,
	// private or otherwise special-purpose (--webhook-allow-cidr); public addresses need none.
	WebhookAllow []netip.Prefix
	// WebhookResolver resolves callback hosts, at submit and at delivery; nil is the system's.
	// Tests point names where they need with an egress.HostTable.
	WebhookResolver egress.Resolver

	Farm farm.Config

	// Backup makes the master take scheduled backups (--backup-dir); nil takes none. In a
	// cluster only the leader takes them.
	Backup *BackupConfig

	// Cluster makes this master one member of replicated masters (--node-id, --cluster-*);
	// nil is a single master.
	Cluster *ClusterConfig

	// RTMPListen is the RTMP ingest's address (":1935" in the command); "" runs no ingest.
	// It serves RTMPS when the API serves TLS, with the same certificate.
	RTMPListen string
	// RTMPHost is the host publishers are told to push to (a stream's ingest_url); "" uses
	// RTMPListen's host, or this machine's name when that is every interface. Never the
	// request's Host header, which any client can set.
	RTMPHost string
	// RTMPRelayHost is the host workers play live streams from (with the ingest's port); ""
	// is 127.0.0.1, for workers on the master's machine.
	RTMPRelayHost string
	// LiveGrace is how long a stream stays live after its publisher left; a reconnect within
	// it continues the same job [10s].
	LiveGrace time.Duration
	// IngestURL is the public address of standalone ingests (ffrtmp ingest) in front of the
	// master, rtmp(s)://host:port: streams' ingest_url points there, with or without
	// RTMPListen.
	IngestURL string

	Tracing         bool
	TracingEndpoint string
	ServiceName     string

	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// BackupConfig is the schedule of the master's own backups.
type BackupConfig struct {
	Dir      string        // --backup-dir
	Interval time.Duration // --backup-interval, at least backup.MinInterval
	Keep     int           // --backup-keep, 0: keep all
}

// Master is a started master. Run serves until its context ends.
type Master struct {
	cfg  Config
	log  *slog.Logger
	st   *store.Store
	keys *auth.Keyring
	// sessions are the console's logins; the keys accept their cookie.
	sessions *auth.Sessions
	metrics  *metrics.Metrics
	src      *farmSource
	// term is what serves the farm: for a single master, from New on; in a cluster, while
	// this member is the leader (nil otherwise).
	term      atomic.Pointer[term]
	callbacks egress.Policy
	secret    []byte // webhook signing secret
	limiter   func(http.Handler) http.Handler
	node      *cluster.Node // nil for a single master
	members   atomic.Pointer[memberProxies]
	standby   *httpapi.Server // a follower's own routes (readiness, cluster status, backup)
	proxy     http.Handler    // a follower's way to the leader
	termCtl   chan termControl
	srv       *http.Server
	ln        net.Listener
	mln       net.Listener
	rln       net.Listener // RTMP ingest
	rtmp      *rtmp.Server
	ingest    *standalone.Ingest // a cluster member's RTMP ingest
	tls       *tls.Config
	peerTLS   atomic.Pointer[tls.Config] // the cluster port's certificate, once started
	stopping  atomic.Bool
	// lastEvent is the last event ID of the terms before: the next term's event IDs start
	// above it (and above the clock), so they keep increasing on this master.
	lastEvent atomic.Uint64
	tracing   func(context.Context) error
	// servingCh is closed once Run serves; served is set just before (health.go).
	servingCh chan struct{}
	served    serving
	backups   *metrics.Backups // nil without Config.Backup
}

// New opens the database, loads the farm and binds the listeners. It returns an error a
// user can act on (no API key, a database held by another master, bad TLS files).
func New(ctx context.Context, cfg Config) (_ *Master, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.DB == "" {
		return nil, errors.New("no database: set --db")
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	m := &Master{cfg: cfg, log: cfg.Logger, servingCh: make(chan struct{})}
	if cfg.Cluster != nil {
		m.setMemberProxies(cfg.Cluster.Peers)
	}
	m.logFileLimit()
	defer func() {
		if err != nil {
			m.close()
		}
	}()

	if err := m.loadKeys(); err != nil {
		return nil, err
	}
	m.src = &farmSource{}
	if err := m.openStore(m.src); err != nil {
		return nil, err
	}
	m.sessions = auth.NewSessions(m.keys, m.st, auth.SessionOptions{TTL: cfg.SessionTTL, Secure: m.tls != nil,
		Now: cfg.SessionClock, OnEvent: m.metrics.Session, Logger: m.log})
	m.keys.Sessions = m.sessions
	if err := m.webhookPolicy(); err != nil {
		return nil, err
	}
	if err := m.checkBackups(); err != nil {
		return nil, err
	}
	if err := m.apiMiddleware(ctx); err != nil {
		return nil, err
	}
	if err := m.listen(); err != nil {
		return nil, err
	}
	if m.cfg.Cluster != nil {
		if err := m.startCluster(); err != nil {
			return nil, err
		}
		return m, nil
	}
	if err := m.listenIngest(); err != nil {
		return nil, err
	}
	t, err := m.newTerm(ctx)
	if err != nil {
		return nil, err
	}
	m.term.Store(t)
	if err := m.startRTMP(t.streams); err != nil {
		return nil, err
	}
	return m, nil
}

// loadKeys loads the API keys (at least one) and the TLS settings.
func (m *Master) loadKeys() (err error) {
	if m.keys, err = auth.NewKeyring(m.cfg.APIKeys, m.cfg.KeysFile); err != nil {
		return err
	}
	if m.keys.Len() == 0 {
		return errors.New("no API keys: set --api-key, MASTER_API_KEY or --keys-file (`ffrtmp-master hash-key` prints the hash a keys file holds)")
	}
	m.tls, err = tlsconf.Server(m.cfg.TLS, m.log)
	return err
}

// openStore opens the database, creating its folder, with the metrics that count its
// commits; the metrics' gauges read the farm through src once it is loaded.
func (m *Master) openStore(src *farmSource) (err error) {
	var storeRef atomic.Pointer[store.Store]
	m.metrics = metrics.New(src, metrics.Readings{
		DBSize: func() int64 {
			if s := storeRef.Load(); s != nil {
				return s.Size()
			}
			return 0
		},
		DBDir: filepath.Dir(m.cfg.DB),
		Certs: m.certExpiry,
	})
	if dir := filepath.Dir(m.cfg.DB); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create database folder: %w", err)
		}
	}
	opts := store.Options{OnCommit: m.metrics.Commit, Logger: m.log}
	if m.cfg.Cluster != nil {
		// Writes go through raft once the member has started (startCluster); before that
		// there is nobody to replicate to and nothing may write.
		opts.Replicate = func(ctx context.Context, writeSet []byte) error {
			if m.node == nil {
				return cluster.ErrNotLeader
			}
			return m.node.Replicate(ctx, writeSet)
		}
	}
	if m.st, err = store.Open(m.cfg.DB, opts); err != nil {
		return err
	}
	storeRef.Store(m.st)
	return nil
}

// webhookPolicy reads the webhook signing secret and sets the policy for the addresses
// callbacks may go to (the farm checks job callbacks with it, the dispatcher every
// connection).
func (m *Master) webhookPolicy() (err error) {
	if m.cfg.Cluster != nil && m.cfg.WebhookSecret == "" {
		return errors.New("a cluster needs --webhook-secret, the same on every master, so receivers verify webhooks whichever master sends them")
	}
	if m.secret, err = webhookSecret(m.cfg); err != nil {
		return err
	}
	m.callbacks = egress.Policy{Allow: m.cfg.WebhookAllow, Resolver: m.cfg.WebhookResolver}
	if len(m.cfg.WebhookAllow) > 0 {
		m.log.Info("webhooks may go to these ranges besides public addresses", "webhook_allow_cidr", m.cfg.WebhookAllow)
	}
	return nil
}

// term is the farm's services over the database: the job service, webhook deliveries, live
// streams and the REST API over them. A single master builds one at start; a cluster member
// builds one each time it becomes the leader, from the replicated database, and drops it
// when it stops being the leader.
type term struct {
	events  *events.Hub
	farm    *farm.Service
	hooks   *webhook.Dispatcher
	streams *live.Streams
	api     *httpapi.Server
	backups *backup.Scheduler // nil without Config.Backup
}

// newTerm loads the farm's services from the database.
func (m *Master) newTerm(ctx context.Context) (*term, error) {
	t := &term{events: events.New(events.Config{Start: max(uint64(time.Now().UnixMicro()), m.lastEvent.Load()+1)})}
	var err error
	t.hooks, err = webhook.New(m.st.Outbox(), webhook.Options{Secret: m.secret, Logger: m.log, OnAttempt: m.metrics.Webhook,
		BaseBackoff: m.cfg.WebhookBackoff, Egress: m.callbacks})
	if err != nil {
		return nil, err
	}
	fc := m.cfg.Farm
	fc.Callbacks = m.callbacks
	fc.Logger = m.log
	fc.Tenants = m.keys.Tenant
	fc.Hooks = farm.Hooks{Transition: m.metrics.Transition, Finished: m.metrics.Finished,
		LeaseWait: m.metrics.LeaseWait, Schedule: m.metrics.Schedule, Webhook: t.hooks.Notify,
		Job: t.events.Job, Node: t.events.Node, NodeRemoved: t.events.NodeRemoved}
	if t.farm, err = farm.New(ctx, m.st, fc); err != nil {
		return nil, err
	}
	lc := m.liveConfig()
	lc.OnChange, lc.OnDelete = t.events.Stream, t.events.StreamDeleted
	if t.streams, err = live.New(ctx, t.farm, m.st, lc); err != nil {
		return nil, err
	}
	opts := httpapi.Options{Farm: t.farm, Streams: t.streams, Events: t.events, Keys: m.keys, Sessions: m.sessions, Limiter: m.limiter, Metrics: m.metrics,
		Logger: m.log, Backup: m.st.Backup, Ready: m.ready, MaxBody: m.cfg.MaxBody, WriteTimeout: m.cfg.WriteTimeout, Tracing: m.cfg.Tracing}
	if m.node != nil {
		opts.Cluster = clusterAPI{m}
	}
	t.api = httpapi.New(opts)
	t.backups = m.backupScheduler()
	m.src.f.Store(t.farm)
	return t, nil
}

// run runs the term's background work (failure handling, deliveries, stream sessions)
// until ctx ends.
func (t *term) run(ctx context.Context) error {
	// The event streams end with the term: their clients reconnect to whoever serves next.
	defer t.events.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return t.farm.Run(gctx) })
	g.Go(func() error { return t.hooks.Run(gctx) })
	g.Go(func() error { return t.streams.Run(gctx) })
	if t.backups != nil {
		g.Go(func() error { return t.backups.Run(gctx) })
	}
	return g.Wait()
}

// apiMiddleware sets up the API's rate limit and tracing, shared by every term.
func (m *Master) apiMiddleware(ctx context.Context) (err error) {
	if m.cfg.RateLimit > 0 {
		l := ratelimit.New(m.cfg.RateLimit, m.cfg.RateBurst, ratelimit.Options{TrustedProxies: m.cfg.TrustedProxies, Trusted: m.memberProxy, OnLimited: m.metrics.RateLimited})
		m.limiter = l.Middleware
	}
	m.keys.OnDenied = m.metrics.AuthDenied
	m.tracing, err = setupTracing(ctx, m.cfg)
	return err
}

// listen binds the API's listener (its connections capped per client IP) and the metrics
// listener when one is configured.
func (m *Master) listen() (err error) {
	addr := net.JoinHostPort(m.cfg.Listen, fmt.Sprint(m.cfg.Port))
	if m.ln, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	m.ln = m.capConns(m.ln)
	if m.cfg.MetricsAddr != "" {
		maddr := DefaultHost(m.cfg.MetricsAddr, m.cfg.Listen)
		if m.mln, err = net.Listen("tcp", maddr); err != nil {
			return fmt.Errorf("metrics listen on %s: %w", maddr, err)
		}
	}
	return nil
}

// DefaultMaxConnsPerIP is Config.MaxConnsPerIP's default.
const DefaultMaxConnsPerIP = 128

// capConns caps ln's connections per client IP (Config.MaxConnsPerIP), trusted proxies
// excepted: they carry many clients' requests.
func (m *Master) capConns(ln net.Listener) net.Listener {
	if m.cfg.MaxConnsPerIP < 0 {
		return ln
	}
	return connlimit.Wrap(ln, m.cfg.MaxConnsPerIP, connlimit.Options{
		Exempt: func(a netip.Addr) bool {
			for _, p := range m.cfg.TrustedProxies {
				if p.Contains(a) {
					return true
				}
			}
			return m.memberProxy(a)
		},
		OnRefused: func(netip.Addr) { m.metrics.ConnRefused() },
		Logf: func(a netip.Addr, refused int64, max int) {
			m.log.Warn("refused API connections over the per-IP cap (--max-conns-per-ip); logged at most once a minute",
				"client", a.String(), "refused", refused, "max", max)
		},
	})
}

// DefaultHost is a side listener's address (metrics): addr, with host when addr names none
// (":9090"), so a farm told to listen on loopback does not open other ports to the network.
func DefaultHost(addr, host string) string {
	if h, port, err := net.SplitHostPort(addr); err == nil && h == "" && host != "" {
		return net.JoinHostPort(host, port)
	}
	return addr
}

// logFileLimit raises the open-file limit to its hard limit and says where it stands: each
// connection costs a descriptor, and a low limit lets a few clients starve the API.
func (m *Master) logFileLimit() {
	soft, hard, err := raiseFileLimit()
	switch {
	case err != nil && soft == 0:
		m.log.Debug("open file limit unknown", "err", err)
	case err != nil:
		m.log.Warn("could not raise the open file limit", "soft", soft, "hard", hard, "err", err)
	case soft < 4096:
		m.log.Warn("low open file limit: a few hundred connections exhaust it; raise it (systemd LimitNOFILE=, ulimit -n, docker --ulimit nofile=)",
			"limit", soft, "max_conns_per_ip", m.cfg.MaxConnsPerIP)
	default:
		m.log.Info("open file limit", "limit", soft)
	}
}

// ReloadKeys re-reads the API key file, as SIGHUP does: a removed or rotated key is refused
// from now on, its console sessions included. On an error the keys stay as they were.
func (m *Master) ReloadKeys() error { return m.keys.Reload() }

// Addr is the API's listen address.
func (m *Master) Addr() net.Addr { return m.ln.Addr() }

// MetricsAddr is the metrics listen address, or nil.
func (m *Master) MetricsAddr() net.Addr {
	if m.mln == nil {
		return nil
	}
	return m.mln.Addr()
}

// URL is the API's base URL as a local client reaches it.
func (m *Master) URL() string {
	scheme := "http"
	if m.tls != nil {
		scheme = "https"
	}
	a := m.ln.Addr().(*net.TCPAddr)
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, fmt.Sprint(a.Port)))
}

// Farm is the master's farm (for the all-in-one and tests); nil on a cluster member that is
// not the leader.
func (m *Master) Farm() *farm.Service {
	if t := m.term.Load(); t != nil {
		return t.farm
	}
	return nil
}

func (m *Master) ready() error {
	if m.stopping.Load() {
		return errors.New("shutting down")
	}
	if t := m.term.Load(); t != nil {
		return t.farm.Ready()
	}
	if m.node != nil {
		if !m.node.Member() {
			return errors.New("this master is not a member of the cluster (not added yet, or removed)")
		}
		switch id, _ := m.node.Leader(); id {
		case "":
			return errors.New("the cluster has no leader")
		case m.node.ID():
			// Elected, and loading the farm (or paused by a restore): it serves nothing
			// yet, and neither do the followers, which forward to it.
			return errors.New("this master leads the cluster but its services are still starting")
		}
		return nil
	}
	return errors.New("not started")
}

// Run serves the API (and metrics) until ctx ends, then shuts down: it stops taking
// requests, lets running ones finish within the shutdown timeout (lease long-polls are
// answered at once), stops the background work and closes the database.
func (m *Master) Run(ctx context.Context) error {
	defer m.close()
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	var handler http.Handler
	if m.node != nil {
		handler = m.clusterFront()
	} else {
		handler = m.term.Load().api
	}
	handler, cerr := withConsole(handler)
	if cerr != nil {
		return cerr
	}
	m.srv = &http.Server{
		Handler:           m.answerCutShort(handler),
		TLSConfig:         m.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	bg, bgCancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(bg)
	if m.node != nil {
		g.Go(func() error { m.lead(gctx); return nil })
		g.Go(func() error { m.watchMembers(gctx); return nil })
		if m.ingest != nil {
			g.Go(func() error {
				if err := m.ingest.Run(gctx); err != nil && gctx.Err() == nil {
					m.log.Error("RTMP ingest stopped: nobody can publish to this master until it restarts", "err", err)
				}
				return nil
			})
		}
	} else {
		t := m.term.Load()
		g.Go(func() error { return t.run(gctx) })
		g.Go(func() error { return m.serveIngest(gctx) })
	}
	// SIGHUP's default action ends the process: catch it before saying "listening", so an
	// operator's (or a script's) reload right after the start cannot kill the master.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g.Go(func() error { m.keys.ReloadOn(gctx, hup, m.log); return nil })
	var msrv *http.Server
	if m.mln != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.metrics.Handler())
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(m.mln) }()
	}
	serveErr := make(chan error, 1)
	go func() {
		var err error
		if m.tls != nil {
			err = m.srv.ServeTLS(m.ln, "", "")
		} else {
			err = m.srv.Serve(m.ln)
		}
		serveErr <- err
	}()
	if a := m.ln.Addr().(*net.TCPAddr); m.tls == nil && !a.IP.IsLoopback() {
		m.log.Warn("serving plain HTTP beyond loopback: API keys cross the network in clear text; use --tls or --cert/--key", "addr", a.String())
	}
	m.served = serving{handler: m.srv.Handler, store: m.st}
	close(m.servingCh)
	m.log.Info("master listening", "url", m.URL(), "tls", m.tls != nil, "mtls", m.cfg.TLS.MTLS,
		"metrics", addrString(m.MetricsAddr()), "rtmp", addrString(m.RTMPAddr()), "db", m.cfg.DB, "schema", store.SchemaVersion, "rate_limit", m.cfg.RateLimit)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("serve API: %w", err)
		}
	}
	m.stopping.Store(true)
	m.log.Info("master shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
	defer cancel()
	cancelBase() // long-polls and other waits end now
	if serr := m.srv.Shutdown(sctx); serr != nil {
		m.log.Warn("API shutdown", "err", serr)
	}
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	bgCancel()
	_ = g.Wait()
	if m.tracing != nil {
		_ = m.tracing(sctx)
	}
	return err
}

// answerCutShort answers 503 to a request that the shutdown ended before it wrote anything.
// A lease long-poll ends that way: the shutdown cancels its context, the handler cannot tell
// that from a client that went away and writes nothing, and net/http would then send an
// empty 200, which no client can read as a lease.
func (m *Master) answerCutShort(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &touchWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		if tw.touched || r.Context().Err() == nil || !m.stopping.Load() {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{Code: api.CodeUnavailable,
			Message: "the master is shutting down; retry later"}})
	})
}

// touchWriter records whether a handler wrote a header or body.
type touchWriter struct {
	http.ResponseWriter
	touched bool
}

func (w *touchWriter) WriteHeader(code int) {
	w.touched = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *touchWriter) Write(b []byte) (int, error) {
	w.touched = true
	return w.ResponseWriter.Write(b)
}

func (w *touchWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *Master) close() {
	if m.node != nil {
		if err := m.node.Close(); err != nil {
			m.log.Warn("leave the cluster", "err", err)
		}
	}
	if m.ln != nil {
		m.ln.Close()
	}
	if m.mln != nil {
		m.mln.Close()
	}
	if m.rln != nil {
		m.rln.Close()
	}
	if m.st != nil {
		if err := m.st.Close(); err != nil {
			m.log.Warn("close database", "err", err)
		}
		m.st = nil
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

// webhookSecret is the configured secret, or one generated at first start and kept in
// <db>.webhook-secret (mode 0600) so receivers can be given it.
func webhookSecret(cfg Config) ([]byte, error) {
	if cfg.WebhookSecret != "" {
		return []byte(cfg.WebhookSecret), nil
	}
	path := cfg.DB + ".webhook-secret"
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return []byte(s), nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read webhook secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write webhook secret: %w", err)
	}
	cfg.Logger.Info("generated a webhook signing secret", "file", path)
	return []byte(s), nil
}

// certExpiry is when the certificates this master serves expire: the API's (server) and the
// cluster port's (cluster), as they are now (both reload renewed files).
func (m *Master) certExpiry() map[string]time.Time {
	out := map[string]time.Time{}
	if t, ok := tlsconf.NotAfter(m.tls); ok {
		out["server"] = t
	}
	if t, ok := tlsconf.NotAfter(m.peerTLS.Load()); ok {
		out["cluster"] = t
	}
	return out
}

// farmSource feeds the metrics gauges once the farm exists.
type farmSource struct{ f atomic.Pointer[farm.Service] }

func (s *farmSource) Counts() map[api.Status]int {
	if f := s.f.Load(); f != nil {
		return f.Counts()
	}
	return nil
}

func (s *farmSource) NodeCounts() map[api.NodeStatus]int {
	if f := s.f.Load(); f != nil {
		return f.NodeCounts()
	}
	return nil
}

func (s *farmSource) QueueDepth() map[string]int {
	if f := s.f.Load(); f != nil {
		return f.QueueDepth()
	}
	return nil
}

func (s *farmSource) QueueOldest() map[string]time.Time {
	if f := s.f.Load(); f != nil {
		return f.QueueOldest()
	}
	return nil
}

func (s *farmSource) Heartbeats() map[string]time.Time {
	if f := s.f.Load(); f != nil {
		return f.Heartbeats()
	}
	return nil
}
