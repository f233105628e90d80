// Package farm is the master's brain: the job state machine, the node registry, leases and
// failure handling, on top of the store (what is durable) and the scheduler (what is queued
// where). HTTP lives elsewhere; every method here takes and returns api types and answers
// a client's mistake with one of package fault's errors.
package farm

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/egress"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/sched"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// Config tunes failure handling and scheduling. Zero fields take the defaults in brackets.
type Config struct {
	MaxRetries        int           // transient failures retried per job [3]; set NoRetries for 0
	NoRetries         bool          // MaxRetries really is 0
	HeartbeatInterval time.Duration // what workers are told [10s]
	HeartbeatTimeout  time.Duration // a node silent this long is offline, its jobs requeued [2m]
	BatchStale        time.Duration // a non-live job without progress this long is requeued [30m]
	LiveStale         time.Duration // the same for the live queue [5m]
	LeaseAckTimeout   time.Duration // a leased job the node does not report running is lost [1m]
	RetryBackoff      time.Duration // first retry delay; doubles per attempt, with jitter [10s]
	RetryBackoffMax   time.Duration // [10m]
	Aging             time.Duration // wait that earns a queued job one priority point [3s]; <0 off
	Retention         time.Duration // finished jobs older than this are purged [7d]; <0 never
	Interval          time.Duration // how often failure handling runs [5s]
	ProgressSample    time.Duration // progress kept as an event at most this often per job [10s]
	MaxLeaseWait      time.Duration // longest lease long-poll [30s]
	MaxNodesPerKey    int           // nodes one (non-admin) API key may register [1000]; <0 no limit
	// MaxQueued caps the farm's queued (or retrying) jobs: a submit past it is refused
	// [DefaultMaxQueued]; <0 no cap.
	MaxQueued int
	// Tenants returns a tenant's weight and quotas (the keys file's tenants section); nil:
	// weight 1 and no quotas for everyone.
	Tenants func(name string) auth.Tenant
	// Callbacks is where a job's callback_url may point: checked at submit, so a submitter
	// hears at once that webhooks will not go there (the dispatcher checks again on every
	// connection). The zero Policy allows public addresses only.
	Callbacks egress.Policy
	// Clock is the farm's time: when jobs are created, assigned and finished, when nodes
	// were last heard from, and every deadline failure handling judges by [time.Now].
	// Tests give it a clock they move, so timeouts pass exactly and at once.
	Clock  func() time.Time
	Logger *slog.Logger
	Hooks  Hooks
}

// Hooks receive measurements for metrics, and the changes clients watch (GET /v1/events).
// Any may be nil.
type Hooks struct {
	Transition func(from, to api.Status, queue string)
	// Finished is a job's time from creation to its end.
	Finished func(status api.Status, queue string, d time.Duration)
	// LeaseWait is how long a lease request waited and whether it got a job.
	LeaseWait func(d time.Duration, got bool)
	// Schedule is how long picking and assigning a job took.
	Schedule func(d time.Duration)
	// Webhook is told when a commit queued webhook deliveries.
	Webhook func()
	// Job is told of each committed change of a job and of each progress report, with the
	// job as Get shows it, in the order of the job's changes. progress says its status and
	// node stayed (progress, phase, log lines): such news may be coalesced.
	Job func(j api.Job, progress bool)
	// Node is told of a node's registration, heartbeat, drain order, lifted drain and going
	// offline, with the node as Node shows it; NodeRemoved of its removal.
	Node        func(n api.Node)
	NodeRemoved func(id string)
}

// DefaultMaxQueued is the farm's default cap on queued jobs: far above what a farm works
// through in a day, far below what fills a disk (200k jobs took 336 MB).
const DefaultMaxQueued = 100_000

