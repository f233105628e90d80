// Package masterbench measures the master under load: a load generator in this process
// drives a real ffrtmp-master child process (built with CGO_ENABLED=0) over loopback, with
// fsync on, through the real api.Client. Four cases: submit throughput and latency, lease
// latency with a deep queue and many nodes, first-page list latency with a million jobs
// stored, and the shares of worker slots two tenants get (fair share). It links no C, like the master.
package masterbench

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
)

// Profile sizes a run.
type Profile struct {
	Name string `json:"name"`
	// Submit: Clients submit back to back for Duration after Warmup.
	Clients  int           `json:"submit_clients"`
	Duration time.Duration `json:"submit_duration_ns"`
	Warmup   time.Duration `json:"submit_warmup_ns"`
	// Lease: Queued jobs, Nodes registered, at most Requesters concurrent requests;
	// LeaseWarmup unmeasured leases then Leases measured ones offered at LeaseRate per
	// second; then SatLeases back to back.
	Queued      int     `json:"lease_queued_jobs"`
	Nodes       int     `json:"lease_nodes"`
	Requesters  int     `json:"lease_requesters"`
	LeaseRate   float64 `json:"lease_rate"`
	Leases      int     `json:"leases"`
	LeaseWarmup int     `json:"lease_warmup"`
	SatLeases   int     `json:"saturation_leases"`
	// List: Listed jobs stored; ListClients clients, ListWarmup then ListRequests first
	// pages per filter.
	Listed       int `json:"list_stored_jobs"`
	ListClients  int `json:"list_clients"`
	ListRequests int `json:"list_requests"`
	ListWarmup   int `json:"list_warmup"`
	// Fair share: FairA jobs of one tenant, then FairB of another, FairSlots 1-slot workers.
	FairA     int `json:"fairshare_tenant_a_jobs"`
	FairB     int `json:"fairshare_tenant_b_jobs"`
	FairSlots int `json:"fairshare_slots"`
}

// FullProfile is the benchmark.
func FullProfile() Profile {
	return Profile{Name: "full", Clients: 64, Duration: 10 * time.Second, Warmup: 2 * time.Second,
		Queued: 100_000, Nodes: 1000, Requesters: 64, LeaseRate: 1000, Leases: 20_000, LeaseWarmup: 1000, SatLeases: 10_000,
		Listed: 1_000_000, ListClients: 8, ListRequests: 2000, ListWarmup: 200,
		FairA: 10_000, FairB: 10, FairSlots: 8}
}

// QuickProfile is a smoke run: the same cases, small.
func QuickProfile() Profile {
	return Profile{Name: "quick", Clients: 64, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond,
		Queued: 10_000, Nodes: 200, Requesters: 64, LeaseRate: 1000, Leases: 2000, LeaseWarmup: 200, SatLeases: 1000,
		Listed: 50_000, ListClients: 8, ListRequests: 500, ListWarmup: 50,
		FairA: 2000, FairB: 10, FairSlots: 8}
}

// Cases are the case names, in the order they run.
var Cases = []string{"submit", "lease", "list", "fairshare"}

