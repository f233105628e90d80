package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

const adminKey = "cmd-test-admin-key"

// statusOf is the HTTP status of an API error, 0 for nil or an error without one.
func statusOf(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// TestCrashKeepsAcknowledgedJobs kills the master with SIGKILL while clients submit, twice,
// and checks after each restart that every job answered 201 is stored: a 201 means on disk.
func TestCrashKeepsAcknowledgedJobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "crash.db")
	args := quiet(db, "--api-key", adminKey)
	acked := map[string]string{} // job ID → the label the client gave it
	for cycle := 1; cycle <= 2; cycle++ {
		p := startMaster(t, dir, env(), args...)
		if cycle > 1 {
			checkJobs(t, p, acked) // the previous crash lost nothing before more load comes
		}
		got := submitUntilKilled(t, p, cycle, 8, 200)
		for id, label := range got {
			acked[id] = label
		}
		t.Logf("cycle %d: %d jobs acknowledged before SIGKILL", cycle, len(got))
	}
	p := startMaster(t, dir, env(), args...)
	checkJobs(t, p, acked)
	p.stop(t)
}

// submitUntilKilled runs clients that submit jobs in a loop, SIGKILLs the master once at
// least kill submissions were acknowledged (others are in flight then), and returns the
// acknowledged jobs.
func submitUntilKilled(t *testing.T, p *proc, cycle, clients, kill int) map[string]string {
	t.Helper()
	c := p.client(t, adminKey)
	var (
		mu      sync.Mutex
		acked   = map[string]string{}
		reached = make(chan struct{})
		killed  atomic.Bool
		wg      sync.WaitGroup
	)
	for i := range clients {
		wg.Go(func() {
			for n := 0; ; n++ {
				label := fmt.Sprintf("c%d-%d-%d", cycle, i, n)
				req := api.JobRequest{Scenario: "720p30-h264", Queue: api.Queues[n%len(api.Queues)], Priority: n % 50,
					Labels: map[string]string{"seq": label}}
				job, err := c.SubmitJob(context.Background(), req, "")
				if err != nil {
					if !killed.Load() {
						t.Errorf("client %d: submit before the kill: %v", i, err)
					}
					return
				}
				mu.Lock()
				acked[job.ID] = label
				if len(acked) == kill {
					close(reached)
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-reached:
	case <-time.After(2 * time.Minute):
		t.Fatalf("fewer than %d submissions acknowledged in 2 minutes", kill)
	}
	killed.Store(true)
	p.signal(t, syscall.SIGKILL)
	wg.Wait()
	st := p.wait(t, 10*time.Second)
	if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("master ended with %v, want killed by SIGKILL", st)
	}
	mu.Lock()
	defer mu.Unlock()
	return acked
}

// checkJobs finds every job of acked (ID → label) on the master, and at least as many in
// the list.
func checkJobs(t *testing.T, p *proc, acked map[string]string) {
	t.Helper()
	ctx := context.Background()
	c := p.client(t, adminKey)
	missing := 0
	for id, label := range acked {
		job, err := c.GetJob(ctx, id)
		if err != nil {
			missing++
			if missing <= 10 {
				t.Errorf("job %s (%s) got a 201 but after the restart: %v", id, label, err)
			}
			continue
		}
		if job.Labels["seq"] != label || job.Status != api.StatusQueued {
			t.Errorf("job %s after the restart: label %q status %s, want %q queued", id, job.Labels["seq"], job.Status, label)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged jobs lost", missing, len(acked))
	}
	listed := 0
	if err := c.ListAllJobs(ctx, api.ListJobsOptions{Limit: 500}, func(api.Job) error { listed++; return nil }); err != nil {
		t.Fatal(err)
	}
	if listed < len(acked) {
		t.Fatalf("GET /v1/jobs lists %d jobs, want at least the %d acknowledged", listed, len(acked))
	}
}

// TestIssueExample runs the command line the issue gives, `ffrtmp-master --port P --db m.db
// --api-key K`, and submits the issue's example bodies with plain HTTP.
func TestIssueExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	// The metrics listener moves off the default :9090 through the environment, so tests
	// running side by side do not fight over it; the command line stays as written.
	p := startMaster(t, dir, env("FFRTMP_MASTER_METRICS_ADDR=127.0.0.1:0"),
		"--port", strconv.Itoa(port), "--db", "m.db", "--api-key", "K")
	if want := ":" + strconv.Itoa(port); !strings.HasSuffix(p.URL, want) {
		t.Fatalf("master serves %s, want port %d", p.URL, port)
	}
	if _, err := os.Stat(filepath.Join(dir, "m.db")); err != nil {
		t.Fatalf("--db m.db is not in the working directory: %v", err)
	}
	for _, body := range []string{
		`{"scenario":"4k60","queue":"live","priority":50}`,
		`{"scenario":"720p30-h264","parameters":{"duration":3},"output":"file:///srv/out/j1/"}`,
		`{"input":"file:///srv/in/a.mp4","preset":"abr-720p","output":"file:///srv/out/j2/"}`,
	} {
		req, err := http.NewRequest(http.MethodPost, p.URL+"/v1/jobs", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer K")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var job struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &job) != nil || job.ID == "" || job.Status != "queued" {
			t.Errorf("POST /v1/jobs %s: %d %s, want 201 with an id and \"status\":\"queued\"", body, resp.StatusCode, raw)
		}
	}
	if p.MetricsAddr == "off" {
		t.Fatal("FFRTMP_MASTER_METRICS_ADDR did not turn the metrics listener on")
	}
	resp, err := http.Get("http://" + p.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `ffrtmp_master_jobs_total{status="queued"} 3`; !strings.Contains(string(raw), want) {
		t.Errorf("/metrics lacks %q", want)
	}
	p.stop(t)
}

func TestNoAPIKeyRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, stderr, code := run(t, dir, env(), "", quiet(filepath.Join(dir, "m.db"))...)
	if code == 0 {
		t.Fatalf("a master without any API key exited 0:\n%s", stderr)
	}
	for _, want := range []string{"--api-key", "MASTER_API_KEY"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not name %s:\n%s", want, stderr)
		}
	}
}

func TestAPIKeyFromEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startMaster(t, dir, env("MASTER_API_KEY=env-key"), quiet(filepath.Join(dir, "m.db"))...)
	ctx := context.Background()
	if _, err := p.client(t, "env-key").ListJobs(ctx, api.ListJobsOptions{}); err != nil {
		t.Fatalf("MASTER_API_KEY's key: %v", err)
	}
	if _, err := p.client(t, "other-key").ListJobs(ctx, api.ListJobsOptions{}); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("another key: %v, want 401", err)
	}
	p.stop(t)
}

func TestPortFromEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	p := startMaster(t, dir, env(fmt.Sprintf("FFRTMP_MASTER_PORT=%d", port)),
		"--db", filepath.Join(dir, "m.db"), "--listen", "127.0.0.1", "--metrics-addr", "", "--api-key", adminKey)
	if want := fmt.Sprintf("http://127.0.0.1:%d", port); p.URL != want {
		t.Fatalf("master serves %s, want %s (FFRTMP_MASTER_PORT)", p.URL, want)
	}
	p.stop(t)
}

// TestConfigPrecedence: a YAML --config file sets everything; the environment beats it and
// flags beat both.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ports := []int{freePort(t), freePort(t), freePort(t)}
	cfg := filepath.Join(dir, "master.yaml")
	writeFile(t, cfg, fmt.Sprintf("# ffrtmp-master configuration\nport: %d\napi-key: file-key\nrate-limit: 0\nlisten: 127.0.0.1\nmetrics-addr: \"\"\ndb: %s\nmax-retries: 5\n",
		ports[0], filepath.Join(dir, "m.db")))
	cases := []struct {
		name     string
		environ  []string
		args     []string
		port     int
		key      string
		loserKey string // a key a lower layer set, refused now
	}{
		{"file", env(), nil, ports[0], "file-key", ""},
		{"MASTER_API_KEY beats file", env("MASTER_API_KEY=master-env-key"), nil, ports[0], "master-env-key", "file-key"},
		{"env beats file", env(fmt.Sprintf("FFRTMP_MASTER_PORT=%d", ports[1]), "FFRTMP_MASTER_API_KEY=env-key"), nil, ports[1], "env-key", "file-key"},
		{"flag beats env", env(fmt.Sprintf("FFRTMP_MASTER_PORT=%d", ports[1]), "FFRTMP_MASTER_API_KEY=env-key"),
			[]string{"--port", strconv.Itoa(ports[2]), "--api-key", "flag-key"}, ports[2], "flag-key", "env-key"},
	}
	for _, tc := range cases {
		p := startMaster(t, dir, tc.environ, append([]string{"--config", cfg}, tc.args...)...)
		if want := fmt.Sprintf("http://127.0.0.1:%d", tc.port); p.URL != want {
			t.Errorf("%s: master serves %s, want %s", tc.name, p.URL, want)
		}
		if _, err := p.client(t, tc.key).ListJobs(context.Background(), api.ListJobsOptions{}); err != nil {
			t.Errorf("%s: key %q: %v", tc.name, tc.key, err)
		}
		if tc.loserKey != "" {
			if _, err := p.client(t, tc.loserKey).ListJobs(context.Background(), api.ListJobsOptions{}); statusOf(err) != http.StatusUnauthorized {
				t.Errorf("%s: overridden key %q: %v, want 401", tc.name, tc.loserKey, err)
			}
		}
		p.stop(t)
	}
}

func TestConfigUnknownKeyRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "master.yaml")
	writeFile(t, cfg, "port: 0\nmax-retires: 5\n")
	_, stderr, code := run(t, dir, env(), "", quiet(filepath.Join(dir, "m.db"), "--api-key", adminKey, "--config", cfg)...)
	if code == 0 {
		t.Fatalf("a config file with a misspelt key was accepted:\n%s", stderr)
	}
	if !strings.Contains(stderr, `"max-retires"`) {
		t.Fatalf("stderr does not name the unknown key max-retires:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "m.db")); err == nil {
		t.Error("the database was created although the configuration was refused")
	}
}

func TestHashKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want := auth.HashKey("K-secret")
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(want) {
		t.Fatalf("auth.HashKey = %q, want sha256:<64 hex>", want)
	}
	for _, tc := range []struct{ name, stdin string }{{"argument", ""}, {"stdin", "K-secret\n"}} {
		args := []string{"hash-key"}
		if tc.stdin == "" {
			args = append(args, "K-secret")
		}
		stdout, stderr, code := run(t, dir, env(), tc.stdin, args...)
		if code != 0 || strings.TrimSpace(stdout) != want {
			t.Errorf("hash-key from %s: exit %d, stdout %q, want %q\n%s", tc.name, code, stdout, want, stderr)
		}
	}
}

// TestGenKeyWorker: gen-key prints a key and the keys-file entry that admits it; written
// into a keys file, the key authenticates with the worker role.
func TestGenKeyWorker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdout, stderr, code := run(t, dir, env(), "", "gen-key", "--role", "worker", "--name", "gpu-1")
	if code != 0 {
		t.Fatalf("gen-key: exit %d\n%s", code, stderr)
	}
	var key string
	var entry strings.Builder
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "# "); ok && strings.HasPrefix(k, "ffk_") {
			key = k
		}
		if !strings.HasPrefix(line, "#") {
			entry.WriteString(line + "\n")
		}
	}
	if key == "" || !strings.Contains(entry.String(), "role: worker") {
		t.Fatalf("gen-key printed no key or no worker entry:\n%s", stdout)
	}
	keys := filepath.Join(dir, "keys.yaml")
	writeFile(t, keys, "keys:\n"+entry.String())
	p := startMaster(t, dir, env(), quiet(filepath.Join(dir, "m.db"), "--keys-file", keys)...)
	c := p.client(t, key)
	ctx := context.Background()
	if _, err := c.Register(ctx, api.Registration{Name: "gpu-1", Capabilities: api.Capabilities{CPUs: 2, Slots: 1}}); err != nil {
		t.Fatalf("worker route with the generated key: %v", err)
	}
	if _, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, ""); statusOf(err) != http.StatusForbidden {
		t.Fatalf("submitter route with the worker key: %v, want 403", err)
	}
	if _, err := p.client(t, key+"x").ListNodes(ctx); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("a key that is not in the file: %v, want 401", err)
	}

	if _, stderr, code := run(t, dir, env(), "", "gen-key", "--role", "root"); code == 0 || !strings.Contains(stderr, "root") {
		t.Errorf("gen-key --role root: exit %d, stderr %q; want a refusal naming the role", code, stderr)
	}
	p.stop(t)
}

