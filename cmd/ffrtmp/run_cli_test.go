package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// inFarm runs the ffrtmp CLI in dir, the folder `ffrtmp run` keeps ffrtmp-data/ in, with no
// other configuration: the CLI must find the farm there.
func inFarm(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, isolatedEnv(dir)
	var stdout, stderr runOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ffrtmp %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// TestRunThroughTheCLI is the walk-through with the real binaries only: `ffrtmp run`
// in an empty folder, `jobs submit --wait` of a synthetic job, its output read by ffprobe,
// `jobs list -o json`, `nodes list`, Ctrl-C exits 0 within the drain timeout, and a second
// `ffrtmp run` there still has the job.
func TestRunThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	const drain = 5 * time.Second
	f := startRun(t, dir, "--port", port, "--drain-timeout", drain.String())

	stdout, stderr, code := inFarm(t, dir, "jobs", "submit", "--scenario", "720p30-h264", "--duration", "1",
		"--output", "ffrtmp-data/out/first.mp4", "--wait", "-o", "json")
	if code != 0 {
		t.Fatalf("jobs submit --wait: exit %d\n%s\n%s", code, stderr, stdout)
	}
	var job api.Job
	if err := json.Unmarshal([]byte(stdout), &job); err != nil || job.Status != api.StatusCompleted {
		t.Fatalf("jobs submit --wait -o json printed %q (%v), want a completed job", stdout, err)
	}
	if got := probeVideo(t, filepath.Join(dir, "ffrtmp-data", "out", "first.mp4")); got != "h264x1280x720x30" {
		t.Errorf("ffprobe of the output: %s, want h264 1280x720, 30 frames", got)
	}

	stdout, stderr, code = inFarm(t, dir, "jobs", "list", "-o", "json")
	var list api.JobList
	if code != 0 || json.Unmarshal([]byte(stdout), &list) != nil || len(list.Jobs) != 1 || list.Jobs[0].ID != job.ID {
		t.Fatalf("jobs list -o json: exit %d: %s\n%s", code, stderr, stdout)
	}
	stdout, stderr, code = inFarm(t, dir, "nodes", "list")
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); code != 0 || len(lines) != 2 ||
		!strings.Contains(lines[1], "online") || !strings.Contains(lines[1], "x264") {
		t.Fatalf("nodes list: exit %d: %s\n%s", code, stderr, stdout)
	}

	if code, took := f.interrupt(t, drain+10*time.Second); code != 0 {
		t.Fatalf("Ctrl-C: exit %d after %v:\n%s", code, took, f.stderr.String())
	}
	if _, stderr, code := inFarm(t, dir, "jobs", "list"); code != 1 || !strings.Contains(stderr, "ffrtmp run") {
		t.Errorf("jobs list with the farm stopped: exit %d, want 1 with a hint to start `ffrtmp run`: %s", code, stderr)
	}

	startRun(t, dir, "--port", port)
	stdout, stderr, code = inFarm(t, dir, "jobs", "get", job.ID, "-o", "json")
	var again api.Job
	if code != 0 || json.Unmarshal([]byte(stdout), &again) != nil || again.Status != api.StatusCompleted {
		t.Fatalf("jobs get %s after a restart: exit %d: %s\n%s", job.ID, code, stderr, stdout)
	}
}

// With --tls the CLI in the farm's folder trusts the farm's self-signed certificate without
// being told, and refuses a master whose certificate it cannot check.
func TestRunTLSThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	startRun(t, dir, "--port", port, "--tls")
	if stdout, stderr, code := inFarm(t, dir, "nodes", "list", "-o", "json"); code != 0 || !strings.Contains(stdout, `"nodes"`) {
		t.Fatalf("nodes list over TLS: exit %d: %s\n%s", code, stderr, stdout)
	}
	elsewhere := t.TempDir()
	_, stderr, code := inFarm(t, elsewhere, "jobs", "list", "--master", "https://127.0.0.1:"+port, "--api-key", "k")
	if code != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("jobs list against an untrusted certificate: exit %d, want 1 naming the certificate: %s", code, stderr)
	}
}
