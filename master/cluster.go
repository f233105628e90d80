package master

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master/cluster"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/metrics"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// ClusterConfig makes a master one member of replicated masters.
type ClusterConfig struct {
	NodeID string         // --node-id
	Addr   string         // --cluster-addr, host:port the others dial
	Peers  []cluster.Peer // --cluster-peers, the members a new cluster starts with
	// Dir (--cluster-dir) holds the raft log and snapshots [the database's folder/raft].
	Dir string
	// CAFile, CertFile and KeyFile (--cluster-ca, --cluster-cert, --cluster-key): masters
	// talk to each other only with certificates signed by the cluster's CA, each checked
	// both ways. Cert and key default to the API's (--cert, --key).
	CAFile, CertFile, KeyFile string
	// Insecure (--insecure) allows a cluster without TLS beyond loopback.
	Insecure bool
	// APIURL is this member's API as the others reach it, to forward requests to it while
	// it leads [scheme://<--cluster-addr host>:<API port>].
	APIURL string

	// Timing (tests shorten it); zero takes raft's defaults.
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout time.Duration
	SnapshotThreshold, TrailingLogs                       uint64
	SnapshotInterval                                      time.Duration
}

// startCluster starts this member's raft and the follower's side of the API (its own
// routes and the forwarding to the leader). The farm's services start when it leads (lead).
func (m *Master) startCluster() error {
	cc := *m.cfg.Cluster
	if cc.Dir == "" {
		cc.Dir = filepath.Join(filepath.Dir(m.cfg.DB), "raft")
	}
	server, client, err := clusterTLS(cc)
	if err != nil {
		return err
	}
	m.peerTLS.Store(server)
	if cc.APIURL == "" {
		host, _, _ := net.SplitHostPort(cc.Addr)
		scheme := "http"
		if m.tls != nil {
			scheme = "https"
		}
		cc.APIURL = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(m.ln.Addr().(*net.TCPAddr).Port))
	}
	raftMetrics := m.metrics.Cluster(m.raftGauges)
	hooks := cluster.Hooks{LeaderChange: func(bool) { raftMetrics.LeaderChange() }, Commit: raftMetrics.Commit,
		Apply: raftMetrics.Apply, Snapshot: raftMetrics.Snapshot, Restore: raftMetrics.Restore}
	m.node, err = cluster.Start(cluster.Config{NodeID: cc.NodeID, Addr: cc.Addr, Peers: cc.Peers, Dir: cc.Dir,
		TLS: server, ClientTLS: client, APIURL: cc.APIURL, Logger: m.log, Hooks: hooks,
		HeartbeatTimeout: cc.HeartbeatTimeout, ElectionTimeout: cc.ElectionTimeout, LeaderLeaseTimeout: cc.LeaderLeaseTimeout,
		SnapshotThreshold: cc.SnapshotThreshold, TrailingLogs: cc.TrailingLogs, SnapshotInterval: cc.SnapshotInterval}, m.st)
	if err != nil {
		return err
	}
	m.termCtl = make(chan termControl)
	m.standby = httpapi.New(httpapi.Options{Keys: m.keys, Sessions: m.sessions, Limiter: m.limiter, Metrics: m.metrics, Logger: m.log,
		Backup: m.st.Backup, Ready: m.ready, Cluster: clusterAPI{m}, MaxBody: m.cfg.MaxBody, WriteTimeout: m.cfg.WriteTimeout})
	m.proxy = m.leaderProxy(client)
	m.node.HandleCalls(m.serveCall)
	if m.cfg.RTMPListen != "" {
		return m.startClusterIngest()
	}
	return nil
}

