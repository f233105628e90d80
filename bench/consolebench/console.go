package consolebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/bench/benchio"
	"github.com/ffrtmp/ffrtmp/bench/masterbench"
)

// Targets the issue sets for the jobs page.
const (
	TargetFirstRenderMs = 300 // first render of the jobs page
	TargetLongTaskMs    = 50  // no long task over this from live updates
)

// Options configure a run.
type Options struct {
	Jobs    int           // stored (default 1,000,000)
	Running int           // running jobs reporting progress every second (default 1000)
	Nodes   int           // simulated nodes they run on (default 20)
	Watch   time.Duration // how long the page takes live updates (default 30 s)
	Loads   int           // first renders measured (default 5; the median is reported)
	// CacheDir keeps the database of stored jobs between runs (it is masterbench's list
	// database, shared with bench-master).
	CacheDir  string
	MasterBin string // run this ffrtmp-master instead of building one
	Chromium  string // the browser (default: chromium on PATH)
	Log       io.Writer
}

func (o *Options) defaults() {
	if o.Jobs == 0 {
		o.Jobs = 1_000_000
	}
	if o.Running == 0 {
		o.Running = 1000
	}
	if o.Nodes == 0 {
		o.Nodes = 20
	}
	if o.Watch == 0 {
		o.Watch = 30 * time.Second
	}
	if o.Loads == 0 {
		o.Loads = 5
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Report is what a run measured.
type Report struct {
	Started time.Time     `json:"started"`
	Machine benchio.Host  `json:"machine"`
	Commit  string        `json:"commit,omitempty"`
	Browser string        `json:"browser"`
	Jobs    int           `json:"jobs_stored"`
	Running int           `json:"jobs_running"`
	Watch   time.Duration `json:"watch_ns"`

	// FirstRenderMs are the jobs page's first renders, from navigation start to the table
	// holding the first page (performance mark ffrtmp:jobs-rendered), one per load.
	FirstRenderMs       []float64 `json:"first_render_ms"`
	FirstRenderMedianMs float64   `json:"first_render_median_ms"`
	// LastLoad is what the last measured load fetched, when and for how long.
	LastLoad []resource `json:"last_load"`
	// RunningFirstRenderMs is the first render of the running jobs (status=running), the
	// page then watched for live updates.
	RunningFirstRenderMs float64 `json:"running_first_render_ms"`
	// While the page took live updates for Watch:
	ProgressReportsPerSec float64   `json:"progress_reports_per_sec"` // accepted by the master
	JobEventsPerSec       float64   `json:"job_events_per_sec"`       // received by the page
	RowUpdatesPerSec      float64   `json:"row_updates_per_sec"`      // visible rows changed
	LongTasks             int       `json:"long_tasks"`               // over 50 ms
	LongTaskMaxMs         float64   `json:"long_task_max_ms"`
	LongTaskMs            []float64 `json:"long_task_ms,omitempty"`
	ProgressErrors        int       `json:"progress_errors"`
	LastError             string    `json:"last_progress_error,omitempty"`
	Pass                  bool      `json:"pass"`
}

// probe is injected into every document before the console's own scripts: it records long
// tasks, job events and the visible rows' changes.
const probe = `(() => {
  const p = window.__bench = { long: [], jobEvents: 0, rowUpdates: 0 };
  new PerformanceObserver((l) => { for (const e of l.getEntries()) p.long.push(e.duration); })
    .observe({ type: 'longtask', buffered: true });
  const ES = window.EventSource;
  window.EventSource = class extends ES {
    constructor(url, init) { super(url, init); this.addEventListener('job', () => { p.jobEvents++; }); }
  };
  new MutationObserver((ms) => {
    for (const m of ms) if (m.target.closest && m.target.closest('#jobs-table tbody')) p.rowUpdates++;
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})();`

// Run builds (or takes) the master, starts it on a copy of the stored jobs with the
// running ones reporting progress, and measures the jobs page in chromium.
func Run(ctx context.Context, opts Options) (Report, error) {
	opts.defaults()
	rep := Report{Started: time.Now().UTC(), Machine: benchio.DetectHost(), Jobs: opts.Jobs, Running: opts.Running, Watch: opts.Watch}
	browser := opts.Chromium
	if browser == "" {
		p, err := exec.LookPath("chromium")
		if err != nil {
			return rep, errors.New("chromium is not installed (make deps installs it)")
		}
		browser = p
	}
	tmp, err := os.MkdirTemp(opts.CacheDir, "console-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(tmp)
	bin := opts.MasterBin
	if bin == "" {
		root, err := masterbench.ModuleRoot(ctx, ".")
		if err != nil {
			return rep, err
		}
		fmt.Fprintln(opts.Log, "console: building ffrtmp-master (CGO_ENABLED=0)")
		if bin, err = masterbench.BuildMaster(ctx, root, tmp); err != nil {
			return rep, err
		}
		rep.Commit = commit(ctx, root)
	}
	fmt.Fprintf(opts.Log, "console: database of %d jobs in %s\n", opts.Jobs, opts.CacheDir)
	ldb, err := masterbench.EnsureListDB(ctx, opts.CacheDir, opts.Jobs)
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(opts.Log, "console: starting the master on a copy (%.0f MB), %d running jobs on %d nodes\n", float64(ldb.Bytes)/1e6, opts.Running, opts.Nodes)
	f, err := startFarm(ctx, bin, ldb.Path, tmp, opts.Running, opts.Nodes)
	if err != nil {
		return rep, err
	}
	defer f.stop()
	rctx, stopReports := context.WithCancel(ctx)
	reported := make(chan struct{})
	go func() { f.report(rctx, 16); close(reported) }()
	defer func() { stopReports(); <-reported }()

	cookie, err := login(ctx, f.master.URL)
	if err != nil {
		return rep, err
	}
	aopts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(browser),
		chromedp.WindowSize(1280, 720), chromedp.DisableGPU, chromedp.Flag("no-sandbox", os.Geteuid() == 0))
	actx, cancelA := chromedp.NewExecAllocator(ctx, aopts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	// The first run starts the browser, which lives as long as bctx.
	if rep.Browser, err = chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`)); err != nil {
		return rep, fmt.Errorf("start chromium: %w", err)
	}
	err = chromedp.Do(bctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		httpOnly := true
		if _, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: cookie.Name, Value: cookie.Value,
			URL: f.master.URL, HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteStrict}); err != nil {
			return fmt.Errorf("set the session cookie: %w", err)
		}
		if _, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probe}); err != nil {
			return fmt.Errorf("add the probe: %w", err)
		}
		return nil
	}))
	if err != nil {
		return rep, err
	}

	for i := range opts.Loads + 1 { // the first load warms the caches and is not counted
		ms, err := firstRender(bctx, f.master.URL, "#/jobs")
		if err != nil {
			return rep, err
		}
		fmt.Fprintf(opts.Log, "console: load %d: jobs page rendered in %.1f ms\n", i, ms)
		if i == opts.Loads {
			rep.LastLoad, err = chromedp.Run(bctx, chromedp.Evaluate[[]resource](`[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
			  .map(e => ({name: e.name.replace(location.origin, ''), start_ms: e.startTime, duration_ms: e.duration}))`))
			if err != nil {
				return rep, err
			}
		}
		if i > 0 {
			rep.FirstRenderMs = append(rep.FirstRenderMs, ms)
		}
	}
	rep.FirstRenderMedianMs = median(rep.FirstRenderMs)

	// Live updates: the running jobs, as an operator watches them.
	if rep.RunningFirstRenderMs, err = firstRender(bctx, f.master.URL, "#/jobs?status=running"); err != nil {
		return rep, err
	}
	before, err := chromedp.Run(bctx, chromedp.Evaluate[probeState](`(window.__bench.long = [], window.__bench)`))
	if err != nil {
		return rep, err
	}
	reports0 := f.reports.Load()
	fmt.Fprintf(opts.Log, "console: watching live updates for %s\n", opts.Watch)
	select {
	case <-time.After(opts.Watch):
	case <-ctx.Done():
		return rep, ctx.Err()
	}
	after, err := chromedp.Run(bctx, chromedp.Evaluate[probeState](`window.__bench`))
	if err != nil {
		return rep, err
	}
	secs := opts.Watch.Seconds()
	rep.ProgressReportsPerSec = float64(f.reports.Load()-reports0) / secs
	rep.JobEventsPerSec = float64(after.JobEvents-before.JobEvents) / secs
	rep.RowUpdatesPerSec = float64(after.RowUpdates-before.RowUpdates) / secs
	for _, d := range after.Long {
		if d > TargetLongTaskMs {
			rep.LongTasks++
			rep.LongTaskMs = append(rep.LongTaskMs, d)
			rep.LongTaskMaxMs = max(rep.LongTaskMaxMs, d)
		}
	}
	rep.ProgressErrors = int(f.errs.Load())
	if e, ok := f.lastErr.Load().(string); ok {
		rep.LastError = e
	}
	rep.Pass = rep.FirstRenderMedianMs <= TargetFirstRenderMs && rep.RunningFirstRenderMs <= TargetFirstRenderMs &&
		rep.LongTasks == 0 && rep.JobEventsPerSec > 0
	return rep, nil
}

// resource is one fetch of a page load (Resource Timing).
type resource struct {
	Name       string  `json:"name"`
	StartMs    float64 `json:"start_ms"`
	DurationMs float64 `json:"duration_ms"`
}

// probeState is what the probe has counted.
type probeState struct {
	Long       []float64 `json:"long"`
	JobEvents  int       `json:"jobEvents"`
	RowUpdates int       `json:"rowUpdates"`
}

// firstRender loads the jobs page (route: its hash) afresh and returns its first render in
// ms after the navigation started.
func firstRender(ctx context.Context, base, route string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(base+"/ui/"+route)); err != nil {
		return 0, fmt.Errorf("load the jobs page: %w", err)
	}
	ms, err := chromedp.Run(ctx, chromedp.Poll[float64](`(() => { const m = performance.getEntriesByName('ffrtmp:jobs-rendered'); return m.length ? m[0].startTime : 0; })()`,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		return 0, fmt.Errorf("wait for the jobs page's first render: %w", err)
	}
	return ms, nil
}

// login trades the bench's key for a console session cookie.
func login(ctx context.Context, base string) (*http.Cookie, error) {
	body, _ := json.Marshal(map[string]string{"api_key": masterbench.APIKey})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/session", strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("log in: %w", err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			return c, nil
		}
	}
	return nil, fmt.Errorf("log in: %s gave no session cookie", resp.Status)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// commit is the module's git commit, when it is a git checkout.
func commit(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// WriteJSON writes the report as dir/console-<time>.json and dir/console-latest.json.
func (r Report) WriteJSON(dir string) (string, error) {
	return benchio.WriteJSON(dir, "console", r.Started, r)
}

// WriteTable prints the measurements against their targets.
func (r Report) WriteTable(w io.Writer) {
	ok := func(b bool) string {
		if b {
			return "yes"
		}
		return "NO"
	}
	fmt.Fprintf(w, "%-52s %14s %10s %4s\n", "MEASURE", "VALUE", "TARGET", "OK")
	fmt.Fprintf(w, "%-52s %14d %10s %4s\n", "jobs stored", r.Jobs, "", "")
	fmt.Fprintf(w, "%-52s %14d %10s %4s\n", "running jobs reporting progress every second", r.Running, "", "")
	fmt.Fprintf(w, "%-52s %14.1f %10s %4s\n", "progress reports accepted per second", r.ProgressReportsPerSec, "", "")
	fmt.Fprintf(w, "%-52s %14.1f %10s %4s\n", fmt.Sprintf("jobs page first render, median of %d (ms)", len(r.FirstRenderMs)), r.FirstRenderMedianMs,
		fmt.Sprintf("≤ %d", TargetFirstRenderMs), ok(r.FirstRenderMedianMs <= TargetFirstRenderMs))
	fmt.Fprintf(w, "%-52s %14.1f %10s %4s\n", "running jobs page (status=running) first render (ms)", r.RunningFirstRenderMs,
		fmt.Sprintf("≤ %d", TargetFirstRenderMs), ok(r.RunningFirstRenderMs <= TargetFirstRenderMs))
	fmt.Fprintf(w, "%-52s %14.1f %10s %4s\n", "job events received by the page per second", r.JobEventsPerSec, "> 0", ok(r.JobEventsPerSec > 0))
	fmt.Fprintf(w, "%-52s %14.1f %10s %4s\n", "changes to the shown rows per second (DOM records)", r.RowUpdatesPerSec, "", "")
	fmt.Fprintf(w, "%-52s %14d %10s %4s\n", fmt.Sprintf("long tasks over %d ms in %s of updates", TargetLongTaskMs, r.Watch), r.LongTasks, "0", ok(r.LongTasks == 0))
	if r.LongTasks > 0 {
		fmt.Fprintf(w, "%-52s %14.1f\n", "longest task (ms)", r.LongTaskMaxMs)
	}
	if r.ProgressErrors > 0 {
		fmt.Fprintf(w, "progress reports refused: %d (last: %s)\n", r.ProgressErrors, r.LastError)
	}
}
