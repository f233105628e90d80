package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// ---- golden tables ----

// jobsNow is "now" in the golden tests.
var jobsNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func jobsAt(ago time.Duration) *time.Time {
	t := jobsNow.Add(-ago)
	return &t
}

func jobsPtr[T any](v T) *T { return &v }

// jobsFixtures are one job per interesting state, with fixed IDs and times.
func jobsFixtures() []api.Job {
	node, gpuNode := "node-01jnq7w5j8x3v2c4b6n8m0k2h4", "node-01jnq7w5j8x3v2c4b6n8m0k2h5"
	return []api.Job{
		{ID: "01JNQ8A0000000000000000001", Status: api.StatusRunning, Phase: api.PhaseTranscoding, Queue: "live", Priority: 50,
			Scenario: "4k60", Parameters: &api.Parameters{Duration: 30, Bitrate: 20_000_000},
			Spec: spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 3840, Height: 2160, FPS: spec.Rate{Num: 60, Den: 1}, Duration: 30}},
				Outputs: []spec.Output{{Name: "4k60", Container: "null", Video: &spec.Video{Codec: "libx264", Bitrate: 20_000_000}}}},
			MaxRetries: 3, Attempts: 1, Node: node,
			Progress:  &api.Progress{Percent: 45.25, FPS: 118.4, Speed: 1.97, ETA: jobsPtr(12.4), Frames: 815, At: jobsNow.Add(-time.Second)},
			CreatedAt: jobsNow.Add(-95 * time.Second), UpdatedAt: jobsNow, AssignedAt: jobsAt(80 * time.Second), StartedAt: jobsAt(79 * time.Second)},
		{ID: "01JNQ8A0000000000000000002", Status: api.StatusQueued, Queue: "medium", Preset: "abr-720p",
			Input: "file:///srv/in/a.mp4", Output: "file:///srv/out/j2/",
			Spec: spec.Spec{Input: spec.Input{URL: "/srv/in/a.mp4"}, Outputs: []spec.Output{
				{Name: "720p", Container: "hls", Target: "/srv/out/j2", Video: &spec.Video{Codec: "libx264", Height: 720, Bitrate: 3_000_000}},
				{Name: "480p", Container: "hls", Target: "/srv/out/j2", Video: &spec.Video{Codec: "libx264", Height: 480, Bitrate: 1_500_000}}}},
			MaxRetries: 3, Labels: map[string]string{"team": "video", "env": "prod"},
			Requirements: api.Requirements{Encoder: "h264_nvenc", Hardware: "cuda", MinGPUMemoryMB: 8000, Labels: map[string]string{"zone": "a"}},
			MaxRunTime:   api.Duration(2 * time.Hour), CallbackURL: "https://hooks.example.com/ffrtmp",
			CreatedAt: jobsNow.Add(-12 * time.Minute), UpdatedAt: jobsNow.Add(-12 * time.Minute)},
		{ID: "01JNQ8A0000000000000000003", Status: api.StatusCompleted, Queue: "batch", Priority: -20,
			Spec: spec.Spec{Input: spec.Input{URL: "https://cdn.example.com/src/very/long/path/to/a/mezzanine/file/of/the/archive.mov"},
				Outputs: []spec.Output{{Name: "main", Target: "/srv/out/j3/main.mp4", Video: &spec.Video{Codec: "h264_nvenc", Width: 1920, Height: 1080, Bitrate: 6_000_000}}}},
			MaxRetries: 3, Attempts: 2, Node: gpuNode, GPU: jobsPtr(1),
			Result: &api.Result{Encoders: map[string]string{"main": "libx264"}, Decoder: "h264_cuvid",
				Fallback: "h264_nvenc did not open (no NVENC on this GPU): encoded with libx264", Frames: 3600, Bytes: 45_678_901,
				Seconds: 31.5, FPS: 114.3, Speed: 3.81, Outputs: []string{"/srv/out/j3/main.mp4"}},
			CreatedAt: jobsNow.Add(-3 * time.Hour), UpdatedAt: jobsNow.Add(-2 * time.Hour), AssignedAt: jobsAt(3 * time.Hour),
			StartedAt: jobsAt(3 * time.Hour), FinishedAt: jobsAt(2 * time.Hour)},
		{ID: "01JNQ8A0000000000000000004", Status: api.StatusFailed, Queue: "high", Priority: 10, Preset: "customer-premium-ladder-2160p-hdr",
			Input: "rtmp://ingest.example.com/live/stream-key-that-is-rather-long", Output: "file:///srv/out/j4/",
			MaxRetries: 3, Attempts: 1, Node: node,
			Error:     &api.JobError{Code: "decode_error", Message: "open input: Connection refused"},
			CreatedAt: jobsNow.Add(-50 * time.Hour), UpdatedAt: jobsNow.Add(-49 * time.Hour), FinishedAt: jobsAt(49 * time.Hour)},
		{ID: "01JNQ8A0000000000000000005", Status: api.StatusRetrying, Queue: "low", Scenario: "1080p30-nvenc",
			MaxRetries: 3, Attempts: 1, RetryAt: jobsAt(-20 * time.Second),
			Error:     &api.JobError{Code: "executor_crashed", Message: "executor exited with signal 11", Transient: true},
			CreatedAt: jobsNow.Add(-40 * time.Second), UpdatedAt: jobsNow},
	}
}

func jobsFixtureView() jobView {
	return jobView{now: jobsNow, loc: time.UTC, nodes: map[string]string{"node-01jnq7w5j8x3v2c4b6n8m0k2h4": "gpu-worker-a.rack12.example.com"}}
}

// jobsCheckWidth fails for every line wider than the table width.
func jobsCheckWidth(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > tableWidth {
			t.Errorf("line is %d columns, more than %d:\n%s", n, tableWidth, l)
		}
	}
}