// TestSIGTERM: the master stops within its shutdown timeout with exit status 0, answers a
// lease long-poll that was waiting, and leaves the database whole for the next start.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	const shutdown = 10 * time.Second
	p := startMaster(t, dir, env(), quiet(db, "--api-key", adminKey, "--shutdown-timeout", shutdown.String())...)
	ctx := context.Background()
	c := p.client(t, adminKey)
	var ids []string
	for range 3 {
		// The node below lacks the label, so the lease waits instead of taking these.
		job, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Requirements: api.Requirements{Labels: map[string]string{"pool": "elsewhere"}}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	node, err := c.Register(ctx, api.Registration{Name: "w", Capabilities: api.Capabilities{CPUs: 2, Encoders: []string{"libx264"}, Slots: 1}})
	if err != nil {
		t.Fatal(err)
	}

	type answer struct {
		status int
		err    error
	}
	sent := make(chan struct{})
	answered := make(chan answer, 1)
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost,
			p.URL+"/v1/nodes/"+node.ID+"/lease?wait=30s", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set(api.NodeSecretHeader, node.Secret)
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered <- answer{status: resp.StatusCode}
	}()
	<-sent
	// Give the master a moment to read the request: then it is a long poll in progress,
	// not a connection it has not looked at yet.
	time.Sleep(200 * time.Millisecond)

	p.signal(t, syscall.SIGTERM)
	select {
	case a := <-answered:
		switch {
		case a.err != nil:
			t.Errorf("the waiting lease got no answer, only %v", a.err)
		case a.status != http.StatusNoContent && a.status != http.StatusServiceUnavailable:
			t.Errorf("the waiting lease was answered %d, want 204 (no job) or 503", a.status)
		}
	case <-time.After(shutdown):
		t.Error("the waiting lease was still unanswered after the shutdown timeout")
	}
	if st := p.wait(t, shutdown); st.ExitCode() != 0 {
		t.Fatalf("after SIGTERM: %v, want exit status 0", st)
	}

	p = startMaster(t, dir, env(), quiet(db, "--api-key", adminKey)...)
	c = p.client(t, adminKey)
	for _, id := range ids {
		if job, err := c.GetJob(ctx, id); err != nil || job.Status != api.StatusQueued {
			t.Errorf("job %s after the restart: %v %v, want it queued", id, job, err)
		}
	}
	p.stop(t)
}

func TestSecondMasterOnSameDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	p := startMaster(t, dir, env(), quiet(db, "--api-key", adminKey)...)
	_, stderr, code := run(t, dir, env(), "", quiet(db, "--api-key", adminKey)...)
	if code == 0 || !strings.Contains(stderr, "another process holds it") {
		t.Fatalf("second master on %s: exit %d, stderr:\n%s\nwant a failure saying \"another process holds it\"", db, code, stderr)
	}
	// The first one is unharmed.
	if _, err := p.client(t, adminKey).ListJobs(context.Background(), api.ListJobsOptions{}); err != nil {
		t.Fatal(err)
	}
	p.stop(t)
}

// TestKeysFileSIGHUP rotates a key without a restart: the file gets key B instead of key A,
// SIGHUP, and B works while A is refused. A broken file on a later SIGHUP keeps the keys.
func TestKeysFileSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.yaml")
	keyFile := func(name, key string) string {
		return fmt.Sprintf("keys:\n  - name: %s\n    role: submitter\n    sha256: %s\n", name, auth.HashKey(key))
	}
	writeFile(t, keys, keyFile("a", "key-A"))
	p := startMaster(t, dir, env(), quiet(filepath.Join(dir, "m.db"), "--keys-file", keys)...)
	ctx := context.Background()
	a, b := p.client(t, "key-A"), p.client(t, "key-B")
	if _, err := a.ListJobs(ctx, api.ListJobsOptions{}); err != nil {
		t.Fatalf("key A before the rotation: %v", err)
	}
	if _, err := b.ListJobs(ctx, api.ListJobsOptions{}); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("key B before the rotation: %v, want 401", err)
	}

	writeFile(t, keys, keyFile("b", "key-B"))
	p.signal(t, syscall.SIGHUP)
	p.waitLog(t, "API keys reloaded", 1)
	if _, err := b.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
		t.Fatalf("key B after SIGHUP: %v", err)
	}
	if _, err := a.ListJobs(ctx, api.ListJobsOptions{}); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("key A after SIGHUP: %v, want 401", err)
	}

	writeFile(t, keys, "keys:\n  - name: c\n    role: superuser\n    sha256: nothex\n")
	p.signal(t, syscall.SIGHUP)
	p.waitLog(t, "API keys not reloaded", 1)
	if _, err := b.ListJobs(ctx, api.ListJobsOptions{}); err != nil {
		t.Fatalf("key B after a SIGHUP with a broken file: %v (the previous keys must stay)", err)
	}
	p.stop(t)
}

// TestSIGHUPRightAfterStart: a SIGHUP the moment the master says it listens reloads keys
// instead of killing the process (SIGHUP's default action), every time.
func TestSIGHUPRightAfterStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	for i := range 10 {
		p := launch(t, dir, env(), quiet(db, "--api-key", adminKey)...)
		p.waitListening(t)
		p.signal(t, syscall.SIGHUP)
		p.waitLog(t, "API keys reloaded", 1)
		if _, err := p.client(t, adminKey).ListJobs(context.Background(), api.ListJobsOptions{}); err != nil {
			t.Fatalf("start %d: after an early SIGHUP: %v", i, err)
		}
		p.stop(t)
	}
}
