// Package cluster replicates the master's database among several masters with
// hashicorp/raft (the consensus library of Nomad, Consul and Vault), its log and stable
// store in raft-boltdb. We never write a consensus protocol of our own.
//
// # What is replicated
//
// The store's write transactions, as write sets: the leader runs a write as a single master
// does, records every key it puts or deletes, rolls its own transaction back and hands the
// recorded set to Replicate. Raft commits it on a majority (each member's log fsynced), and
// every member, the leader included, applies it through the store's ApplyLogs, which writes
// the raft index in the same bbolt transaction. So there is one code path for every state
// change (the store's), a log entry is plain data that every member applies identically
// whatever code produced it, and a member that restarts skips the entries its database
// already holds and applies the rest. Commands (submit, lease, …) replayed by an FSM would
// have been the other choice: smaller entries, but every state change written twice, once as
// a command and once as its effect, and determinism to guard in each.
//
// # Members
//
// Members talk over one TCP port (--cluster-addr) with mutual TLS: each must present a
// certificate signed by the cluster's CA. The port carries raft's own protocol and a status
// call that tells a member's API URL, state and progress, which is how a follower finds the
// leader's API to forward requests to, and how GET /v1/cluster reports every member.
//
// Only the leader serves the farm (scheduler, leases, webhooks, maintenance); package
// master starts those services when this member wins an election (after a barrier, so they
// load everything committed before) and stops them when it loses leadership.
package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// ErrNotLeader is returned by Replicate (and what waits on the leader) on a member that is
// not the leader, or that lost leadership before the write was committed. A write answered
// with it may still commit (the new leader may hold the entry): clients retry with the same
// idempotency key.
var ErrNotLeader error = &fault.UnavailableError{Msg: "this master is not the cluster's leader (the leader changed)"}

// Peer is one member as --cluster-peers names it.
type Peer struct {
	ID   string
	Addr string
}

// ParsePeers parses "m1=10.0.0.1:7946,m2=10.0.0.2:7946".
func ParsePeers(s string) ([]Peer, error) {
	var out []Peer
	seenID, seenAddr := map[string]bool{}, map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("--cluster-peers: %q is not ID=HOST:PORT", part)
		}
		if err := ValidID(id); err != nil {
			return nil, fmt.Errorf("--cluster-peers: %w", err)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--cluster-peers: member %s: address %q: %w", id, addr, err)
		}
		if seenID[id] {
			return nil, fmt.Errorf("--cluster-peers: member %s is named twice", id)
		}
		if seenAddr[addr] {
			return nil, fmt.Errorf("--cluster-peers: address %s is given twice", addr)
		}
		seenID[id], seenAddr[addr] = true, true
		out = append(out, Peer{ID: id, Addr: addr})
	}
	return out, nil
}