func TestJobsListTable(t *testing.T) {
	var b strings.Builder
	header, rows := jobRows(jobsFixtures(), jobsFixtureView())
	writeTable(&b, header, rows)
	golden(t, "jobs-list.txt", b.String())
	jobsCheckWidth(t, b.String())
	for _, j := range jobsFixtures() {
		if !strings.Contains(b.String(), j.ID+" ") {
			t.Errorf("job ID %s is not whole in the table", j.ID)
		}
	}
}

// TestJobsListTenantColumn: a page of several tenants' jobs (an admin's view) has a TENANT
// column that fits the width with every ID whole; a page of one tenant has none, and a
// job's detail names a tenant other than the default.
func TestJobsListTenantColumn(t *testing.T) {
	jobs := jobsFixtures()
	for i := range jobs {
		jobs[i].Tenant = []string{"", "team-a", "video-platform.eu"}[i%3]
	}
	var b strings.Builder
	header, rows := jobRows(jobs, jobsFixtureView())
	writeTable(&b, header, rows)
	golden(t, "jobs-list-tenants.txt", b.String())
	jobsCheckWidth(t, b.String())
	if !slices.Equal(header[:3], []string{"ID", "STATUS", "TENANT"}) {
		t.Errorf("header %v, want a TENANT column after STATUS", header)
	}
	for i, j := range jobs {
		if !strings.Contains(b.String(), j.ID+" ") {
			t.Errorf("job ID %s is not whole in the table", j.ID)
		}
		// Like NODE and WORK, a long tenant name gives way to keep the table in width.
		if want := jobTenant(j); rows[i][2] == "" || !strings.HasPrefix(want, strings.TrimSuffix(rows[i][2], "…")) {
			t.Errorf("row %d tenant %q, want %q (or its start)", i, rows[i][2], want)
		}
	}
	for i := range jobs {
		jobs[i].Tenant = "team-a"
	}
	if header, _ := jobRows(jobs, jobsFixtureView()); slices.Contains(header, "TENANT") {
		t.Errorf("one tenant's page has a TENANT column: %v", header)
	}
	var d strings.Builder
	writeJobDetail(&d, jobs[0], jobsFixtureView())
	if !strings.Contains(d.String(), "Tenant") || !strings.Contains(d.String(), "team-a") {
		t.Errorf("detail does not name the tenant:\n%s", d.String())
	}
}

func TestJobsSubmitRow(t *testing.T) {
	var b strings.Builder
	j := jobsFixtures()[1]
	j.Status, j.CreatedAt = api.StatusQueued, jobsNow
	header, rows := jobRows([]api.Job{j}, jobsFixtureView())
	writeTable(&b, header, rows)
	golden(t, "jobs-submit.txt", b.String())
	jobsCheckWidth(t, b.String())
}

func TestJobsGetView(t *testing.T) {
	for _, j := range jobsFixtures() {
		t.Run(string(j.Status), func(t *testing.T) {
			var b strings.Builder
			writeJobDetail(&b, j, jobsFixtureView())
			golden(t, "jobs-get-"+string(j.Status)+".txt", b.String())
			jobsCheckWidth(t, b.String())
		})
	}
}

func TestJobsEventLines(t *testing.T) {
	at := func(s int) time.Time { return jobsNow.Add(time.Duration(s) * time.Second) }
	node := "node-01jnq7w5j8x3v2c4b6n8m0k2h4"
	events := []api.Event{
		{Seq: 1, Time: at(0), Type: api.EventState, To: api.StatusQueued, Message: "submitted by submitter"},
		{Seq: 2, Time: at(1), Type: api.EventState, From: api.StatusQueued, To: api.StatusAssigned, Node: node, Message: "leased to " + node + " (attempt 1)"},
		{Seq: 3, Time: at(2), Type: api.EventState, From: api.StatusAssigned, To: api.StatusRunning, Node: node, Message: "started on " + node},
		{Seq: 4, Time: at(2), Type: api.EventProgress, Node: node, Progress: &api.Progress{Percent: 12.5, FPS: 98.7, Speed: 3.29, ETA: jobsPtr(20.0), Frames: 90}},
		{Seq: 5, Time: at(3), Type: api.EventWarning, Node: node, Message: "h264_nvenc did not open: falling back to libx264"},
		{Seq: 6, Time: at(9), Type: api.EventState, From: api.StatusRunning, To: api.StatusRetrying, Node: node,
			Message: "executor exited with signal 11; retry 1 of 3 in 2s", Error: &api.JobError{Code: "executor_crashed", Message: "executor exited with signal 11", Transient: true}},
		{Seq: 7, Time: at(40), Type: api.EventState, From: api.StatusRunning, To: api.StatusFailed, Node: node,
			Message: "open input: Connection refused", Error: &api.JobError{Code: "decode_error", Message: "open input: Connection refused"}},
		{Seq: 8, Time: at(41), Type: api.EventLog, Message: strings.Repeat("a long log line ", 10)},
	}
	var b strings.Builder
	b.WriteString(jobEventHeader() + "\n")
	for _, e := range events {
		b.WriteString(jobEventLine(e, jobsFixtureView()) + "\n")
	}
	golden(t, "jobs-events.txt", b.String())
	jobsCheckWidth(t, b.String())
}

