package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/internal/testport"
)

// TestFarmAgainstPrometheus proves the kit on a running farm: `ffrtmp run` with both
// /metrics on, a second ffrtmp-worker, and Debian's prometheus finding the workers through
// GET /v1/sd/prometheus and evaluating our rules (their for: shortened). Jobs run, one fails
// on purpose. Every panel expression of every dashboard and every rule must run without
// error, the core panels must return series, HighJobFailureRate must fire once the failure
// is in and not before, and stopping the second worker must fire WorkerDisconnected for it.
func TestFarmAgainstPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a farm and a Prometheus")
	}
	promBin := tool(t, "prometheus")
	bins := buildBinaries(t)
	dir := t.TempDir()
	ctx := context.Background()

	apiPort, masterMetrics, workerMetrics, w2Metrics, promPort := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	farm := startProc(t, dir, nil, bins["ffrtmp"], "run", "--port", apiPort, "--rtmp-port", "0", "--hls-port", "0",
		"--metrics-addr", "127.0.0.1:"+masterMetrics, "--worker-metrics-addr", "127.0.0.1:"+workerMetrics, "--drain-timeout", "2s")
	farm.waitOutput(t, "Ctrl-C to stop")
	keyFile := filepath.Join(dir, "ffrtmp-data", "api-key")
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	masterURL := "http://127.0.0.1:" + apiPort
	c, err := api.NewClient(masterURL, strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "ffrtmp-data", "out")
	w2 := startProc(t, dir, []string{"FFMPEG_RTMP_API_KEY=" + strings.TrimSpace(string(b))}, bins["ffrtmp-worker"],
		"--master", masterURL, "--name", "w2", "--data-dir", filepath.Join(dir, "w2"), "--input-roots", dir,
		"--output-roots", outDir, "--metrics-listen", "127.0.0.1", "--metrics-port", w2Metrics,
		"--drain-timeout", "2s", "--log-level", "warn")
	var w2ID string
	waitFor(t, 60*time.Second, "two workers online", func() bool {
		nodes, err := c.ListNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		online := 0
		for _, n := range nodes.Nodes {
			if n.Status == api.NodeOnline && n.MetricsURL != "" {
				online++
			}
			if n.Name == "w2" {
				w2ID = n.ID
			}
		}
		return online == 2 && w2ID != ""
	})

	prom := startPrometheus(t, promBin, promPort, masterMetrics, masterURL, keyFile)
	from := time.Now()
	waitFor(t, 60*time.Second, "Prometheus to scrape the master and both workers", func() bool {
		var targets struct {
			ActiveTargets []struct {
				Labels map[string]string `json:"labels"`
				Health string            `json:"health"`
			} `json:"activeTargets"`
		}
		prom.get(t, "/api/v1/targets", nil, &targets)
		up := map[string]int{}
		for _, tg := range targets.ActiveTargets {
			if tg.Health == "up" {
				up[tg.Labels["job"]]++
			}
		}
		return up["ffrtmp-master"] == 1 && up["ffrtmp-worker"] == 2
	})

	// Two jobs at once, so both workers encode, long enough for the scrapes to see their
	// per-job gauges; then the failure ratio is 0.
	var good []string
	for i := range 2 {
		j, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Parameters: &api.Parameters{Duration: 10},
			Output: filepath.Join(outDir, fmt.Sprintf("good%d.mp4", i))}, "")
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, j.ID)
	}
	waitFor(t, 2*time.Minute, "Prometheus to scrape a running job's fps", func() bool {
		return len(prom.query(t, `ffrtmp_worker_job_fps`)) > 0
	})
	ran := map[string]bool{}
	for _, id := range good {
		ran[waitJob(t, c, id, api.StatusCompleted).Node] = true
	}
	t.Logf("the good jobs ran on %d node(s)", len(ran))
	waitFor(t, 60*time.Second, "Prometheus to record the completed jobs", func() bool {
		return len(prom.query(t, `to:ffrtmp_master_job_transitions:increase15m{to="completed"} > 0`)) > 0
	})
	if a := prom.alert(t, "HighJobFailureRate", ""); a != "" {
		t.Errorf("HighJobFailureRate is %s with no job failed", a)
	}

	// A job whose input is not media fails, and the alert follows.
	bad := filepath.Join(dir, "corrupt.mp4")
	if err := os.WriteFile(bad, bytes.Repeat([]byte("not a video "), 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	noRetry := 0
	j, err := c.SubmitJob(ctx, api.JobRequest{Input: bad, Preset: "abr-720p", Output: outDir + "/bad/", MaxRetries: &noRetry}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, j.ID, api.StatusFailed)
	waitFor(t, 60*time.Second, "HighJobFailureRate to fire after the failed job", func() bool {
		return prom.alert(t, "HighJobFailureRate", "") == "firing"
	})

	checkPanels(t, prom, from, time.Now())
	checkRules(t, prom)
	checkScrapedNames(t, prom)

	// A worker that stops: its target goes down, and WorkerDisconnected fires for its node.
	w2.stop(t, syscall.SIGTERM, 30*time.Second)
	waitFor(t, 60*time.Second, "WorkerDisconnected to fire for w2", func() bool {
		return prom.alert(t, "WorkerDisconnected", w2ID) == "firing"
	})
	if a := prom.alert(t, "MasterDown", ""); a == "firing" {
		t.Errorf("MasterDown fires with the master up")
	}
	farm.stop(t, syscall.SIGINT, 30*time.Second)
}

// buildBinaries builds ffrtmp and ffrtmp-worker (cgo, FFmpeg's libraries) into a temporary
// folder: the test runs them as an operator does.
func buildBinaries(t *testing.T) map[string]string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("go", "build", "-o", out+string(filepath.Separator), "./cmd/ffrtmp", "./cmd/ffrtmp-worker")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the binaries (run through `make test`, which sets up FFmpeg): %v\n%s", err, b)
	}
	return map[string]string{"ffrtmp": filepath.Join(out, "ffrtmp"), "ffrtmp-worker": filepath.Join(out, "ffrtmp-worker")}
}

