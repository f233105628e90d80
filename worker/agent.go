// Package worker is the farm's worker agent: it registers with the master and says what the
// machine can do, heartbeats, leases jobs up to its slots, runs each in an executor process,
// reports progress and how each job ended, obeys cancels and drain orders, and registers
// again when the master forgot it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/backoff"
	"github.com/ffrtmp/ffrtmp/worker/access"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// Master is what the agent needs from the master's API (api.Client has it).
type Master interface {
	// Register answers the node and, when the master issued one, its secret; the Master
	// sends the node's secret with every call made as the node from then on.
	Register(ctx context.Context, reg api.Registration) (*api.Registered, error)
	// SetNodeSecret gives the Master a secret kept from an earlier registration.
	SetNodeSecret(id, secret string)
	Heartbeat(ctx context.Context, nodeID string, hb api.Heartbeat) (*api.HeartbeatReply, error)
	Lease(ctx context.Context, nodeID string, wait time.Duration) (*api.Lease, error)
	ReportProgress(ctx context.Context, jobID string, rep api.ProgressReport) (*api.ProgressReply, error)
	Complete(ctx context.Context, jobID string, rep api.CompleteReport) (*api.Job, error)
	Fail(ctx context.Context, jobID string, rep api.FailReport) (*api.Job, error)
}

// Metrics is what the agent reports about jobs (worker/metrics has it).
type Metrics interface {
	JobStarted(jobID string)
	JobProgress(jobID string, p engine.Progress)
	JobEncode(lat []executor.EncodeLatency, encoderOf func(output string) string)
	JobEnded(jobID, end string, d time.Duration)
}

type noMetrics struct{}

func (noMetrics) JobStarted(string)                                       {}
func (noMetrics) JobProgress(string, engine.Progress)                     {}
func (noMetrics) JobEncode([]executor.EncodeLatency, func(string) string) {}
func (noMetrics) JobEnded(string, string, time.Duration)                  {}

// Config is what an agent is told at start.
type Config struct {
	Master       Master
	Name         string
	Labels       map[string]string
	Capabilities api.Capabilities // Slots is the agent's concurrency
	Version      string
	// DataDir keeps the node ID and its secret across restarts (DataDir/node-id and
	// DataDir/node-secret, mode 0600).
	DataDir  string
	Policy   *access.Policy
	Executor executor.Command
	// Telemetry, when set, is sent with every heartbeat.
	Telemetry func() api.Telemetry
	// Metrics, when set, is told about every job.
	Metrics Metrics
	// HLSBaseURL is where this node serves live HLS (an hls.Server), told to the master when
	// registering; empty: it serves none.
	HLSBaseURL string
	// MetricsURL is where this node serves Prometheus metrics, told to the master when
	// registering (it lists it for service discovery); empty: none.
	MetricsURL string

	HeartbeatInterval time.Duration // default 10 s (the master's reply may change it)
	LeaseWait         time.Duration // long-poll per lease request, default 30 s
	ProgressInterval  time.Duration // progress reports per job at most this often, default 1 s
	StallTimeout      time.Duration // an executor silent this long is killed, default 60 s
	DrainTimeout      time.Duration // on shutdown, running jobs get this long, default 5 min
	Logger            *slog.Logger
}

// Agent is a running worker.
type Agent struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	nodeID   string
	running  map[string]context.CancelCauseFunc
	draining bool
	ordered  bool // the master ordered a drain
	interval time.Duration
	free     chan struct{} // a slot came free

	// What Health and Status read (health.go): closed at the first registration, the last
	// registration or heartbeat error, and when the heartbeat loop last moved.
	registered chan struct{}
	regOnce    sync.Once
	lastErr    error
	beat       atomic.Int64 // unix nanoseconds
}

// Errors a job's context is canceled with.
var (
	errCanceledByMaster = errors.New("the master canceled the job")
	errDrained          = errors.New("the worker is shutting down")
)