// Options configure Run.
type Options struct {
	Profile Profile
	// Cases to run (default all).
	Cases []string
	// Root is the module to build the master from (default: the module of the current
	// folder).
	Root string
	// TempDir holds the master binary, the databases of the submit and lease cases and the
	// masters' logs (default: a new folder under CacheDir, removed afterwards).
	TempDir string
	// CacheDir keeps the list case's database between runs.
	CacheDir string
	// KeepTemp leaves TempDir in place (to read the masters' logs).
	KeepTemp bool
	// MasterBin, when set, is the master binary to run instead of building one (to compare
	// two builds).
	MasterBin string
	// ProfileDir, when set, receives a CPU profile of each case's master
	// (master-<case>.cpu.prof, from the master's hidden --cpuprofile flag).
	ProfileDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

type env struct {
	opts Options
	bin  string
	tmp  string
}

// startMaster starts the master of case name on db, with its log in the temp folder.
func (e *env) startMaster(ctx context.Context, name, db string, extra ...string) (*Master, error) {
	if e.opts.ProfileDir != "" {
		extra = append(extra, "--cpuprofile", filepath.Join(e.opts.ProfileDir, "master-"+name+".cpu.prof"))
	}
	return StartMaster(ctx, e.bin, db, filepath.Join(e.tmp, name+"-master.log"), extra...)
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.opts.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
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

// Run builds the master, runs the cases and returns the report.
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
	if opts.CacheDir == "" {
		return Report{}, fmt.Errorf("no cache folder")
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return Report{}, err
	}
	if opts.Root == "" {
		root, err := ModuleRoot(ctx, ".")
		if err != nil {
			return Report{}, err
		}
		opts.Root = root
	}
	e := &env{opts: opts, tmp: opts.TempDir}
	if e.tmp == "" {
		tmp, err := os.MkdirTemp(opts.CacheDir, "tmp-master-")
		if err != nil {
			return Report{}, err
		}
		e.tmp = tmp
		if !opts.KeepTemp {
			defer os.RemoveAll(tmp)
		}
	}
	r := Report{Started: time.Now().UTC(), Profile: opts.Profile, Pass: true,
		Machine: DetectMachine(ctx, opts.Root, e.tmp)}
	e.logf("machine: %s, %d cores, %s, commit %s, load %s, fsync %.2f ms",
		r.Machine.CPU, r.Machine.Cores, r.Machine.GoVersion, short(r.Machine.Commit), r.Machine.LoadAverage, r.Machine.FsyncMs)
	e.bin = opts.MasterBin
	if e.bin == "" {
		e.logf("building ffrtmp-master (CGO_ENABLED=0)")
		bin, err := BuildMaster(ctx, opts.Root, e.tmp)
		if err != nil {
			return r, err
		}
		e.bin = bin
	}
	r.Notes = notes(opts.Profile)

	run := map[string]func(context.Context) (CaseResult, error){
		"submit": e.submitCase, "lease": e.leaseCase, "list": e.listCase, "fairshare": e.fairShareCase,
	}
	for _, name := range Cases {
		if !slices.Contains(opts.Cases, name) {
			continue
		}
		c, err := run[name](ctx)
		if err != nil {
			return r, fmt.Errorf("%s: %w", name, err)
		}
		r.Cases = append(r.Cases, c)
		for _, m := range c.Metrics {
			if m.Pass != nil && !*m.Pass {
				r.Pass = false
			}
		}
	}
	r.Finished = time.Now().UTC()
	return r, nil
}

func notes(p Profile) []string {
	return []string{
		"master: a child process built with CGO_ENABLED=0 on 127.0.0.1, fsync on (a 201, a lease and a complete return after their transaction's fdatasync), " +
			"rate limit OFF (--rate-limit 0; the default 100 req/s per IP would cap one load generator), no per-IP connection cap (--max-conns-per-ip 0), metrics listener off, a fresh database per case except list",
		fmt.Sprintf("submit and list are closed loops: each client sends its next request when the previous one answered; "+
			"load generator and master share this machine's %d cores (the CPU every other process used meanwhile is a row of each case)", runtime.NumCPU()),
		fmt.Sprintf("lease: %d simulated workers are %d registered node IDs driven by at most %d concurrent requesters; a requester takes a free node, leases (wait 0), "+
			"completes the job at once (a node has 1 slot: without completing, %d nodes would be full after %d leases) and frees the node; every node heartbeats every %s. "+
			"The target applies at %.0f leases/s offered (every worker leasing once a second, 10 times the rate of 10-second jobs); the saturation rows show the most the master "+
			"gave with %d requesters back to back, where latency is queueing (Little: %d in flight ÷ rate)",
			p.Nodes, p.Nodes, p.Requesters, p.Nodes, p.Nodes, heartbeatInterval, p.LeaseRate, p.Requesters, p.Requesters),
		"load clients: each client has its own keep-alive HTTP/1.1 connection, on which a minimal hand-written client writes each request (bodies encoded once) " +
			"and reads the answer, decoding only the fields checked (net/http's client cost 80-160 µs of CPU per request here, CPU the master would not get). " +
			"Setup and checks (registering nodes, reading accepted jobs back, heartbeats) go through api.Client",
		"latency: time from sending a request to decoding its answer in the client; percentiles are nearest-rank over the measured requests",
	}
}

func short(commit string) string {
	if len(commit) > 12 && !strings.HasSuffix(commit, "-dirty") {
		return commit[:12]
	}
	if i := strings.Index(commit, "-dirty"); i > 12 {
		return commit[:12] + "-dirty"
	}
	return commit
}