// ValidID checks a member ID: 1 to 64 letters, digits, '.', '_' or '-'.
func ValidID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("member ID %q: want 1 to 64 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("member ID %q: only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// Config is a member's setup.
type Config struct {
	// NodeID (--node-id) names this member; it never changes for the life of its data.
	NodeID string
	// Addr (--cluster-addr) is where this member listens for the others and how they reach
	// it: host:port, the host an address the others can dial.
	Addr string
	// Peers (--cluster-peers) are the members a new cluster starts with. A member with no
	// raft state bootstraps the cluster with them (every member given the same list agrees);
	// one with state ignores them. A member started without peers waits to be added.
	Peers []Peer
	// Dir (--cluster-dir) holds the raft log (raft.db) and snapshots.
	Dir string
	// TLS is the server side of the cluster port (client certificates required); ClientTLS
	// what a member dials the others with. Both nil: plain TCP (tests and --insecure only).
	TLS, ClientTLS *tls.Config
	// APIURL is this member's REST API, told to the others so they can forward to it.
	APIURL string

	// Timing; zero takes raft's defaults (1 s heartbeat and election timeouts).
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout time.Duration
	// SnapshotThreshold is how many new entries make a snapshot [8192]; TrailingLogs how
	// many entries a snapshot leaves in the log for slow followers [10240].
	SnapshotThreshold, TrailingLogs uint64
	// SnapshotInterval is how often a member checks whether to snapshot [2m].
	SnapshotInterval time.Duration
	// ApplyTimeout bounds a Replicate waiting to be queued [10s].
	ApplyTimeout time.Duration

	Logger *slog.Logger
	Hooks  Hooks
}

// Hooks receive the member's measurements (for metrics). Any may be nil.
type Hooks struct {
	LeaderChange func(leader bool)
	// Commit is a Replicate's time: committed on a majority and applied here.
	Commit func(d time.Duration)
	// Apply is one database transaction of committed entries.
	Apply func(d time.Duration, entries int)
	// Snapshot is a snapshot written, Restore a database replaced by the leader's.
	Snapshot func(bytes int64)
	Restore  func()
}

// Store is what the cluster replicates: the master's database.
type Store interface {
	ApplyLogs(entries []store.LogEntry) error
	AppliedIndex() uint64
	Snapshot() (*store.Snapshot, error)
	RestoreAt(r io.Reader, index uint64) error
	Empty() (bool, error)
}

// Node is this member of the cluster.
type Node struct {
	cfg   Config
	log   *slog.Logger
	raft  *raft.Raft
	logs  *raftboltdb.BoltStore
	trans *raft.NetworkTransport
	layer *streamLayer
	st    Store
	fsm   *fsm

	notify chan bool // raft's leadership notifications
	mu     sync.Mutex
	subs   []chan bool
	leader bool

	urls sync.Map // leader ID → API URL (from its status)

	closeOnce sync.Once
	closed    chan struct{}
}

// Start opens the raft log under cfg.Dir, binds cfg.Addr and joins (or bootstraps) the
// cluster. The FSM is st.
func Start(cfg Config, st Store) (_ *Node, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := ValidID(cfg.NodeID); err != nil {
		return nil, fmt.Errorf("--node-id: %w", err)
	}
	if cfg.ApplyTimeout == 0 {
		cfg.ApplyTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster folder: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("member", cfg.NodeID), st: st, notify: make(chan bool, 16), closed: make(chan struct{})}
	defer func() {
		if err != nil {
			n.closeResources()
		}
	}()
	hl := newHCLogger(n.log)
	n.layer, err = listen(cfg.Addr, cfg.TLS, cfg.ClientTLS, n.status, n.log)
	if err != nil {
		return nil, err
	}
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: n.layer, MaxPool: 4, Timeout: 10 * time.Second, Logger: hl,
	})
	// The log's freelist is not written at every commit (bbolt rebuilds it at open): a log
	// that raft appends to and trims would otherwise rewrite a growing freelist per entry.
	n.logs, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db"),
		BoltOptions: &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}})
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", filepath.Join(cfg.Dir, "raft.db"), err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hl)
	if err != nil {
		return nil, fmt.Errorf("raft snapshots: %w", err)
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hl
	rc.NotifyCh = n.notify
	rc.BatchApplyCh = true
	rc.NoLegacyTelemetry = true // raft's metrics go nowhere: emit each once, not twice
	// The database is the FSM's state and survives restarts on its own: raft must not
	// replace it with the last snapshot at start; ApplyLogs skips what it already holds.
	rc.NoSnapshotRestoreOnStart = true
	if cfg.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	}
	if cfg.ElectionTimeout > 0 {
		rc.ElectionTimeout = cfg.ElectionTimeout
	}
	if cfg.LeaderLeaseTimeout > 0 {
		rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	}
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("cluster timing: %w", err)
	}
	hasState, err := raft.HasExistingState(n.logs, n.logs, snaps)
	if err != nil {
		return nil, fmt.Errorf("read raft state: %w", err)
	}
	if !hasState {
		// Every member applies the same write sets, so every member must start from the same
		// state: nothing. A database with jobs would diverge from the others at once.
		if empty, err := st.Empty(); err != nil {
			return nil, fmt.Errorf("read the database: %w", err)
		} else if !empty {
			return nil, errors.New("this database holds a farm's state but this member has no cluster state: a new member must start with an empty database (it gets the farm's state from the cluster); to bring a single master's database into a cluster, start the cluster empty and load the database with `ffrtmp cluster restore BACKUP`")
		}
		if len(cfg.Peers) > 0 {
			if err := checkBootstrap(cfg); err != nil {
				return nil, err
			}
		}
	}
	cache, err := raft.NewLogCache(512, n.logs)
	if err != nil {
		return nil, fmt.Errorf("raft log cache: %w", err)
	}
	machine := &fsm{st: st, log: n.log, hooks: cfg.Hooks, snaps: snaps}
	if hasState {
		if err := n.recover(rc, machine, cache, snaps); err != nil {
			return nil, err
		}
	}
	n.raft, err = raft.NewRaft(rc, machine, cache, n.logs, snaps, n.trans)
	if err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	machine.raft.Store(n.raft)
	n.fsm = machine
	switch {
	case hasState:
		n.log.Info("cluster member rejoining", "addr", cfg.Addr, "applied_index", st.AppliedIndex())
	case len(cfg.Peers) > 0:
		var servers []raft.Server
		for _, p := range cfg.Peers {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
		if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("bootstrap cluster: %w", err)
		}
		n.log.Info("cluster bootstrapped", "addr", cfg.Addr, "members", len(servers))
	default:
		n.log.Info("cluster member waiting to be added (ffrtmp cluster add)", "addr", cfg.Addr)
	}
	go n.watchLeadership()
	return n, nil
}