// New checks cfg and fills in defaults.
func New(cfg Config) (*Agent, error) {
	if cfg.Master == nil || cfg.Policy == nil || cfg.Executor.Path == "" {
		return nil, errors.New("worker: master, policy and executor are required")
	}
	if cfg.Capabilities.Slots <= 0 {
		cfg.Capabilities.Slots = 1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.HeartbeatInterval, 10*time.Second)
	def(&cfg.LeaseWait, 30*time.Second)
	def(&cfg.ProgressInterval, time.Second)
	def(&cfg.StallTimeout, 60*time.Second)
	def(&cfg.DrainTimeout, 5*time.Minute)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, running: map[string]context.CancelCauseFunc{},
		interval: cfg.HeartbeatInterval, free: make(chan struct{}, 1), registered: make(chan struct{})}
	if cfg.DataDir != "" {
		if b, err := os.ReadFile(filepath.Join(cfg.DataDir, nodeIDFile)); err == nil {
			a.nodeID = strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(filepath.Join(cfg.DataDir, nodeSecretFile)); err == nil && a.nodeID != "" {
			cfg.Master.SetNodeSecret(a.nodeID, strings.TrimSpace(string(b)))
		}
	}
	return a, nil
}

// NodeID is the ID the master knows this worker by ("" before registering).
func (a *Agent) NodeID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nodeID
}

// Run registers, then heartbeats and leases until ctx ends. Then it drains: no more leases,
// running jobs get DrainTimeout to finish, the rest are stopped and handed back to the
// master (not counted as a failed attempt).
func (a *Agent) Run(ctx context.Context) error {
	if err := a.register(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the master answered: nothing runs yet
		}
		return err
	}
	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	var jobs sync.WaitGroup
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); a.heartbeats(work) }()

	a.leaseLoop(ctx, work, &jobs)

	a.mu.Lock()
	a.draining = true
	n := len(a.running)
	a.mu.Unlock()
	a.log.Info("draining", "node_id", a.NodeID(), "running", n, "timeout", a.cfg.DrainTimeout)
	done := make(chan struct{})
	go func() { jobs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.cfg.DrainTimeout):
		a.cancelAll(errDrained)
		<-done
	}
	a.heartbeatOnce(work) // tell the master we run nothing now
	stopWork()
	<-hbDone
	return nil
}

// register announces the node, retrying with backoff while the master is unreachable.
func (a *Agent) register(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		n, err := a.cfg.Master.Register(ctx, api.Registration{ID: a.NodeID(), Name: a.cfg.Name,
			Version: a.cfg.Version, Labels: a.cfg.Labels, Capabilities: a.cfg.Capabilities,
			HLSBaseURL: a.cfg.HLSBaseURL, MetricsURL: a.cfg.MetricsURL})
		if err == nil {
			a.mu.Lock()
			a.nodeID = n.ID
			a.lastErr = nil
			a.mu.Unlock()
			a.keep(n)
			a.beat.Store(time.Now().UnixNano())
			a.regOnce.Do(func() { close(a.registered) })
			a.log.Info("registered", "node_id", n.ID, "slots", a.cfg.Capabilities.Slots, "encoders", a.cfg.Capabilities.Encoders)
			return nil
		}
		var ae *api.Error
		if errors.As(err, &ae) && (ae.Code == api.CodeNodeSecret || ae.Code == api.CodeNodeForbidden) && a.cfg.DataDir != "" {
			return fmt.Errorf("register with the master: %w (the master knows node %s with another secret: an admin can remove it "+
				"with `ffrtmp nodes remove %s`, or delete %s to register as a new node)", err, a.NodeID(), a.NodeID(),
				filepath.Join(a.cfg.DataDir, nodeIDFile))
		}
		if errors.As(err, &ae) && (ae.Status == 400 || ae.Status == 401 || ae.Status == 403) {
			return fmt.Errorf("register with the master: %w", err)
		}
		a.mu.Lock()
		a.lastErr = err
		a.mu.Unlock()
		a.log.Warn("master unreachable; retrying", "err", err)
		if !sleep(ctx, masterBackoff(attempt)) {
			return ctx.Err()
		}
	}
}

// The files in DataDir that keep the node's identity across restarts.
const (
	nodeIDFile     = "node-id"
	nodeSecretFile = "node-secret"
)

// keep writes the node's ID and, when the master issued one, its secret to DataDir.
func (a *Agent) keep(n *api.Registered) {
	if a.cfg.DataDir == "" {
		return
	}
	if n.Secret != "" {
		// The secret first: an ID on disk without its secret could not register again.
		if err := writeFileAtomic(filepath.Join(a.cfg.DataDir, nodeSecretFile), []byte(n.Secret+"\n")); err != nil {
			a.log.Warn("keep node secret: a restart will need an admin to register this node again", "err", err)
		}
	}
	if err := writeFileAtomic(filepath.Join(a.cfg.DataDir, nodeIDFile), []byte(n.ID+"\n")); err != nil {
		a.log.Warn("keep node id", "err", err)
	}
}