// The plain display writes a line per change, timestamped, and nothing when nothing changed.
func TestJobsWatchPlainLines(t *testing.T) {
	var b strings.Builder
	d := &plainJobsDisplay{w: &b, last: map[string]string{}}
	v := jobsFixtureView()
	fx := jobsFixtures()
	running, queued, retrying := fx[0], fx[1], fx[4]
	d.show(v, []api.Job{running, queued, retrying}, nil, "1 running, 1 retrying, 1 queued")
	d.show(v, []api.Job{running, queued, retrying}, nil, "1 running, 1 retrying, 1 queued") // no change: no lines
	v.now = v.now.Add(time.Second)
	running.Progress = &api.Progress{Percent: 50, FPS: 120, Speed: 2, ETA: jobsPtr(10.0), Frames: 900}
	d.show(v, []api.Job{running, queued}, nil, "1 running, 1 queued")
	v.now = v.now.Add(10 * time.Second)
	done := running
	done.Status, done.Progress = api.StatusCompleted, nil
	done.Result = &api.Result{FPS: 119.6, Speed: 1.99, Seconds: 15.1}
	canceled := queued
	canceled.Status = api.StatusCanceled
	d.show(v, nil, []api.Job{done, canceled}, "no active jobs")
	d.show(v, nil, nil, "no active jobs")
	golden(t, "jobs-watch.txt", b.String())
	jobsCheckWidth(t, b.String())
	if strings.Contains(b.String(), "\033") {
		t.Error("plain lines hold terminal escapes")
	}
}

func TestJobsWatchBars(t *testing.T) {
	var b strings.Builder
	v := jobsFixtureView()
	for _, width := range []int{100, 72} {
		for _, j := range jobsFixtures() {
			l := jobBarLine(j, v, width)
			if n := utf8.RuneCountInString(l); n >= width {
				t.Errorf("bar line at width %d is %d columns: %q", width, n, l)
			}
			b.WriteString(l + "\n")
		}
	}
	golden(t, "jobs-watch-bars.txt", b.String())
}

// On a terminal the board is redrawn in place: cursor up over the last frame, each line
// cleared to its end, and what is below the board cleared.
func TestJobsWatchRedraw(t *testing.T) {
	var b bytes.Buffer
	d := &ttyJobsDisplay{w: &b, size: func() (int, int, error) { return 100, 30, nil }, board: true}
	v := jobsFixtureView()
	fx := jobsFixtures()
	d.show(v, []api.Job{fx[0], fx[1]}, nil, "1 running, 1 queued")
	first := b.String()
	if strings.Contains(first, "\033[1A") || !strings.HasPrefix(first, ttyHideCursor) {
		t.Errorf("first frame: %q", first)
	}
	b.Reset()
	d.show(v, []api.Job{fx[0]}, []api.Job{fx[2]}, "1 running")
	second := b.String()
	if !strings.HasPrefix(second, "\r\033[3A") || !strings.HasSuffix(second, ttyClearBelow) {
		t.Errorf("second frame does not redraw the 3 lines of the first: %q", second)
	}
	if i, k := strings.Index(second, fx[2].ID), strings.Index(second, "1 running"); i < 0 || k < i {
		t.Errorf("the ended job is not written above the board: %q", second)
	}
	d.close()
	if !strings.HasSuffix(b.String(), ttyShowCursor) {
		t.Error("close does not show the cursor again")
	}
}

// ---- against a real master, through the real binary ----

// jobsEnv is a master on loopback and a working folder for the CLI, with HOME and
// XDG_CONFIG_HOME in a temp folder so no real config is read.
type jobsEnv struct {
	h    *mastertest.Harness
	dir  string
	home string
}

func newJobsEnv(t *testing.T) *jobsEnv {
	t.Helper()
	e := &jobsEnv{h: mastertest.Start(t), dir: t.TempDir(), home: t.TempDir()}
	return e
}

// environ is the CLI's environment: no FFRTMP_* from the caller, HOME in a temp folder, plus
// extra.
func (e *jobsEnv) environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FFRTMP_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+e.home, "XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"))
	return append(env, extra...)
}

// command is the CLI with the master and the submitter key in its environment.
func (e *jobsEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = e.dir
	cmd.Env = e.environ("FFRTMP_MASTER="+e.h.URL, "FFRTMP_API_KEY="+mastertest.SubmitterKey)
	return cmd
}

// cli runs the CLI to its end and returns stdout, stderr and the exit code.
func (e *jobsEnv) cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return jobsRun(t, e.command(args...), "")
}

func jobsRun(t *testing.T, cmd *exec.Cmd, stdin string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &stdout, &stderr, strings.NewReader(stdin)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("run ffrtmp %v: %v", cmd.Args[1:], err)
	}
	return stdout.String(), stderr.String(), 0
}

