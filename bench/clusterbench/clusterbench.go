// Package clusterbench measures replicated masters beside a single one, in the same run: a
// load generator in this process drives real ffrtmp-master child processes (built once with
// CGO_ENABLED=0) over loopback with fsync on. It reuses masterbench's load (submit and lease
// measurements, clients, percentiles, metrics) and adds a cluster of members, a follower as
// the entry point, and leader SIGKILLs timed to the first acknowledged submit.
package clusterbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/masterbench"
)

// Profile sizes a run.
type Profile struct {
	Name    string `json:"name"`
	Members int    `json:"cluster_members"`
	// ClusterTimeout is the members' --cluster-timeout (raft's heartbeat and election
	// timeouts).
	ClusterTimeout time.Duration `json:"cluster_timeout_ns"`
	// Submit: Clients submit back to back for Duration after Warmup.
	Clients  int           `json:"submit_clients"`
	Duration time.Duration `json:"submit_duration_ns"`
	Warmup   time.Duration `json:"submit_warmup_ns"`
	// Lease: Queued jobs submitted through the API, Nodes registered, at most Requesters
	// concurrent requests; LeaseWarmup unmeasured leases then Leases measured ones offered
	// at LeaseRate per second; then SatLeases back to back.
	Queued      int     `json:"lease_queued_jobs"`
	Nodes       int     `json:"lease_nodes"`
	Requesters  int     `json:"lease_requesters"`
	LeaseRate   float64 `json:"lease_rate"`
	Leases      int     `json:"leases"`
	LeaseWarmup int     `json:"lease_warmup"`
	SatLeases   int     `json:"saturation_leases"`
	// Kills is how many times the leader is SIGKILLed.
	Kills int `json:"failover_kills"`
}

// FullProfile is the benchmark.
func FullProfile() Profile {
	return Profile{Name: "full", Members: 3, ClusterTimeout: 500 * time.Millisecond, Clients: 64, Duration: 10 * time.Second, Warmup: 2 * time.Second,
		Queued: 100_000, Nodes: 1000, Requesters: 64, LeaseRate: 1000, Leases: 20_000, LeaseWarmup: 1000, SatLeases: 10_000, Kills: 20}
}

// QuickProfile is a smoke run: the same cases, small.
func QuickProfile() Profile {
	return Profile{Name: "quick", Members: 3, ClusterTimeout: 500 * time.Millisecond, Clients: 64, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond,
		Queued: 10_000, Nodes: 100, Requesters: 64, LeaseRate: 1000, Leases: 2000, LeaseWarmup: 200, SatLeases: 1000, Kills: 3}
}

// master is the part of p masterbench's measurements read.
func (p Profile) master() masterbench.Profile {
	return masterbench.Profile{Name: p.Name, Clients: p.Clients, Duration: p.Duration, Warmup: p.Warmup,
		Queued: p.Queued, Nodes: p.Nodes, Requesters: p.Requesters, LeaseRate: p.LeaseRate, Leases: p.Leases,
		LeaseWarmup: p.LeaseWarmup, SatLeases: p.SatLeases}
}

// Cluster targets from the issue; the single master keeps masterbench's own.
var (
	clusterSubmitTargets = masterbench.SubmitTargets{Rate: 5000, P99Ms: 50}
	clusterLeaseP99Ms    = 20.0
)

// Cases are the case names, in the order they run.
var Cases = []string{"submit", "lease", "failover"}

// Ways a case reached the masters: the table's columns.
const (
	ViaSingle   = "single"
	ViaLeader   = "leader"
	ViaFollower = "follower"
)