func freePort(t *testing.T) string {
	t.Helper()
	return strconv.Itoa(testport.Free(t))
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
	}
}

func waitJob(t *testing.T, c *api.Client, id string, want api.Status) *api.Job {
	t.Helper()
	var j *api.Job
	waitFor(t, 2*time.Minute, "job "+id+" to be "+string(want), func() bool {
		var err error
		if j, err = c.GetJob(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if j.Status.Terminal() && j.Status != want {
			t.Fatalf("job %s is %s, want %s: %+v", id, j.Status, want, j.Error)
		}
		return j.Status == want
	})
	return j
}

// proc is a daemon the test started; its output goes to the test log when the test fails.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan error
}

// startProc starts a program in dir with an environment free of the developer's ffrtmp
// settings; it is killed when the test ends.
func startProc(t *testing.T, dir string, env []string, path string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(path), cmd: exec.Command(path, args...), out: &syncbuf.Buffer{}, done: make(chan error, 1)}
	p.cmd.Dir, p.cmd.Stdout, p.cmd.Stderr = dir, p.out, p.out
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FFRTMP_") && k != "FFRTMP_FFMPEG_PREFIX" || k == "FFMPEG_RTMP_API_KEY" || k == "MASTER_API_KEY" || k == "HOME" {
			continue
		}
		p.cmd.Env = append(p.cmd.Env, kv)
	}
	p.cmd.Env = append(append(p.cmd.Env, "HOME="+dir), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s %s output:\n%s", p.name, strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

func (p *proc) waitOutput(t *testing.T, want string) {
	t.Helper()
	waitFor(t, time.Minute, p.name+" to print "+want, func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("%s ended (%v):\n%s", p.name, err, p.out.String())
		default:
		}
		return strings.Contains(p.out.String(), want)
	})
}

// stop signals the process and waits for it to exit cleanly.
func (p *proc) stop(t *testing.T, sig os.Signal, limit time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited with %v after %v", p.name, err, sig)
		}
	case <-time.After(limit):
		t.Fatalf("%s did not exit within %v of %v", p.name, limit, sig)
	}
}