// jobsJSON runs the CLI, wants exit 0, and decodes its stdout into a T.
func jobsJSON[T any](t *testing.T, e *jobsEnv, args ...string) T {
	t.Helper()
	stdout, stderr, code := e.cli(t, args...)
	if code != 0 {
		t.Fatalf("ffrtmp %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	var v T
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("ffrtmp %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	return v
}

func TestJobsSubmitKinds(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	os.WriteFile(filepath.Join(e.dir, "in.mp4"), []byte("not really"), 0o644)
	os.Mkdir(filepath.Join(e.dir, "existing"), 0o755)

	// Issue 3's example requests, through flags.
	live := jobsJSON[api.Job](t, e, "jobs", "submit", "--scenario", "4k60", "--queue", "live", "--priority", "high", "-o", "json")
	if live.Scenario != "4k60" || live.Queue != "live" || live.Priority != 50 || live.Status != api.StatusQueued {
		t.Errorf("4k60 job = %s %s %d %s", live.Scenario, live.Queue, live.Priority, live.Status)
	}
	sc := jobsJSON[api.Job](t, e, "jobs", "submit", "--scenario", "720p30-h264", "--duration", "3", "--bitrate", "2500k",
		"--output", "/srv/out/j1/", "--label", "team=video", "--max-retries", "5", "--max-run-time", "2h", "-o", "json")
	if sc.Parameters == nil || sc.Parameters.Duration != 3 || sc.Parameters.Bitrate != 2_500_000 ||
		sc.Output != "file:///srv/out/j1/" || sc.Spec.Outputs[0].Target != "/srv/out/j1/720p30-h264.mp4" ||
		sc.Spec.Input.Synthetic.Duration != 3 || sc.Labels["team"] != "video" || sc.MaxRetries != 5 ||
		time.Duration(sc.MaxRunTime) != 2*time.Hour {
		t.Errorf("scenario job: parameters %+v output %q spec %+v labels %v retries %d run time %v",
			sc.Parameters, sc.Output, sc.Spec.Outputs, sc.Labels, sc.MaxRetries, sc.MaxRunTime)
	}
	// A preset takes local paths: absolute file:// URLs, the output a folder.
	pr := jobsJSON[api.Job](t, e, "jobs", "submit", "--preset", "abr-720p", "--input", "in.mp4", "--output", "out2",
		"--require-label", "zone=a", "--require-encoder", "libx264", "-o", "json")
	if want := "file://" + filepath.Join(e.dir, "in.mp4"); pr.Input != want {
		t.Errorf("preset input = %q, want %q", pr.Input, want)
	}
	if want := "file://" + filepath.Join(e.dir, "out2") + "/"; pr.Output != want {
		t.Errorf("preset output = %q, want %q", pr.Output, want)
	}
	if len(pr.Spec.Outputs) != 3 || pr.Spec.Outputs[0].Target != filepath.Join(e.dir, "out2") || pr.Spec.Input.URL != filepath.Join(e.dir, "in.mp4") {
		t.Errorf("preset spec = %+v", pr.Spec)
	}
	if pr.Requirements.Labels["zone"] != "a" || pr.Requirements.Encoder != "libx264" {
		t.Errorf("preset requirements = %+v", pr.Requirements)
	}
	// An existing directory is a folder without its "/".
	dirOut := jobsJSON[api.Job](t, e, "jobs", "submit", "--scenario", "720p30-h264", "--output", "existing", "-o", "json")
	if want := "file://" + filepath.Join(e.dir, "existing") + "/"; dirOut.Output != want {
		t.Errorf("scenario output into an existing folder = %q, want %q", dirOut.Output, want)
	}
	// A spec file, and the same spec on stdin.
	specJSON := `{"input":{"url":"/srv/in/b.mp4"},"outputs":[{"name":"small","target":"/srv/out/b.mp4","video":{"codec":"libx264","height":360,"bitrate":"800k"}}]}`
	os.WriteFile(filepath.Join(e.dir, "job.json"), []byte(specJSON), 0o644)
	sp := jobsJSON[api.Job](t, e, "jobs", "submit", "--spec", "job.json", "-o", "json")
	if sp.Spec.Input.URL != "/srv/in/b.mp4" || sp.Spec.Outputs[0].Video.Bitrate != 800_000 || sp.Scenario != "" || sp.Preset != "" {
		t.Errorf("spec job = %+v", sp.Spec)
	}
	stdout, stderr, code := jobsRun(t, e.command("jobs", "submit", "--spec", "-", "-q"), specJSON)
	if code != 0 || len(strings.TrimSpace(stdout)) != 26 {
		t.Errorf("submit --spec - -q: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}

	// Each reads back the same through get -o json.
	for _, j := range []api.Job{live, sc, pr, sp} {
		got := jobsJSON[api.Job](t, e, "jobs", "get", j.ID, "-o", "json")
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(j)
		if !bytes.Equal(a, b) {
			t.Errorf("get %s differs from what submit printed:\n%s\n%s", j.ID, a, b)
		}
	}
	// The table view and the one-row table.
	stdout, stderr, code = e.cli(t, "jobs", "get", pr.ID)
	if code != 0 || !strings.Contains(stdout, "preset abr-720p") || !strings.Contains(stdout, "720p: libx264") {
		t.Errorf("get table: exit %d\n%s%s", code, stdout, stderr)
	}
	jobsCheckWidth(t, stdout)
	stdout, _, code = e.cli(t, "jobs", "submit", "--scenario", "4k30")
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], "4k30") {
		t.Errorf("submit table: exit %d\n%s", code, stdout)
	}
	// The same idempotency key gives the same job.
	first := jobsJSON[api.Job](t, e, "jobs", "submit", "--scenario", "4k30", "--idempotency-key", "k1", "-o", "json")
	again := jobsJSON[api.Job](t, e, "jobs", "submit", "--scenario", "4k30", "--idempotency-key", "k1", "-o", "json")
	if first.ID != again.ID {
		t.Errorf("idempotency key: %s then %s", first.ID, again.ID)
	}
}

func TestJobsListFilters(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	var ids []string
	for i, q := range []string{"live", "live", "batch"} {
		stdout, stderr, code := e.cli(t, "jobs", "submit", "--scenario", "720p30-h264", "--queue", q, "--label", fmt.Sprintf("Show=Episode-%d", i), "-q")
		if code != 0 {
			t.Fatalf("submit: %s", stderr)
		}
		ids = append(ids, strings.TrimSpace(stdout))
	}
	if _, stderr, code := e.cli(t, "jobs", "cancel", ids[0]); code != 0 {
		t.Fatalf("cancel: %s", stderr)
	}
	count := func(args ...string) int {
		t.Helper()
		return len(jobsJSON[api.JobList](t, e, append([]string{"jobs", "list", "-o", "json"}, args...)...).Jobs)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 3},
		{[]string{"--queue", "live"}, 2},
		{[]string{"--status", "canceled"}, 1},
		{[]string{"--status", "queued,canceled"}, 3},
		{[]string{"--status", "queued", "--status", "canceled", "--queue", "batch"}, 1},
		{[]string{"--status", "running"}, 0},
		{[]string{"--since", "1h"}, 3},
		{[]string{"--until", "1h"}, 0},
		{[]string{"--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 0},
		{[]string{"--node", "nowhere"}, 0},
		{[]string{"--text", "show=episode-1"}, 1},
		{[]string{"--text", "EPISODE"}, 3},
		{[]string{"--text", "episode", "--queue", "live"}, 2},
		{[]string{"--text", ids[2]}, 1},
		{[]string{"--text", "720P30"}, 3},
		{[]string{"--text", "episode-9"}, 0},
	} {
		if got := count(tc.args...); got != tc.want {
			t.Errorf("list %v: %d jobs, want %d", tc.args, got, tc.want)
		}
	}
	// Newest first.
	list := jobsJSON[api.JobList](t, e, "jobs", "list", "-o", "json")
	if list.Jobs[0].ID != ids[2] || list.Jobs[2].ID != ids[0] {
		t.Errorf("list order = %s %s %s", list.Jobs[0].ID, list.Jobs[1].ID, list.Jobs[2].ID)
	}
	// YAML parses, with the API's field names.
	stdout, _, code := e.cli(t, "jobs", "list", "-o", "yaml")
	var y struct {
		Jobs []struct {
			ID     string `yaml:"id"`
			Status string `yaml:"status"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &y); code != 0 || err != nil || len(y.Jobs) != 3 || y.Jobs[2].Status != "canceled" {
		t.Errorf("list -o yaml (exit %d, %v): %+v\n%s", code, err, y, stdout)
	}
	// Pages: the table's hint names the cursor, which gives the rest.
	stdout, stderr, code := e.cli(t, "jobs", "list", "--limit", "2")
	if code != 0 || strings.Count(stdout, "\n") != 3 || !strings.Contains(stderr, "--cursor "+ids[1]) {
		t.Fatalf("list --limit 2: exit %d\n%s%s", code, stdout, stderr)
	}
	jobsCheckWidth(t, stdout)
	rest := jobsJSON[api.JobList](t, e, "jobs", "list", "--limit", "2", "--cursor", ids[1], "-o", "json")
	if len(rest.Jobs) != 1 || rest.Jobs[0].ID != ids[0] || rest.NextCursor != "" {
		t.Errorf("second page = %+v", rest)
	}
	stdout, _, _ = e.cli(t, "jobs", "list", "--all", "--limit", "1", "-q")
	if got := strings.Fields(stdout); !slices.Equal(got, []string{ids[2], ids[1], ids[0]}) {
		t.Errorf("list --all -q = %v, want %v", got, ids)
	}
	if stdout, stderr, code := e.cli(t, "jobs", "list", "--status", "running"); code != 0 || stdout != "" || !strings.Contains(stderr, "no jobs") {
		t.Errorf("empty list: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A search too long for the master is refused, naming the flag's field.
	if _, stderr, code := e.cli(t, "jobs", "list", "--text", strings.Repeat("x", 300)); code == 0 || !strings.Contains(stderr, "text") {
		t.Errorf("list --text of 300 bytes: exit %d, stderr %q", code, stderr)
	}
}

func TestJobsCancelRetryEvents(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	stdout, _, _ := e.cli(t, "jobs", "submit", "--scenario", "720p30-h264", "-q")
	id := strings.TrimSpace(stdout)
	missing := "01HZZZZZZZZZZZZZZZZZZZZZZZ"

	steps := []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{[]string{"cancel", id}, 0, id + "  canceled", ""},
		{[]string{"cancel", id}, 1, "", "ffrtmp: cannot cancel: job " + id + " is already canceled"},
		{[]string{"retry", id}, 0, id + "  queued", ""},
		{[]string{"retry", id}, 1, "", "only failed or canceled jobs can be retried"},
		{[]string{"cancel", missing, id, id}, 3, id + "  canceled", "ffrtmp: job " + missing + " not found"},
		{[]string{"cancel", missing, id}, 3, "", "ffrtmp: cannot cancel: job " + id + " is already canceled"},
		{[]string{"retry", missing}, 3, "", "not found"},
		{[]string{"get", missing}, 3, "", "job " + missing + " not found on the master at " + e.h.URL},
		{[]string{"events", missing}, 3, "", "not found"},
	}
	for _, s := range steps {
		stdout, stderr, code := e.cli(t, append([]string{"jobs"}, s.args...)...)
		if code != s.code || !strings.Contains(stdout, s.stdout) || !strings.Contains(stderr, s.errs) {
			t.Errorf("jobs %v: exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", s.args, code, s.code, stdout, s.stdout, stderr, s.errs)
		}
	}
	// The history, as a table and as JSON.
	stdout, stderr, code := e.cli(t, "jobs", "events", id)
	for _, want := range []string{"queued → canceled: canceled by submitter", "canceled → queued: retried by submitter", "SEQ"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("events table lacks %q (exit %d, %s):\n%s", want, code, stderr, stdout)
		}
	}
	jobsCheckWidth(t, stdout)
	evs := jobsJSON[api.EventList](t, e, "jobs", "events", id, "-o", "json")
	if len(evs.Events) != 4 || evs.Events[3].To != api.StatusCanceled {
		t.Fatalf("events -o json = %+v", evs)
	}
	later := jobsJSON[api.EventList](t, e, "jobs", "events", id, "--after", fmt.Sprint(evs.Events[1].Seq), "-o", "json")
	if len(later.Events) != 2 || later.Events[0].Seq != evs.Events[2].Seq {
		t.Errorf("events --after: %+v", later.Events)
	}
	// --follow ends by itself once the job has ended, also when started past its last state.
	stdout, stderr, code = e.cli(t, "jobs", "events", id, "--follow", "-o", "json", "--interval", "50ms")
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); code != 0 || len(lines) != 4 {
		t.Errorf("events --follow -o json: exit %d, %d lines, %s", code, len(lines), stderr)
	}
	if _, stderr, code := e.cli(t, "jobs", "events", id, "--follow", "--after", fmt.Sprint(evs.Events[3].Seq)); code != 0 {
		t.Errorf("events --follow past the end: exit %d, %s", code, stderr)
	}
}

func TestJobsExitCodes(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"bad flag", []string{"jobs", "list", "--bogus"}, 2, []string{"unknown flag: --bogus"}},
		{"unknown subcommand", []string{"jobs", "bogus"}, 2, []string{"unknown command"}},
		{"get without ID", []string{"jobs", "get"}, 2, []string{"accepts 1 arg"}},
		{"two kinds", []string{"jobs", "submit", "--scenario", "4k60", "--preset", "abr-720p"}, 2, []string{"--scenario and --preset cannot be combined"}},
		{"no kind", []string{"jobs", "submit", "--queue", "live"}, 2, []string{"--scenario", "--preset", "--spec"}},
		{"spec and input", []string{"jobs", "submit", "--spec", "x.json", "--input", "a.mp4"}, 2, []string{"--spec cannot be combined with --input"}},
		{"bad priority", []string{"jobs", "submit", "--scenario", "4k60", "--priority", "500"}, 2, []string{"--priority \"500\""}},
		{"bad bitrate", []string{"jobs", "submit", "--scenario", "4k60", "--bitrate", "fast"}, 2, []string{"--bitrate"}},
		{"bad label", []string{"jobs", "submit", "--scenario", "4k60", "--label", "novalue"}, 2, []string{"key=value"}},
		{"bad status", []string{"jobs", "list", "--status", "bogus"}, 2, []string{"--status \"bogus\""}},
		{"bad since", []string{"jobs", "list", "--since", "yesterday"}, 2, []string{"--since"}},
		{"bad format", []string{"jobs", "list", "-o", "xml"}, 2, []string{"want table, json or yaml"}},
		{"master refuses", []string{"jobs", "submit", "--scenario", "nope"}, 2, []string{"no scenario \"nope\""}},
		{"unknown job", []string{"jobs", "get", "01HZZZZZZZZZZZZZZZZZZZZZZZ"}, 3, []string{"not found"}},
		{"wrong key", []string{"jobs", "list", "--api-key", "wrong"}, 4, []string{"refused the API key (from --api-key)", "FFRTMP_API_KEY", "--api-key"}},
		{"no master", []string{"jobs", "list", "--master", closed}, 1, []string{"no master at " + closed, "ffrtmp run"}},
		{"no master for submit --wait", []string{"jobs", "submit", "--scenario", "4k60", "--wait", "--master", closed}, 1, []string{"no master at"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := e.cli(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr: %s)", code, tc.code, stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not contain %q", stderr, s)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("panic: %s", stderr)
			}
		})
	}
}

// The API key comes from --api-key, then FFRTMP_API_KEY, then the config file (--config,
// FFRTMP_CONFIG or the default path), then ./ffrtmp-data/api-key. Each case puts a wrong key
// in the layer below the one that must win, and the reverse case shows the layer is read.
func TestJobsConfigPrecedence(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	good, bad := mastertest.SubmitterKey, "wrong-key"
	config := func(t *testing.T, key string) string {
		p := filepath.Join(t.TempDir(), "ffrtmp.yaml")
		os.WriteFile(p, []byte(fmt.Sprintf("master: %s\napi-key: %s\n", e.h.URL, key)), 0o600)
		return p
	}
	dataDir := func(t *testing.T, key string) string {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "ffrtmp-data"), 0o700)
		os.WriteFile(filepath.Join(dir, "ffrtmp-data", "master-url"), []byte(e.h.URL+"\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "ffrtmp-data", "api-key"), []byte(key+"\n"), 0o600)
		return dir
	}
	tests := []struct {
		name string
		// setup returns the working dir, extra environment and extra flags.
		setup func(t *testing.T) (string, []string, []string)
		code  int
		from  string // where the refused key came from, for code 4
	}{
		{"flag beats env", func(t *testing.T) (string, []string, []string) {
			return t.TempDir(), []string{"FFRTMP_API_KEY=" + bad}, []string{"--master", e.h.URL, "--api-key", good}
		}, 0, ""},
		{"flag is read", func(t *testing.T) (string, []string, []string) {
			return t.TempDir(), []string{"FFRTMP_API_KEY=" + good}, []string{"--master", e.h.URL, "--api-key", bad}
		}, 4, "--api-key"},
		{"env beats config", func(t *testing.T) (string, []string, []string) {
			return t.TempDir(), []string{"FFRTMP_API_KEY=" + good, "FFRTMP_CONFIG=" + config(t, bad)}, nil
		}, 0, ""},
		{"env is read", func(t *testing.T) (string, []string, []string) {
			return t.TempDir(), []string{"FFRTMP_API_KEY=" + bad, "FFRTMP_CONFIG=" + config(t, good)}, nil
		}, 4, "FFRTMP_API_KEY"},
		{"--config beats data dir", func(t *testing.T) (string, []string, []string) {
			return dataDir(t, bad), nil, []string{"--config", config(t, good)}
		}, 0, ""},
		{"--config is read", func(t *testing.T) (string, []string, []string) {
			return dataDir(t, good), nil, []string{"--config", config(t, bad)}
		}, 4, "ffrtmp.yaml"},
		{"FFRTMP_CONFIG beats data dir", func(t *testing.T) (string, []string, []string) {
			return dataDir(t, bad), []string{"FFRTMP_CONFIG=" + config(t, good)}, nil
		}, 0, ""},
		{"default config file beats data dir", func(t *testing.T) (string, []string, []string) {
			p := filepath.Join(e.home, ".config", "ffrtmp", "config.yaml")
			os.MkdirAll(filepath.Dir(p), 0o700)
			b, _ := os.ReadFile(config(t, good))
			os.WriteFile(p, b, 0o600)
			t.Cleanup(func() { os.Remove(p) })
			return dataDir(t, bad), nil, nil
		}, 0, ""},
		{"data dir alone", func(t *testing.T) (string, []string, []string) {
			return dataDir(t, good), nil, nil
		}, 0, ""},
		{"data dir is read", func(t *testing.T) (string, []string, []string) {
			return dataDir(t, bad), nil, nil
		}, 4, filepath.Join("ffrtmp-data", "api-key")},
	}
	// Sequential: one case writes the default config file in the shared HOME.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, env, flags := tc.setup(t)
			cmd := exec.Command(bin, append([]string{"jobs", "list", "-q"}, flags...)...)
			cmd.Dir, cmd.Env = dir, e.environ(env...)
			_, stderr, code := jobsRun(t, cmd, "")
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr: %s)", code, tc.code, stderr)
			}
			if tc.code == 4 && (!strings.Contains(stderr, "(from ") || !strings.Contains(stderr, tc.from)) {
				t.Errorf("stderr %q does not say the key came from %s", stderr, tc.from)
			}
		})
	}
}

// ---- watch, with the test playing the worker ----

// jobsWorker registers with the master as a worker and leases jobs.
type jobsWorker struct {
	c    *api.Client
	node string
}

func newJobsWorker(t *testing.T, h *mastertest.Harness) *jobsWorker {
	t.Helper()
	c := h.Client(t, auth.RoleWorker)
	n, err := c.Register(context.Background(), api.Registration{Name: "test-worker",
		Capabilities: api.Capabilities{CPUs: 2, Encoders: []string{"libx264"}, Slots: 4}})
	if err != nil {
		t.Fatal(err)
	}
	return &jobsWorker{c: c, node: n.ID}
}

// lease takes the next job, which must be id.
func (w *jobsWorker) lease(t *testing.T, id string) {
	t.Helper()
	l, err := w.c.Lease(context.Background(), w.node, 10*time.Second)
	if err != nil || l == nil || l.Job.ID != id {
		t.Fatalf("lease: %v %+v, want job %s", err, l, id)
	}
}

func (w *jobsWorker) progress(t *testing.T, id string, pct float64) {
	t.Helper()
	_, err := w.c.ReportProgress(context.Background(), id, api.ProgressReport{Node: w.node, Phase: api.PhaseTranscoding,
		Progress: &api.Progress{Percent: pct, FPS: 150, Speed: 5, ETA: jobsPtr((100 - pct) / 10), Frames: int64(pct * 9)}})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *jobsWorker) complete(t *testing.T, id string) {
	t.Helper()
	_, err := w.c.Complete(context.Background(), id, api.CompleteReport{Node: w.node, Result: &api.Result{
		Encoders: map[string]string{"720p30-h264": "libx264"}, Frames: 900, FPS: 150, Speed: 5, Seconds: 6}})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *jobsWorker) fail(t *testing.T, id string) {
	t.Helper()
	_, err := w.c.Fail(context.Background(), id, api.FailReport{Node: w.node,
		Error: api.JobError{Code: "decode_error", Message: "input is not media"}})
	if err != nil {
		t.Fatal(err)
	}
}

// submit queues a scenario job through the API.
func (e *jobsEnv) submit(t *testing.T) string {
	t.Helper()
	j, err := e.h.Client(t, auth.RoleSubmitter).SubmitJob(context.Background(), api.JobRequest{Scenario: "720p30-h264"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

// jobsOutput collects what a process writes, for waiting on.
type jobsOutput struct {
	mu   sync.Mutex
	b    bytes.Buffer
	more chan struct{}
}

func newJobsOutput() *jobsOutput { return &jobsOutput{more: make(chan struct{}, 1)} }

func (o *jobsOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	select {
	case o.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *jobsOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitFor waits until the output holds all of want; the deadline only keeps a broken build
// from hanging the suite.
func (o *jobsOutput) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s := o.String()
		if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(s, w) }) {
			return
		}
		select {
		case <-o.more:
		case <-deadline:
			t.Fatalf("output never held %q:\n%q", want, s)
		}
	}
}

// jobsWaitExit waits for the process to end and returns its exit code.
func jobsWaitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("ffrtmp did not exit after the job ended")
		return -1
	}
}

func TestJobsWatchPipe(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	w := newJobsWorker(t, e.h)
	id := e.submit(t)
	cmd := e.command("jobs", "watch", id, "--interval", "20ms")
	out, errOut := newJobsOutput(), newJobsOutput()
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, id+"  queued")
	w.lease(t, id)
	out.waitFor(t, id+"  assigned")
	for _, pct := range []float64{25, 50, 75} {
		w.progress(t, id, pct)
		out.waitFor(t, fmt.Sprintf("running  %.1f%%  150 fps  5.00x", pct))
	}
	w.complete(t, id)
	if code := jobsWaitExit(t, cmd); code != 0 {
		t.Fatalf("watch exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, id+"  completed  100%") || !strings.Contains(last, "on test-worker") {
		t.Errorf("last line = %q", last)
	}
	for _, l := range lines {
		stamp, _, _ := strings.Cut(l, "  ")
		if _, err := time.Parse(time.TimeOnly, stamp); err != nil {
			t.Errorf("line without a timestamp: %q", l)
		}
	}
	if s := out.String(); strings.Contains(s, "\033") || strings.Contains(s, "\r") {
		t.Errorf("plain output holds terminal control: %q", s)
	}
	if !strings.Contains(out.String(), "ETA 0:08") {
		t.Errorf("no ETA in the progress lines:\n%s", out.String())
	}
}

func TestJobsWatchTerminal(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	w := newJobsWorker(t, e.h)
	id := e.submit(t)
	w.lease(t, id)
	cmd := e.command("jobs", "watch", id, "--interval", "20ms")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out := newJobsOutput()
	go io.Copy(out, tty) // ends with EIO when the process exits
	w.progress(t, id, 25)
	out.waitFor(t, "25.0%", "[==")
	w.progress(t, id, 50)
	out.waitFor(t, " 50.0%", "\r\033[1A", "\033[K", "test-worker")
	w.complete(t, id)
	if code := jobsWaitExit(t, cmd); code != 0 {
		t.Fatalf("watch exit %d: %q", code, out.String())
	}
	out.waitFor(t, "completed", "100.0%", ttyShowCursor)
	s := out.String()
	m := regexp.MustCompile(`\[(=*)>?( *)\]  \s*50\.0%`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no bar before 50.0%%: %q", s)
	}
	if done, inner := len(m[1]), len(m[1])+len(m[2])+1; done*2 < inner-2 || done*2 > inner+2 {
		t.Errorf("bar at 50%% is %q: %d of %d filled", m[0], done, inner)
	}
}

func TestJobsFailedExit(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	w := newJobsWorker(t, e.h)
	submit := e.command("jobs", "submit", "--scenario", "720p30-h264", "--wait", "--interval", "20ms", "-o", "json")
	subOut, subErr := newJobsOutput(), newJobsOutput()
	submit.Stdout, submit.Stderr = subOut, subErr
	if err := submit.Start(); err != nil {
		t.Fatal(err)
	}
	l, err := w.c.Lease(context.Background(), w.node, 20*time.Second)
	if err != nil || l == nil {
		t.Fatalf("lease: %v", err)
	}
	id := l.Job.ID
	watch := e.command("jobs", "watch", id, "--interval", "20ms")
	watchOut, watchErr := newJobsOutput(), newJobsOutput()
	watch.Stdout, watch.Stderr = watchOut, watchErr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	w.progress(t, id, 10)
	subErr.waitFor(t, id+"  running  10.0%")
	watchOut.waitFor(t, id+"  running  10.0%")
	w.fail(t, id)
	for name, p := range map[string]struct {
		cmd    *exec.Cmd
		stderr *jobsOutput
	}{"submit --wait": {submit, subErr}, "watch": {watch, watchErr}} {
		if code := jobsWaitExit(t, p.cmd); code != 1 {
			t.Errorf("%s: exit %d, want 1", name, code)
		}
		if want := "job " + id + " failed: input is not media (decode_error)"; !strings.Contains(p.stderr.String(), want) {
			t.Errorf("%s: stderr %q lacks %q", name, p.stderr.String(), want)
		}
	}
	var final api.Job
	if err := json.Unmarshal([]byte(subOut.String()), &final); err != nil || final.Status != api.StatusFailed {
		t.Errorf("submit --wait -o json printed %v (%v)", subOut.String(), err)
	}
	if !strings.Contains(watchOut.String(), "failed  error decode_error: input is not media") {
		t.Errorf("watch's last line does not give the error:\n%s", watchOut.String())
	}
	// A job that already failed: watch says so at once.
	if _, stderr, code := e.cli(t, "jobs", "watch", id); code != 1 || !strings.Contains(stderr, "input is not media") {
		t.Errorf("watch of a failed job: exit %d, %s", code, stderr)
	}
}

func TestJobsWatchAll(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	w := newJobsWorker(t, e.h)
	a, b := e.submit(t), e.submit(t)
	cmd := e.command("jobs", "watch", "--exit-when-idle", "--interval", "20ms")
	out, errOut := newJobsOutput(), newJobsOutput()
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, a+"  queued", b+"  queued")
	w.lease(t, a)
	w.progress(t, a, 60)
	out.waitFor(t, a+"  running  60.0%")
	w.complete(t, a)
	if _, err := e.h.Client(t, auth.RoleSubmitter).CancelJob(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if code := jobsWaitExit(t, cmd); code != 0 {
		t.Fatalf("watch --exit-when-idle: exit %d: %s", code, errOut.String())
	}
	s := out.String()
	for _, want := range []string{a + "  completed  100%", b + "  canceled", "no active jobs"} {
		if !strings.Contains(s, want) {
			t.Errorf("watch output lacks %q:\n%s", want, s)
		}
	}
}

// --master and FFRTMP_MASTER take every master of a cluster: the CLI goes past the ones that
// are down, and says what each did when none answers.
func TestJobsAcrossMasters(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	closedURL := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}
	down, down2 := closedURL(), closedURL()
	id := e.submit(t)

	list := jobsJSON[api.JobList](t, e, "jobs", "list", "-o", "json", "--master", down+","+e.h.URL)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != id {
		t.Errorf("jobs list --master DOWN,UP = %+v, want job %s", list.Jobs, id)
	}

	cmd := e.command("jobs", "submit", "--scenario", "720p30-h264", "-q", "-v")
	cmd.Env = append(cmd.Env, "FFRTMP_MASTER="+down+","+e.h.URL)
	stdout, stderr, code := jobsRun(t, cmd, "")
	if code != 0 || strings.TrimSpace(stdout) == "" {
		t.Fatalf("FFRTMP_MASTER=DOWN,UP jobs submit: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "using another") || !strings.Contains(stderr, "from="+down) || !strings.Contains(stderr, "to="+e.h.URL) {
		t.Errorf("with -v, stderr %q does not log the move from %s to %s", stderr, down, e.h.URL)
	}

	_, stderr, code = e.cli(t, "jobs", "list", "--master", down+","+down2, "--timeout", "2s")
	if code != 1 {
		t.Errorf("every master down: exit %d, want 1 (stderr: %s)", code, stderr)
	}
	for _, want := range []string{"no master answered", down + ": ", down2 + ": ", "connection refused", "--master"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("every master down: stderr %q does not say %q", stderr, want)
		}
	}

	_, stderr, code = e.cli(t, "jobs", "list", "--master", down+",,"+e.h.URL)
	if code != 2 || !strings.Contains(stderr, "entry 2 of 3: master URL is empty") {
		t.Errorf("an empty entry: exit %d, stderr %q; want 2 and the entry named", code, stderr)
	}
}