// Options configure Run.
type Options struct {
	Profile Profile
	// Cases to run (default all).
	Cases []string
	// Root is the module to build the master from (default: the module of the current
	// folder).
	Root string
	// OutDir receives the results; the temporary folder (binary, databases, logs) is made in
	// it.
	OutDir string
	// KeepTemp leaves the temporary folder in place (to read the masters' logs).
	KeepTemp bool
	// MasterBin, when set, is the master binary to run instead of building one.
	MasterBin string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// CheckCases reports an unknown case name.
func CheckCases(names []string) error {
	for _, n := range names {
		if !slices.Contains(Cases, n) {
			return fmt.Errorf("unknown case %q: want %s", n, strings.Join(Cases, ", "))
		}
	}
	return nil
}

type env struct {
	opts Options
	bin  string
	tmp  string
	rep  *Report
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.opts.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (e *env) want(name string) bool { return slices.Contains(e.opts.Cases, name) }

// add records a case's result.
func (e *env) add(via string, c masterbench.CaseResult) {
	e.rep.Cases = append(e.rep.Cases, Case{Via: via, CaseResult: c})
	for _, m := range c.Metrics {
		if m.Pass != nil && !*m.Pass {
			e.rep.Pass = false
		}
	}
	e.logf("%s via %s: %s", c.Name, via, c.Summary)
}

// Run builds the master, measures the single master and then the cluster, and returns the
// report.
func Run(ctx context.Context, opts Options) (Report, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if len(opts.Cases) == 0 {
		opts.Cases = Cases
	}
	if err := CheckCases(opts.Cases); err != nil {
		return Report{}, err
	}
	p := opts.Profile
	if p.Members < 3 || p.Kills < 1 || p.Clients < 1 || p.Requesters < 1 || p.Nodes < 1 || p.ClusterTimeout <= 0 {
		return Report{}, fmt.Errorf("profile %q: want at least 3 members, 1 kill, 1 client, 1 requester, 1 node and a cluster timeout", p.Name)
	}
	if opts.OutDir == "" {
		return Report{}, fmt.Errorf("no output folder")
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return Report{}, err
	}
	if opts.Root == "" {
		root, err := masterbench.ModuleRoot(ctx, ".")
		if err != nil {
			return Report{}, err
		}
		opts.Root = root
	}
	tmp, err := os.MkdirTemp(opts.OutDir, "tmp-cluster-")
	if err != nil {
		return Report{}, err
	}
	if !opts.KeepTemp {
		defer os.RemoveAll(tmp)
	}
	rep := &Report{Started: time.Now().UTC(), Profile: p, Pass: true, Machine: masterbench.DetectMachine(ctx, opts.Root, tmp), Notes: notes(p)}
	e := &env{opts: opts, tmp: tmp, rep: rep}
	e.logf("machine: %d cores, load %s, fsync %.2f ms", rep.Machine.Cores, rep.Machine.LoadAverage, rep.Machine.FsyncMs)
	e.bin = opts.MasterBin
	if e.bin == "" {
		e.logf("building ffrtmp-master (CGO_ENABLED=0)")
		if e.bin, err = masterbench.BuildMaster(ctx, opts.Root, tmp); err != nil {
			return *rep, err
		}
	}
	for _, step := range []func(context.Context) error{e.single, e.clusterSubmit, e.clusterLeaseAndFailover} {
		if err := step(ctx); err != nil {
			return *rep, err
		}
	}
	rep.Finished = time.Now().UTC()
	return *rep, nil
}

// masterFlags are every master's in this benchmark: no queued-jobs cap (the submit runs
// queue more than the default 100k).
var masterFlags = []string{"--max-queued-jobs", "0"}

// single measures one master, each case on a fresh database.
func (e *env) single(ctx context.Context) error {
	p := e.opts.Profile
	if e.want("submit") {
		m, err := masterbench.StartMaster(ctx, e.bin, filepath.Join(e.tmp, "single-submit.db"), filepath.Join(e.tmp, "single-submit.log"), masterFlags...)
		if err != nil {
			return fmt.Errorf("single master: %w", err)
		}
		e.logf("submit via single master: %d clients for %s (+%s warm-up)", p.Clients, p.Duration, p.Warmup)
		res, err := masterbench.MeasureSubmit(ctx, m.URL, []*masterbench.Master{m}, p.master(), masterbench.SingleSubmitTargets)
		if serr := m.Stop(); err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("submit via single master: %w", err)
		}
		e.add(ViaSingle, res)
	}
	if e.want("lease") {
		m, err := masterbench.StartMaster(ctx, e.bin, filepath.Join(e.tmp, "single-lease.db"), filepath.Join(e.tmp, "single-lease.log"), masterFlags...)
		if err != nil {
			return fmt.Errorf("single master: %w", err)
		}
		res, err := e.lease(ctx, m.URL, []*masterbench.Master{m}, ViaSingle, masterbench.SingleLeaseP99Ms)
		if serr := m.Stop(); err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("lease via single master: %w", err)
		}
		e.add(ViaSingle, res)
	}
	return nil
}