// prometheus is a running Prometheus server.
type prometheus struct {
	base string
}

// startPrometheus runs Prometheus with a configuration like deploy/prometheus/prometheus.yml
// (job names, the worker discovery with a Bearer key file), scraping every second, and the
// shipped rules with every for: cut to 2s.
func startPrometheus(t *testing.T, bin, port, masterMetrics, masterURL, keyFile string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	recording, err := os.ReadFile("prometheus/rules/recording.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := os.ReadFile("prometheus/rules/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	forClause := regexp.MustCompile(`(?m)^(\s+for:) \S+$`)
	if len(forClause.FindAll(alerts, -1)) < len(requiredAlerts) {
		t.Fatal("alerts.yml: the for: clauses were not found; fix the test's pattern")
	}
	alerts = forClause.ReplaceAll(alerts, []byte("$1 2s"))
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [recording.yml, alerts.yml]
scrape_configs:
  - job_name: ffrtmp-master
    static_configs:
      - targets: ["127.0.0.1:%s"]
  - job_name: ffrtmp-worker
    http_sd_configs:
      - url: %s/v1/sd/prometheus
        refresh_interval: 1s
        authorization:
          type: Bearer
          credentials_file: %s
`, masterMetrics, masterURL, keyFile)
	for name, b := range map[string][]byte{"recording.yml": recording, "alerts.yml": alerts, "prometheus.yml": []byte(config)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startProc(t, dir, nil, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address=127.0.0.1:"+port, "--log.level=warn")
	prom := &prometheus{base: "http://127.0.0.1:" + port}
	waitFor(t, time.Minute, "Prometheus to be ready", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("prometheus ended (%v):\n%s", err, p.out.String())
		default:
		}
		resp, err := http.Get(prom.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return prom
}

// get calls Prometheus's HTTP API and decodes its data into v; an error answer is returned.
func (p *prometheus) get(t *testing.T, path string, q url.Values, v any) error {
	t.Helper()
	u := p.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
	if env.Status != "success" {
		return errors.New(env.Error)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return nil
}

type series struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// query runs an instant query that must succeed.
func (p *prometheus) query(t *testing.T, expr string) []series {
	t.Helper()
	var r struct {
		Result []series `json:"result"`
	}
	if err := p.get(t, "/api/v1/query", url.Values{"query": {expr}}, &r); err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	return r.Result
}

// alert is the state of the named alert ("", "pending" or "firing"), for one node when node
// is set.
func (p *prometheus) alert(t *testing.T, name, node string) string {
	t.Helper()
	var r struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get(t, "/api/v1/alerts", nil, &r); err != nil {
		t.Fatal(err)
	}
	state := ""
	for _, a := range r.Alerts {
		if a.Labels["alertname"] == name && (node == "" || a.Labels["node"] == node) && state != "firing" {
			state = a.State
		}
	}
	return state
}

// checkPanels evaluates every panel expression of every dashboard over [from, to] with
// Grafana's variables set to "All": each must run, and the core panels must return series.
func checkPanels(t *testing.T, prom *prometheus, from, to time.Time) {
	t.Helper()
	core := corePanels(t)
	seen, n, full := map[string]bool{}, 0, 0
	for _, d := range readDashboards(t) {
		for _, p := range flatten(d.Panels) {
			key := d.UID + ": " + p.Title
			got := 0
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					continue
				}
				n++
				expr := substitute(tg.Expr, "15s", "5m")
				var r struct {
					Result []series `json:"result"`
				}
				q := url.Values{"query": {expr}, "start": {strconv.FormatInt(from.Unix(), 10)},
					"end": {strconv.FormatInt(to.Unix(), 10)}, "step": {"1"}}
				if err := prom.get(t, "/api/v1/query_range", q, &r); err != nil {
					t.Errorf("%s: %s: %v", key, expr, err)
					continue
				}
				got += len(r.Result)
			}
			if core[key] {
				seen[key] = true
				if got == 0 {
					t.Errorf("core panel %q returned no series on a running farm", key)
				} else {
					full++
				}
			}
		}
	}
	for k := range core {
		if !seen[k] {
			t.Errorf("core-panels.txt names %q, which no dashboard has", k)
		}
	}
	t.Logf("evaluated %d panel expressions; %d of %d core panels returned series", n, full, len(core))
}

func corePanels(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("grafana/core-panels.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out
}

// checkRules asks Prometheus how its last evaluation of each recording and alert rule went,
// and runs each expression once more through the query API.
func checkRules(t *testing.T, prom *prometheus) {
	t.Helper()
	var r struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Query     string `json:"query"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
				Type      string `json:"type"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := prom.get(t, "/api/v1/rules", nil, &r); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			names = append(names, rule.Name)
			if rule.Health != "ok" || rule.LastError != "" {
				t.Errorf("rule %s (%s): health %q, %s", rule.Name, g.Name, rule.Health, rule.LastError)
			}
			var res json.RawMessage
			if err := prom.get(t, "/api/v1/query", url.Values{"query": {rule.Query}}, &res); err != nil {
				t.Errorf("rule %s: %s: %v", rule.Name, rule.Query, err)
			}
		}
	}
	for _, a := range requiredAlerts {
		if !slices.Contains(names, a) {
			t.Errorf("Prometheus did not load alert %s", a)
		}
	}
	t.Logf("Prometheus evaluated %d rules without error", len(names))
}

// checkScrapedNames compares the metric names the dashboards and rules use with those the
// running farm really exports (every series Prometheus scraped from the master and the two
// workers). A name the farm did not export must be one that only shows on a farm using what
// it measures (conditionalMetrics); the source scan of TestRuleMetricsExist and
// TestDashboards still holds those to the code's registry.
func checkScrapedNames(t *testing.T, prom *prometheus) {
	t.Helper()
	var names []string
	if err := prom.get(t, "/api/v1/label/__name__/values", nil, &names); err != nil {
		t.Fatal(err)
	}
	scraped := map[string]bool{}
	for _, n := range names {
		scraped[n] = true
	}
	recorded := recordedNames(t)
	var exprs []string
	for _, d := range readDashboards(t) {
		for _, p := range flatten(d.Panels) {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
		}
	}
	for _, f := range []string{"recording.yml", "alerts.yml"} {
		for _, r := range readRules(t, filepath.Join("prometheus", "rules", f)) {
			exprs = append(exprs, r.Expr)
		}
	}
	missing := map[string]bool{}
	for _, e := range exprs {
		for _, id := range ident.FindAllString(quoted.ReplaceAllString(e, `""`), -1) {
			if strings.HasPrefix(id, "ffrtmp_") && len(checkNames("", id, scraped, recorded)) > 0 {
				missing[id] = true
			}
		}
	}
	var conditional []string
	for id := range missing {
		i := slices.IndexFunc(conditionalMetrics, func(c [2]string) bool { return strings.HasPrefix(id, c[0]) })
		if i < 0 {
			t.Errorf("the dashboards or rules use %s, which the running farm does not export", id)
			continue
		}
		conditional = append(conditional, id+" ("+conditionalMetrics[i][1]+")")
	}
	slices.Sort(conditional)
	t.Logf("used but exported only by a farm that uses what they measure:\n  %s", strings.Join(conditional, "\n  "))
}

// conditionalMetrics are the name prefixes of metrics that appear only on a farm doing what
// they measure, with what that is: a CPU-only, single-master farm without TLS, webhooks,
// backups or a live stream does not export them.
var conditionalMetrics = [][2]string{
	{"ffrtmp_live_", "a live job running"},
	{"ffrtmp_rtmp_input_", "a stream publishing"},
	{"ffrtmp_rtmp_dropped_frames_total", "a stream publishing"},
	{"ffrtmp_master_backup", "--backup-dir"},
	{"ffrtmp_master_raft_", "replicated masters"},
	{"ffrtmp_master_tls_cert_expiry_", "TLS"},
	{"ffrtmp_worker_tls_cert_expiry_", "a client certificate"},
	{"ffrtmp_master_webhook_", "a job with a callback_url"},
	{"ffrtmp_worker_gpu_", "a GPU (NVML)"},
}