// raftGauges reads the member's replication state for a scrape; the leader also asks every
// member how far its database is behind (each within a second).
func (m *Master) raftGauges() metrics.RaftGauges {
	if m.node == nil {
		return metrics.RaftGauges{}
	}
	s := m.node.Stats()
	g := metrics.RaftGauges{Leader: s.Leader, Term: s.Term, LastIndex: s.LastIndex, CommitIndex: s.CommitIndex,
		Applied: s.AppliedIndex, LastContact: s.LastContact}
	if s.Leader {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		g.MemberLag = map[string]uint64{}
		for _, mb := range m.node.Status(ctx).Members {
			if mb.State != api.MemberUnreachable {
				g.MemberLag[mb.ID] = s.CommitIndex - min(s.CommitIndex, mb.AppliedIndex)
			}
		}
	}
	return g
}

// clusterTLS is the cluster port's TLS, both sides; nil, nil without TLS (loopback, or
// --insecure).
func clusterTLS(cc ClusterConfig) (server, client *tls.Config, err error) {
	if cc.CAFile == "" {
		if cc.CertFile != "" || cc.KeyFile != "" {
			return nil, nil, errors.New("--cluster-ca is required with a cluster certificate: masters accept only certificates its CA signed")
		}
		if !cc.Insecure && !onLoopback(cc.Addr) {
			return nil, nil, fmt.Errorf("--cluster-addr %s is beyond loopback: masters replicate the farm's whole state over it (jobs, node secrets' and stream keys' hashes), so it needs mutual TLS (--cluster-ca with --cert/--key or --cluster-cert/--cluster-key), or --insecure on a network you trust", cc.Addr)
		}
		return nil, nil, nil
	}
	if cc.CertFile == "" || cc.KeyFile == "" {
		return nil, nil, errors.New("--cluster-ca needs this master's certificate and key: --cert and --key, or --cluster-cert and --cluster-key")
	}
	server, err = tlsconf.Server(tlsconf.Options{CertFile: cc.CertFile, KeyFile: cc.KeyFile, CAFile: cc.CAFile, MTLS: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, fmt.Errorf("cluster TLS: %w", err)
	}
	server.NextProtos = nil
	client, err = tlsconf.Client(cc.CAFile, cc.CertFile, cc.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster TLS: %w", err)
	}
	return server, client, nil
}

// memberProxies are the cluster members' addresses, taken as trusted proxies: followers
// forward their clients' requests with X-Forwarded-For, and the leader's rate limit and
// connection cap must see those clients, not the member in between. The set follows the
// cluster's configuration (watchMembers), so a member added online is trusted at once.
type memberProxies struct {
	key      string // the members' sorted cluster addresses the prefixes were made from
	prefixes []netip.Prefix
}

// memberProxy reports whether a is a cluster member's address.
func (m *Master) memberProxy(a netip.Addr) bool {
	mp := m.members.Load()
	if mp == nil {
		return false
	}
	for _, p := range mp.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// setMemberProxies makes peers the trusted members, resolving host names only when the set
// of addresses changed.
func (m *Master) setMemberProxies(peers []cluster.Peer) {
	addrs := make([]string, 0, len(peers))
	for _, p := range peers {
		addrs = append(addrs, p.Addr)
	}
	slices.Sort(addrs)
	key := strings.Join(addrs, ",")
	if mp := m.members.Load(); mp != nil && mp.key == key {
		return
	}
	m.members.Store(&memberProxies{key: key, prefixes: peerPrefixes(peers)})
}

// watchMembers follows the cluster's configuration into the trusted member addresses until
// ctx ends.
func (m *Master) watchMembers(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// The configuration keeps the old set while raft cannot say (no leader, shutting
		// down): a member is not distrusted because of an election.
		if peers := m.node.Peers(); len(peers) > 0 {
			m.setMemberProxies(peers)
		}
	}
}

// peerPrefixes are the members' hosts, each a single-address prefix (host names resolved
// now).
func peerPrefixes(peers []cluster.Peer) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range peers {
		host, _, err := net.SplitHostPort(p.Addr)
		if err != nil {
			continue
		}
		addrs := []string{host}
		if _, err := netip.ParseAddr(host); err != nil {
			addrs, _ = net.LookupHost(host)
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			}
		}
	}
	return out
}

func onLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// lead runs the farm's services while this member is the leader: on winning an election it
// waits until every earlier entry is applied (a barrier), loads the services from the
// database and serves; on losing leadership it stops them. It returns when ctx ends.
func (m *Master) lead(ctx context.Context) {
	changes := m.node.Leadership()
	var stop func()
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	paused := false // a restore is replacing the state
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-changes:
			switch {
			case leader && stop == nil && !paused:
				stop = m.startTerm(ctx)
			case !leader && stop != nil:
				stop()
				stop = nil
			}
		case req := <-m.termCtl:
			paused = !req.run
			switch {
			case paused && stop != nil:
				stop()
				stop = nil
			case !paused && stop == nil && m.node.IsLeader():
				stop = m.startTerm(ctx)
			}
			close(req.done)
		}
	}
}

// startTerm starts the farm's services on the new leader and returns what stops them, or
// nil when this member could not start them (it stays a leader that forwards nothing and
// answers 503 until the next election).
func (m *Master) startTerm(ctx context.Context) func() {
	start := time.Now()
	for {
		bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := m.node.Barrier(bctx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil || !m.node.IsLeader() {
			return nil
		}
		m.log.Warn("new leader: waiting for the log to be applied", "err", err)
	}
	t, err := m.newTerm(ctx)
	if err != nil {
		m.log.Error("new leader: cannot load the farm from the database", "err", err)
		return nil
	}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := t.run(tctx); err != nil && tctx.Err() == nil {
			m.log.Error("farm services stopped", "err", err)
		}
	}()
	m.term.Store(t)
	m.log.Info("serving as the cluster's leader", "took", time.Since(start).Round(time.Millisecond))
	return func() {
		m.term.Store(nil)
		m.src.f.Store(nil)
		cancel()
		<-done
		m.lastEvent.Store(t.events.Last())
		m.log.Info("stopped the farm's services: another master leads")
	}
}

// clusterFront is a member's API: the leader serves everything itself; a follower answers
// its own health, readiness, cluster status and backup, and forwards the rest to the
// leader.
func (m *Master) clusterFront() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := m.term.Load(); t != nil {
			if r.Method == http.MethodGet && r.URL.Path != "/healthz" {
				// A leader cut off from the others (paused, partitioned) may not know yet that
				// another leads: before it answers a read, a majority confirms it still leads,
				// so no read returns a state older than an acknowledged write.
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				err := m.node.VerifyLeader(ctx)
				cancel()
				if err != nil {
					writeUnavailable(w, http.StatusServiceUnavailable, "this master could not confirm it still leads the cluster; retry")
					return
				}
			}
			t.api.ServeHTTP(w, r)
			return
		}
		if servedByEveryMember(r) {
			m.standby.ServeHTTP(w, r)
			return
		}
		m.proxy.ServeHTTP(w, r)
	})
}

// servedByEveryMember: the routes a follower answers from its own state.
func servedByEveryMember(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz", "/readyz", "/v1/backup", "/v1/openapi.json":
		return true
	case "/v1/cluster":
		return r.Method == http.MethodGet
	}
	return false
}

type leaderKey struct{}

// proxyBuffers lends the leader proxy its copy buffers: without a pool it allocates (and
// zeroes) 32 KiB per forwarded request.
type proxyBuffers struct{ p sync.Pool }

func (b *proxyBuffers) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *proxyBuffers) Put(buf []byte) { b.p.Put(&buf) }