// recover applies <cluster-dir>/peers.json when an operator wrote one: the cluster lost its
// majority for good and the survivors are forced into a new membership (raft's manual
// recovery, which may lose the last writes they did not receive). The file is renamed
// peers.json.applied once applied, so a restart does not apply it again.
func (n *Node) recover(rc *raft.Config, machine raft.FSM, logs raft.LogStore, snaps raft.SnapshotStore) error {
	path := filepath.Join(n.cfg.Dir, "peers.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var peers []struct {
		ID      string `json:"id"`
		Address string `json:"address"`
	}
	if err := json.Unmarshal(b, &peers); err != nil {
		return fmt.Errorf("%s: %w (want [{\"id\": \"m1\", \"address\": \"10.0.0.1:7946\"}, ...])", path, err)
	}
	if len(peers) == 0 {
		return fmt.Errorf("%s names no member", path)
	}
	var conf raft.Configuration
	self := false
	for _, p := range peers {
		if err := ValidID(p.ID); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if _, _, err := net.SplitHostPort(p.Address); err != nil {
			return fmt.Errorf("%s: member %s: address %q is not host:port", path, p.ID, p.Address)
		}
		self = self || p.ID == n.cfg.NodeID
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
	}
	if !self {
		return fmt.Errorf("%s does not name this member (%s)", path, n.cfg.NodeID)
	}
	if err := raft.RecoverCluster(rc, machine, logs, n.logs, snaps, n.trans, conf); err != nil {
		return fmt.Errorf("recover the cluster from %s: %w", path, err)
	}
	if err := os.Rename(path, path+".applied"); err != nil {
		return fmt.Errorf("recovered the cluster, but: %w", err)
	}
	n.log.Warn("recovered the cluster with a forced membership (peers.json)", "members", len(conf.Servers))
	return nil
}

// checkBootstrap refuses a peer list that does not hold this member at its own address.
func checkBootstrap(cfg Config) error {
	for _, p := range cfg.Peers {
		if p.ID == cfg.NodeID {
			if p.Addr != cfg.Addr {
				return fmt.Errorf("--cluster-peers names %s at %s but --cluster-addr is %s", p.ID, p.Addr, cfg.Addr)
			}
			return nil
		}
	}
	return fmt.Errorf("--cluster-peers does not name this member (--node-id %s); to add a master to a running cluster start it without --cluster-peers and run `ffrtmp cluster add %s %s`",
		cfg.NodeID, cfg.NodeID, cfg.Addr)
}

// watchLeadership fans raft's notifications out to the subscribers.
func (n *Node) watchLeadership() {
	for {
		select {
		case <-n.closed:
			return
		case isLeader := <-n.notify:
			n.mu.Lock()
			n.leader = isLeader
			subs := append([]chan bool(nil), n.subs...)
			n.mu.Unlock()
			if h := n.cfg.Hooks.LeaderChange; h != nil {
				h(isLeader)
			}
			if isLeader {
				n.log.Info("this master is the cluster's leader", "term", n.raft.CurrentTerm())
			} else {
				n.log.Info("this master is no longer the cluster's leader")
			}
			for _, c := range subs {
				// Keep only the latest state for a slow subscriber.
				select {
				case c <- isLeader:
				default:
					select {
					case <-c:
					default:
					}
					c <- isLeader
				}
			}
		}
	}
}