// writeFileAtomic writes b to path (mode 0600) through a temporary file and a rename, so a
// crash leaves the old content or the new, never a torn one.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// masterBackoff is the wait before trying an unreachable master again after failures
// failed tries (counted from 0): 1 s doubling to 30 s, drawn from the top half of that.
func masterBackoff(failures int) time.Duration {
	return backoff.Policy{Base: time.Second, Max: 30 * time.Second, Jitter: 0.5}.Delay(failures + 1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// leaseLoop leases while a slot is free, until ctx ends. (A drain the master orders needs
// nothing here: the master gives a draining node no jobs.)
func (a *Agent) leaseLoop(ctx, work context.Context, jobs *sync.WaitGroup) {
	failures := 0
	for ctx.Err() == nil {
		a.mu.Lock()
		busy := len(a.running) >= a.cfg.Capabilities.Slots
		a.mu.Unlock()
		if busy {
			select {
			case <-ctx.Done():
				return
			case <-a.free:
			}
			continue
		}
		lease, err := a.cfg.Master.Lease(ctx, a.NodeID(), a.cfg.LeaseWait)
		switch {
		case ctx.Err() != nil:
			return
		case api.IsCode(err, api.CodeUnknownNode):
			a.log.Warn("the master does not know this node; registering again", "node_id", a.NodeID())
			if err := a.register(ctx); err != nil {
				return
			}
			continue
		case err != nil:
			a.log.Warn("lease failed; backing off", "err", err)
			if !sleep(ctx, masterBackoff(failures)) {
				return
			}
			failures++
			continue
		case lease == nil:
			continue
		}
		failures = 0
		jobCtx, cancel := context.WithCancelCause(work)
		a.mu.Lock()
		if _, dup := a.running[lease.Job.ID]; dup {
			// The master requeued a job this node still runs (it thought the node lost) and
			// gave it back: the executor already at work finishes it and reports.
			a.mu.Unlock()
			cancel(nil)
			a.log.Info("leased a job this node already runs; keeping the running executor", "job_id", lease.Job.ID)
			continue
		}
		a.running[lease.Job.ID] = cancel
		a.mu.Unlock()
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			a.runJob(jobCtx, *lease)
			cancel(nil)
			a.mu.Lock()
			delete(a.running, lease.Job.ID)
			a.mu.Unlock()
			select {
			case a.free <- struct{}{}:
			default:
			}
		}()
	}
}

func (a *Agent) cancelAll(cause error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, cancel := range a.running {
		cancel(cause)
	}
}

// heartbeats sends a heartbeat at once (the master learns its interval from the reply, and
// may time a node out well before a default interval) and then one per interval until ctx
// ends.
func (a *Agent) heartbeats(ctx context.Context) {
	for {
		a.heartbeatOnce(ctx)
		a.mu.Lock()
		d := a.interval
		a.mu.Unlock()
		if !sleep(ctx, d) {
			return
		}
	}
}

func (a *Agent) heartbeatOnce(ctx context.Context) {
	a.beat.Store(time.Now().UnixNano())
	defer func() { a.beat.Store(time.Now().UnixNano()) }()
	a.mu.Lock()
	hb := api.Heartbeat{Draining: a.draining, RunningJobs: []string{}}
	for id := range a.running {
		hb.RunningJobs = append(hb.RunningJobs, id)
	}
	a.mu.Unlock()
	if a.cfg.Telemetry != nil {
		hb.Telemetry = a.cfg.Telemetry()
	}
	reply, err := a.cfg.Master.Heartbeat(ctx, a.NodeID(), hb)
	switch {
	case api.IsCode(err, api.CodeUnknownNode):
		a.log.Warn("the master does not know this node; registering again", "node_id", a.NodeID())
		if err := a.register(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("register again", "err", err)
		}
		return
	case err != nil:
		if ctx.Err() == nil {
			a.log.Warn("heartbeat failed; jobs keep running", "err", err)
			a.mu.Lock()
			a.lastErr = err
			a.mu.Unlock()
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastErr = nil
	if reply.Interval > 0 {
		a.interval = time.Duration(reply.Interval)
	}
	if reply.Drain && !a.ordered {
		a.log.Info("the master ordered a drain: it gives this node no more jobs")
	}
	a.ordered = reply.Drain
	for _, id := range reply.Cancel {
		if cancel, ok := a.running[id]; ok {
			a.log.Info("the master canceled a job", "job_id", id)
			cancel(errCanceledByMaster)
		}
	}
}