// clusterSubmit measures submits through the leader, then through a follower, of one
// fresh cluster.
func (e *env) clusterSubmit(ctx context.Context) error {
	if !e.want("submit") {
		return nil
	}
	p := e.opts.Profile
	c, err := startCluster(ctx, e.bin, filepath.Join(e.tmp, "submit"), p.Members, p.ClusterTimeout, masterFlags...)
	if err != nil {
		return err
	}
	defer c.stop()
	for _, via := range []string{ViaLeader, ViaFollower} {
		mb, err := c.leader(ctx, 30*time.Second)
		if via == ViaFollower {
			mb, err = c.follower(ctx)
		}
		if err != nil {
			return err
		}
		e.logf("submit via %s %s: %d clients for %s (+%s warm-up)", via, mb.id, p.Clients, p.Duration, p.Warmup)
		res, err := masterbench.MeasureSubmit(ctx, mb.url, c.procs(), p.master(), clusterSubmitTargets)
		if err != nil {
			return fmt.Errorf("submit via %s: %w (logs: %s)", via, err, c.logs())
		}
		res.Setup = append(res.Setup, fmt.Sprintf("through member %s, the %s", mb.id, via))
		e.add(via, res)
	}
	return c.stop()
}

// clusterLeaseAndFailover fills a fresh cluster through its leader, measures leases there,
// then SIGKILLs the leader p.Kills times.
func (e *env) clusterLeaseAndFailover(ctx context.Context) error {
	if !e.want("lease") && !e.want("failover") {
		return nil
	}
	p := e.opts.Profile
	c, err := startCluster(ctx, e.bin, filepath.Join(e.tmp, "lease"), p.Members, p.ClusterTimeout, masterFlags...)
	if err != nil {
		return err
	}
	defer c.stop()
	if e.want("lease") {
		l, err := c.leader(ctx, 30*time.Second)
		if err != nil {
			return err
		}
		res, err := e.lease(ctx, l.url, c.procs(), ViaLeader, clusterLeaseP99Ms)
		if err != nil {
			return fmt.Errorf("lease via leader: %w (logs: %s)", err, c.logs())
		}
		res.Setup = append(res.Setup, "through member "+l.id+", the leader")
		e.add(ViaLeader, res)
	}
	if e.want("failover") {
		e.logf("failover: %d SIGKILLs of the leader", p.Kills)
		res, fos, err := failoverCase(ctx, c, p.Kills, e.logf)
		e.rep.Failovers = fos
		if err != nil {
			return fmt.Errorf("failover: %w", err)
		}
		e.add(ViaLeader, res)
	}
	return c.stop()
}

// lease queues p.Queued jobs through url (64 clients in parallel) and measures leases there.
func (e *env) lease(ctx context.Context, url string, procs []*masterbench.Master, via string, p99Ms float64) (masterbench.CaseResult, error) {
	p := e.opts.Profile
	e.logf("lease via %s: queueing %d jobs through the API", via, p.Queued)
	t0 := time.Now()
	if err := masterbench.SubmitQueued(ctx, url, p.Queued, 64); err != nil {
		return masterbench.CaseResult{Name: "lease"}, fmt.Errorf("queue jobs: %w", err)
	}
	filled := fmt.Sprintf("%d queued jobs submitted through the API by 64 clients in %.1f s", p.Queued, time.Since(t0).Seconds())
	e.logf("lease via %s: %s; %d leases (+%d warm-up) offered at %.0f/s to %d requesters over %d nodes", via, filled, p.Leases, p.LeaseWarmup, p.LeaseRate, p.Requesters, p.Nodes)
	res, err := masterbench.MeasureLease(ctx, url, procs, p.master(), p99Ms)
	res.Setup = append([]string{filled}, res.Setup...)
	return res, err
}

func notes(p Profile) []string {
	return []string{
		fmt.Sprintf("masters: child processes built with CGO_ENABLED=0 on 127.0.0.1, fsync on, rate limit and per-IP connection cap off, metrics listener off; "+
			"the cluster is %d members on loopback (--cluster-timeout %s, raft without TLS on loopback), a fresh one for the submit cases and another for lease and failover; "+
			"the single master gets a fresh database per case", p.Members, p.ClusterTimeout),
		fmt.Sprintf("load generator, every master and everything else share this machine's %d cores: a cluster's three processes compete with each other and the load for CPU, "+
			"which a real deployment (one master per machine) does not; master CPU in a cluster row is all members' together", runtime.NumCPU()),
		"submit via follower: the follower forwards each POST to the leader, so a 201 has crossed two API hops and a raft commit on a majority",
		"lease: the queue is filled through the API (a cluster's database can only be written through the raft log), the same mix for the single master and the cluster",
		"failover: the time runs from the leader's SIGKILL to the first 201 from either survivor; p95 is nearest-rank over the kills",
	}
}