// Leadership returns a channel told true when this member becomes the leader and false when
// it stops being one (only the latest state is kept for a slow reader).
func (n *Node) Leadership() <-chan bool {
	c := make(chan bool, 1)
	n.mu.Lock()
	n.subs = append(n.subs, c)
	if n.leader {
		c <- true
	}
	n.mu.Unlock()
	return c
}

// ID is this member's ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// IsLeader reports whether this member is the leader now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Member reports whether this member is in the cluster's configuration (it is not before it
// is added, nor after it is removed).
func (n *Node) Member() bool {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return false
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == n.cfg.NodeID {
			return true
		}
	}
	return false
}

// Peers returns the members of the cluster's configuration as this member knows it (nil
// when raft cannot say).
func (n *Node) Peers() []Peer {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	var out []Peer
	for _, s := range cf.Configuration().Servers {
		out = append(out, Peer{ID: string(s.ID), Addr: string(s.Address)})
	}
	return out
}

// Leader returns the leader's ID and cluster address, empty when there is none.
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// Replicate commits a write set on a majority and returns once this member (the leader)
// has applied it. It is the store's Options.Replicate.
func (n *Node) Replicate(ctx context.Context, writeSet []byte) error {
	start := time.Now()
	f := n.raft.Apply(writeSetEntry(writeSet), n.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		return raftErr(err)
	}
	if h := n.cfg.Hooks.Commit; h != nil {
		h(time.Since(start))
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return err
	}
	return nil
}

// Barrier returns once every entry committed before it is in the database here (a new
// leader calls it before loading its services from the database).
func (n *Node) Barrier(ctx context.Context) error {
	timeout := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if err := raftErr(n.raft.Barrier(timeout).Error()); err != nil {
		return err
	}
	n.fsm.flush() // what this member gathered as a follower
	return nil
}

// VerifyLeader confirms with a majority that this member is still the leader, so what it
// reads is not stale.
func (n *Node) VerifyLeader(ctx context.Context) error {
	f := n.raft.VerifyLeader()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return raftErr(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func raftErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w (%v)", ErrNotLeader, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w (shutting down)", ErrNotLeader)
	}
	return err
}

// Add adds a voting member (leader only).
func (n *Node) Add(ctx context.Context, id, addr string) error {
	if err := ValidID(id); err != nil {
		return fault.Invalid("id", "%v", err)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fault.Invalid("address", "%q is not host:port", addr)
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raftErr(err)
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id && string(s.Address) == addr {
			return nil // already a member
		}
		if string(s.ID) == id || string(s.Address) == addr {
			return fault.Conflict("", "member %s at %s is in the cluster already: remove it first", s.ID, s.Address)
		}
	}
	return raftErr(n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeoutOf(ctx)).Error())
}

// Remove removes a member (leader only). Removing the leader itself hands leadership on.
func (n *Node) Remove(ctx context.Context, id string) error {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raftErr(err)
	}
	found := false
	for _, s := range cf.Configuration().Servers {
		found = found || string(s.ID) == id
	}
	if !found {
		return fault.NotFound("cluster member", id)
	}
	return raftErr(n.raft.RemoveServer(raft.ServerID(id), 0, timeoutOf(ctx)).Error())
}

func timeoutOf(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return 30 * time.Second
}

// Status reports every member as this one sees it; the others are asked over the cluster
// port (each within a second), so a member that is down shows as unreachable.
func (n *Node) Status(ctx context.Context) api.ClusterStatus {
	leaderID, _ := n.Leader()
	out := api.ClusterStatus{Clustered: true, Leader: leaderID, Member: n.cfg.NodeID, Term: n.raft.CurrentTerm()}
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return out
	}
	servers := cf.Configuration().Servers
	out.Members = make([]api.ClusterMember, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		out.Members[i] = api.ClusterMember{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter}
		if string(s.ID) == n.cfg.NodeID {
			fillMember(&out.Members[i], n.status())
			continue
		}
		wg.Add(1)
		go func(m *api.ClusterMember) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			st, err := n.layer.askStatus(cctx, m.Address)
			if err != nil {
				m.State, m.Error = api.MemberUnreachable, err.Error()
				return
			}
			fillMember(m, st)
		}(&out.Members[i])
	}
	wg.Wait()
	return out
}