// leaderProxy forwards a follower's requests to the leader's API, with the client's
// credentials as they came and its address in X-Forwarded-For (the leader trusts the
// members' addresses as proxies).
func (m *Master) leaderProxy(client *tls.Config) http.Handler {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     client,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     time.Minute,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(leaderKey{}).(*url.URL))
			pr.SetXForwarded()
			pr.Out.Header.Set(api.ForwardedByHeader, m.node.ID())
		},
		Transport:  tr,
		BufferPool: &proxyBuffers{},
		ErrorLog:   slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client left
			}
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				writeUnavailable(w, http.StatusServiceUnavailable, "the cluster's leader cannot be reached (a failover is under way); retry")
				return
			}
			m.log.Warn("forward to the leader failed", "method", r.Method, "path", r.URL.Path, "err", err)
			// The leader may have carried the request out before the connection broke.
			writeUnavailable(w, http.StatusBadGateway, "the cluster's leader did not answer (it may have carried the request out: retry with the same Idempotency-Key)")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		id, target, err := m.node.LeaderURL(ctx)
		cancel()
		if err == nil && id == m.node.ID() {
			err = errors.New("this master leads the cluster but its services are still starting")
		}
		if err != nil {
			writeUnavailable(w, http.StatusServiceUnavailable, err.Error()+"; retry")
			return
		}
		u, err := url.Parse(target)
		if err != nil {
			writeUnavailable(w, http.StatusServiceUnavailable, fmt.Sprintf("the leader's API URL %q: %v", target, err))
			return
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), leaderKey{}, u)))
	})
}

func writeUnavailable(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{Code: api.CodeUnavailable, Message: msg}})
}

// clusterAPI is the membership the API serves: the raft member, and a restore that also
// reloads the farm's services from the restored database.
type clusterAPI struct{ m *Master }

func (c clusterAPI) Status(ctx context.Context) api.ClusterStatus { return c.m.node.Status(ctx) }

func (c clusterAPI) Add(ctx context.Context, id, addr string) error {
	return c.m.node.Add(ctx, id, addr)
}

func (c clusterAPI) Remove(ctx context.Context, id string) error { return c.m.node.Remove(ctx, id) }

// Restore spools the backup beside the database, checks it whole (raft cannot take back a
// snapshot it failed to restore), hands it to raft and starts the farm's services again
// over the new state.
func (c clusterAPI) Restore(ctx context.Context, backup io.Reader, size int64) error {
	m := c.m
	f, err := os.CreateTemp(filepath.Dir(m.cfg.DB), filepath.Base(m.cfg.DB)+".upload-*")
	if err != nil {
		return fmt.Errorf("spool the backup: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, backup)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return fault.Invalid("body", "the backup is longer than its Content-Length")
		}
		return fmt.Errorf("spool the backup: %w", err)
	}
	if n != size {
		return fault.Invalid("body", "the backup ended after %d of %d bytes", n, size)
	}
	if err := store.CheckBackup(f.Name()); err != nil {
		return fault.Invalid("body", "not a backup this master can restore: %v", err)
	}
	// A backup of an older release is migrated here, once: raft gives every member the same
	// migrated snapshot.
	if from, err := store.MigrateBackup(f.Name(), m.log); err != nil {
		return fmt.Errorf("migrate the backup: %w", err)
	} else if from != store.SchemaVersion {
		m.log.Info("the backup was migrated before the restore", "from_schema", from, "to_schema", store.SchemaVersion)
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		n = fi.Size()
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// The farm's services stop first: what they hold in memory is the old state, and a write
	// of theirs must not land on the new one.
	if err := m.controlTerm(ctx, false); err != nil {
		return err
	}
	defer func() { _ = m.controlTerm(context.WithoutCancel(ctx), true) }()
	if err := m.node.Restore(ctx, f, n); err != nil {
		return err
	}
	m.log.Warn("the cluster's state was replaced with a backup", "bytes", n, "applied_index", m.st.AppliedIndex())
	return nil
}

// termControl asks the lead loop to stop the farm's services (run false) or to start them
// again (run true, if this member still leads).
type termControl struct {
	run  bool
	done chan struct{}
}

func (m *Master) controlTerm(ctx context.Context, run bool) error {
	req := termControl{run: run, done: make(chan struct{})}
	select {
	case m.termCtl <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