func (c *Config) defaults() {
	if c.MaxQueued == 0 {
		c.MaxQueued = DefaultMaxQueued
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxRetries == 0 && !c.NoRetries {
		c.MaxRetries = 3
	}
	def(&c.HeartbeatInterval, 10*time.Second)
	def(&c.HeartbeatTimeout, 2*time.Minute)
	def(&c.BatchStale, 30*time.Minute)
	def(&c.LiveStale, 5*time.Minute)
	def(&c.LeaseAckTimeout, time.Minute)
	def(&c.RetryBackoff, 10*time.Second)
	def(&c.RetryBackoffMax, 10*time.Minute)
	def(&c.Aging, 3*time.Second)
	def(&c.Retention, 7*24*time.Hour)
	def(&c.Interval, 5*time.Second)
	def(&c.ProgressSample, 10*time.Second)
	def(&c.MaxLeaseWait, 30*time.Second)
	if c.MaxNodesPerKey == 0 {
		c.MaxNodesPerKey = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Service is the farm. Create it with New, run its maintenance with Run.
type Service struct {
	cfg   Config
	st    *store.Store
	sched *sched.Scheduler
	log   *slog.Logger
	start time.Time

	// locks serialise the store write and the in-memory follow-up for one job, so two
	// changes to the same job apply in the order they were committed.
	locks [256]sync.Mutex
	seed  maphash.Seed

	mu       sync.Mutex
	active   map[string]*activeJob // assigned or running
	retrying map[string]time.Time  // retrying → when it is due
	all      *tally                // the farm's job counts; each tenant's are in tenants
	nodes    map[string]*nodeState
	presets  map[string]api.Preset // stored (not built-in) presets
	tenants  map[string]*tenantCounts
	// owners are the tenants that own stored jobs: with only the caller's, a list needs no
	// tenant filter (a purge may leave a name here; that only costs the filter).
	owners map[string]bool
}

// activeJob is what the master tracks of a job on a node between store writes.
type activeJob struct {
	node       string
	queue      string
	assignedAt time.Time // or the master's start, for jobs assigned before it
	runSince   time.Time // the assignment, for max_run_time
	lastSign   time.Time // last progress (or the assignment)
	maxRun     time.Duration
	phase      api.Phase
	progress   *api.Progress
	lastSample time.Time
	// job is the job as last committed, kept for Hooks.Job (progress reports that write
	// nothing); nil without that hook.
	job *api.Job
}

// New loads the farm's state from st: queued jobs into the scheduler, active ones against
// their nodes, retrying ones with their due time.
func New(ctx context.Context, st *store.Store, cfg Config) (*Service, error) {
	cfg.defaults()
	aging := cfg.Aging
	if aging < 0 {
		aging = 0
	}
	s := &Service{cfg: cfg, st: st, sched: sched.New(aging), log: cfg.Logger, start: cfg.Clock(),
		seed: maphash.MakeSeed(), active: map[string]*activeJob{}, retrying: map[string]time.Time{},
		all: newTally(), nodes: map[string]*nodeState{}, presets: map[string]api.Preset{},
		tenants: map[string]*tenantCounts{}, owners: map[string]bool{}}
	s.sched.SetPolicy(s.policy)
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) load(ctx context.Context) error {
	nodes, err := s.st.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("load nodes: %w", err)
	}
	for _, n := range nodes {
		// A restart is not the nodes' fault: give each a fresh heartbeat window.
		s.nodes[n.ID] = &nodeState{node: n.Node, lastSeen: s.start, drainOrdered: n.DrainOrdered, secretHash: n.SecretHash, owner: n.Owner}
	}
	presets, err := s.st.Presets(ctx)
	if err != nil {
		return fmt.Errorf("load presets: %w", err)
	}
	for _, p := range presets {
		s.presets[p.Name] = p
	}
	counts, err := s.st.CountByTenant(ctx)
	if err != nil {
		return fmt.Errorf("count jobs: %w", err)
	}
	s.loadCounts(counts)
	owners, err := s.st.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	for _, t := range owners {
		s.owners[t] = true
	}
	err = s.st.EachJob(ctx, []api.Status{api.StatusQueued, api.StatusAssigned, api.StatusRunning, api.StatusRetrying}, func(j api.Job) error {
		tenant := store.TenantOf(&j)
		s.counted(tenant).waiting += waitingDelta("", j.Status)
		s.all.addQueue(j.Status, j.Queue, 1)
		s.tallied(tenant).addQueue(j.Status, j.Queue, 1)
		switch j.Status {
		case api.StatusQueued:
			s.sched.Add(entryOf(j))
		case api.StatusRetrying:
			at := s.start
			if j.RetryAt != nil {
				at = *j.RetryAt
			}
			s.retrying[j.ID] = at
		default:
			s.sched.Activate(j.ID, store.TenantOf(&j), j.Node, j.GPU, j.Cost)
			s.active[j.ID] = s.newActive(j, s.start)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load jobs: %w", err)
	}
	s.log.Info("farm loaded", "queued", s.sched.Len(), "active", len(s.active), "retrying", len(s.retrying), "nodes", len(s.nodes))
	return nil
}

func (s *Service) newActive(j api.Job, now time.Time) *activeJob {
	a := &activeJob{node: j.Node, queue: j.Queue, assignedAt: now, lastSign: now,
		maxRun: time.Duration(j.MaxRunTime), phase: j.Phase, progress: j.Progress, lastSample: now}
	if s.cfg.Hooks.Job != nil {
		a.job = &j
	}
	// max_run_time counts from the real assignment, also across a master restart; the lease
	// and stale checks count from now (the master was not listening meanwhile).
	a.runSince = now
	if j.AssignedAt != nil && j.AssignedAt.Before(now) {
		a.runSince = *j.AssignedAt
	}
	return a
}

func entryOf(j api.Job) sched.Entry {
	return sched.Entry{ID: j.ID, Queue: j.Queue, Priority: j.Priority, Created: j.CreatedAt,
		Req: j.Requirements, Cost: j.Cost, UsesGPU: usesGPU(j), Tenant: store.TenantOf(&j)}
}

func usesGPU(j api.Job) bool {
	return j.Requirements.MinGPUMemoryMB > 0 || j.Requirements.Hardware == "cuda" ||
		(j.Spec.Hardware.Device == "cuda" && j.Spec.Hardware.Mode != "" && j.Spec.Hardware.Mode != "none")
}

func (s *Service) lock(id string) func() {
	m := &s.locks[maphash.String(s.seed, id)%uint64(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// now is the farm's time, in UTC.
func (s *Service) now() time.Time { return s.cfg.Clock().UTC() }

// Ready reports whether the farm can take requests.
func (s *Service) Ready() error {
	if s.st == nil {
		return errors.New("no store")
	}
	return nil
}

// Counts returns how many jobs are in each status.
func (s *Service) Counts() map[api.Status]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[api.Status]int, len(api.Statuses))
	for _, st := range api.Statuses {
		out[st] = s.all.byStatus[st]
	}
	return out
}

// QueueDepth returns queued jobs per queue.
func (s *Service) QueueDepth() map[string]int { return s.sched.Depth() }

// QueueOldest returns, per queue that holds jobs, when its oldest queued job was submitted.
func (s *Service) QueueOldest() map[string]time.Time { return s.sched.Oldest() }

// The domain's refusals (package fault); the API maps them to answers.
func notFound(what, id string) error { return fault.NotFound(what, id) }

func conflict(code, format string, args ...any) error { return fault.Conflict(code, format, args...) }

func badRequest(field, format string, args ...any) error {
	return fault.Invalid(field, format, args...)
}

// storeErr turns store.ErrNotFound into a *fault.NotFoundError and passes the rest on.
func storeErr(err error, what, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(what, id)
	}
	return err
}