func fillMember(m *api.ClusterMember, st memberStatus) {
	m.State, m.APIURL, m.AppliedIndex, m.CommitIndex = st.State, st.APIURL, st.AppliedIndex, st.CommitIndex
	if !st.LastContact.IsZero() {
		t := st.LastContact
		m.LastContact = &t
	}
}

// Stats is this member's replication state.
type Stats struct {
	Leader                                     bool
	Term, LastIndex, CommitIndex, AppliedIndex uint64
	// LastContact is how long ago this follower last heard from the leader (0 on the leader
	// or before any contact).
	LastContact time.Duration
}

// Stats returns this member's replication state, without asking the others.
func (n *Node) Stats() Stats {
	s := Stats{Leader: n.raft.State() == raft.Leader, Term: n.raft.CurrentTerm(), LastIndex: n.raft.LastIndex(),
		CommitIndex: n.raft.CommitIndex(), AppliedIndex: n.st.AppliedIndex()}
	if lc := n.raft.LastContact(); !s.Leader && !lc.IsZero() {
		s.LastContact = time.Since(lc)
	}
	return s
}

// memberStatus is what a member tells the others about itself.
type memberStatus struct {
	ID           string    `json:"id"`
	State        string    `json:"state"`
	APIURL       string    `json:"api_url"`
	Leader       string    `json:"leader"`
	AppliedIndex uint64    `json:"applied_index"`
	CommitIndex  uint64    `json:"commit_index"`
	LastContact  time.Time `json:"last_contact"`
}

func (n *Node) status() memberStatus {
	if n.raft == nil { // asked while starting
		return memberStatus{ID: n.cfg.NodeID, State: api.MemberFollower, APIURL: n.cfg.APIURL}
	}
	st := memberStatus{ID: n.cfg.NodeID, APIURL: n.cfg.APIURL, AppliedIndex: n.st.AppliedIndex(), CommitIndex: n.raft.CommitIndex()}
	_, leader := n.raft.LeaderWithID()
	st.Leader = string(leader)
	switch n.raft.State() {
	case raft.Leader:
		st.State = api.MemberLeader
	case raft.Candidate:
		st.State = api.MemberCandidate
	default:
		st.State = api.MemberFollower
		st.LastContact = n.raft.LastContact()
	}
	return st
}

// LeaderURL returns the leader's API URL, asking the leader over the cluster port the first
// time per leader. It fails while there is no leader.
func (n *Node) LeaderURL(ctx context.Context) (id, url string, err error) {
	id, addr := n.Leader()
	if id == "" {
		return "", "", ErrNoLeader
	}
	if id == n.cfg.NodeID {
		return id, n.cfg.APIURL, nil
	}
	key := id + "@" + addr
	if u, ok := n.urls.Load(key); ok {
		return id, u.(string), nil
	}
	st, err := n.layer.askStatus(ctx, addr)
	if err != nil {
		return id, "", fmt.Errorf("ask leader %s at %s for its API: %w", id, addr, err)
	}
	if st.APIURL == "" {
		return id, "", fmt.Errorf("leader %s has no API URL", id)
	}
	n.urls.Store(key, st.APIURL)
	return id, st.APIURL, nil
}

// Restore replaces the cluster's state with a database backup (GET /v1/backup of any master,
// single or clustered), through raft: this member (the leader) takes it as a snapshot, and
// the others install it from there. size is the backup's length in bytes.
func (n *Node) Restore(ctx context.Context, backup io.Reader, size int64) error {
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: size}
	if err := n.raft.Restore(meta, backup, timeoutOf(ctx)); err != nil {
		return raftErr(err)
	}
	return nil
}

// ErrNoLeader: the cluster has no leader this member knows of (an election is under way, or
// this member is cut off from the majority).
var ErrNoLeader error = &fault.UnavailableError{Msg: "the cluster has no leader (an election is under way, or this master is cut off from the majority)"}

// Close leaves raft running no more, closes the port and the log. The member stays in the
// cluster's configuration: a restart rejoins it.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.closed)
		if n.raft != nil {
			err = n.raft.Shutdown().Error()
			n.fsm.flush() // raft applies nothing more: the database takes what it gathered
		}
		n.closeResources()
	})
	return err
}

func (n *Node) closeResources() {
	if n.trans != nil {
		n.trans.Close()
	} else if n.layer != nil {
		n.layer.Close()
	}
	if n.logs != nil {
		n.logs.Close()
	}
}
