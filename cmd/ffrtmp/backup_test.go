package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/backup"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

const drillKey = "drill-admin-key"

// masterProc is `ffrtmp master` as a child process.
type masterProc struct {
	cmd        *exec.Cmd
	stderr     *syncbuf.Buffer
	exited     chan struct{}
	URL        string
	MetricsURL string
}

var masterListening = regexp.MustCompile(`msg="master listening" url=(\S+) .*metrics=(\S+)`)

// startMasterProc starts `ffrtmp master` with args and waits until /healthz answers.
func startMasterProc(t *testing.T, args ...string) *masterProc {
	t.Helper()
	p := &masterProc{stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"master", "--listen", "127.0.0.1", "--port", "0", "--metrics-addr", "127.0.0.1:0",
		"--rate-limit", "0", "--rtmp-port", "-1", "--api-key", drillKey}, args...)...)
	p.cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FFRTMP_MASTER") || strings.HasPrefix(kv, "MASTER_API_KEY=")
	})
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("ffrtmp master %s:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := masterListening.FindStringSubmatch(p.stderr.String()); m != nil {
			p.URL, p.MetricsURL = m[1], "http://"+m[2]+"/metrics"
			if resp, err := http.Get(p.URL + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p
				}
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("ffrtmp master exited:\n%s", p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ffrtmp master did not serve within 30 s:\n%s", p.stderr.String())
		}
	}
}

// kill ends the process with SIGKILL (a crash: nothing is flushed or closed).
func (p *masterProc) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

func (p *masterProc) client(t *testing.T) *api.Client {
	t.Helper()
	c, err := api.NewClient(p.URL, drillKey, api.WithTimeout(15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// metric is the value of the sample line that starts with series in the master's /metrics.
func (p *masterProc) metric(t *testing.T, series string) string {
	t.Helper()
	resp, err := http.Get(p.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	for line := range strings.Lines(b.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			return v
		}
	}
	return ""
}

// waitFor polls ok every 100 ms for up to limit.
func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// placeholder makes dir look as if a backup had been taken ago: the schedule follows the
// newest backup in the folder, so with --backup-interval 1m the master's first backup is due
// 1m-ago after its start (the shortest interval the master takes is a minute, too long to
// wait for in a test). The file is never read.
func placeholder(t *testing.T, dir string, ago time.Duration) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, backup.Name(time.Now().Add(-ago)))
	if err := os.WriteFile(p, []byte("placeholder"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestDisasterRecoveryDrill: a master with scheduled backups takes one with the farm's jobs
// and a preset; it is SIGKILLed and its database deleted; `ffrtmp master restore` from the
// newest backup brings everything back. Damaged backups are refused and change nothing.
func TestDisasterRecoveryDrill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, bdir := filepath.Join(dir, "data", "master.db"), filepath.Join(dir, "backups")
	old := placeholder(t, bdir, 50*time.Second)
	flags := []string{"--db", db, "--backup-dir", bdir, "--backup-interval", "1m", "--backup-keep", "3"}
	p := startMasterProc(t, flags...)
	c := p.client(t)
	ctx := context.Background()
	var ids []string
	for _, q := range []string{"high", "batch", "low"} {
		j, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Queue: q, Labels: map[string]string{"drill": q}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if _, err := c.CancelJob(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	presets, err := c.ListPresets(ctx)
	if err != nil || len(presets.Presets) == 0 {
		t.Fatalf("presets: %v", err)
	}
	preset := presets.Presets[0]
	preset.Name, preset.BuiltIn, preset.Description = "drill-ladder", false, "kept by the backup"
	if _, err := c.PutPreset(ctx, preset); err != nil {
		t.Fatal(err)
	}
	before, err := c.ListJobs(ctx, api.ListJobsOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var newest string
	waitFor(t, "a scheduled backup", 40*time.Second, func() bool {
		names, _ := backup.List(bdir)
		if len(names) > 0 && filepath.Join(bdir, names[len(names)-1]) != old {
			newest = filepath.Join(bdir, names[len(names)-1])
			_, err := os.Stat(newest + ".sha256")
			return err == nil
		}
		return false
	})
	if got := p.metric(t, `ffrtmp_master_backups_total{result="success"}`); got != "1" {
		t.Errorf("backups_total{success} = %q, want 1", got)
	}
	if got := p.metric(t, "ffrtmp_master_backup_last_size_bytes"); got == "" || got == "0" {
		t.Errorf("backup_last_size_bytes = %q", got)
	}
	if !strings.Contains(p.stderr.String(), `msg="backup taken"`) {
		t.Errorf("no \"backup taken\" log line")
	}
	cmd := exec.Command("sha256sum", "-c", filepath.Base(newest)+".sha256")
	cmd.Dir = bdir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}

	p.kill()
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := ffrtmp(t, dir, "master", "restore", "--from", newest, "--db", db)
	if code != 0 || !strings.Contains(stdout, "checksum matches") || !strings.Contains(stdout, "restored "+newest) {
		t.Fatalf("restore: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	// Damaged copies of the backup are refused and the restored database stays as it is.
	raw, _ := os.ReadFile(newest)
	sum, _ := os.ReadFile(newest + ".sha256")
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 0x55
	bad := t.TempDir()
	put := func(name string, b, sumFile []byte) string {
		path := filepath.Join(bad, name)
		os.WriteFile(path, b, 0o600)
		if sumFile != nil {
			os.WriteFile(path+".sha256", sumFile, 0o600)
		}
		return path
	}
	want := fileSum(t, db)
	for _, tc := range []struct{ name, path, want string }{
		{"checksum mismatch", put("mismatch.db.gz", flipped, sum), "does not match its checksum"},
		{"corrupt gzip", put("corrupt.db.gz", flipped, nil), "decompress"},
		{"truncated", put("cut.db.gz", raw[:len(raw)*2/3], nil), "cut off"},
		{"not a database", put("junk.db", []byte(strings.Repeat("junk", 2000)), nil), "not a database"},
	} {
		_, stderr, code := ffrtmp(t, dir, "master", "restore", "--from", tc.path, "--db", db, "--force")
		if code == 0 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "refused") {
			t.Errorf("%s: exit %d, stderr %q; want %q", tc.name, code, stderr, tc.want)
		}
		if fileSum(t, db) != want {
			t.Fatalf("%s: the database changed", tc.name)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(db), "*restore*")); len(leftovers) > 0 {
		t.Errorf("refused restores left %v", leftovers)
	}

	p = startMasterProc(t, flags...)
	c = p.client(t)
	after, err := c.ListJobs(ctx, api.ListJobsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Jobs) != len(before.Jobs) {
		t.Fatalf("restored %d jobs, had %d", len(after.Jobs), len(before.Jobs))
	}
	for i, j := range before.Jobs {
		if a := after.Jobs[i]; a.ID != j.ID || a.Status != j.Status || a.Labels["drill"] != j.Labels["drill"] {
			t.Errorf("job %s: %s %v after the restore, %s %v before", j.ID, a.Status, a.Labels, j.Status, j.Labels)
		}
	}
	if got, err := c.GetPreset(ctx, "drill-ladder"); err != nil || got.Description != "kept by the backup" {
		t.Errorf("preset after the restore: %+v, %v", got, err)
	}
	if _, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
		t.Errorf("submit after the restore: %v", err)
	}
}

// TestBackupDirUnwritable: a backup folder that becomes unusable after the start makes the
// scheduled backup fail: logged, counted in /metrics, no file left, and the master serves on.
func TestBackupDirUnwritable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bdir := filepath.Join(dir, "backups")
	placeholder(t, bdir, 55*time.Second)
	p := startMasterProc(t, "--db", filepath.Join(dir, "master.db"), "--backup-dir", bdir, "--backup-interval", "1m")
	// Root can write to any folder whatever its mode: the folder is replaced by a file.
	if err := os.RemoveAll(bdir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bdir, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed backup in /metrics", 30*time.Second, func() bool {
		return p.metric(t, `ffrtmp_master_backups_total{result="failure"}`) == "1"
	})
	if !strings.Contains(p.stderr.String(), `msg="scheduled backup failed; retrying"`) {
		t.Errorf("the failure is not logged:\n%s", p.stderr.String())
	}
	if got := p.metric(t, `ffrtmp_master_backups_total{result="success"}`); got != "0" {
		t.Errorf("backups_total{success} = %q, want 0", got)
	}
	if _, err := p.client(t).SubmitJob(context.Background(), api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
		t.Errorf("the master stopped serving after a failed backup: %v", err)
	}

	// An unusable folder at start is refused at once.
	_, stderr, code := ffrtmp(t, dir, "master", "--db", filepath.Join(dir, "m2.db"), "--api-key", drillKey, "--backup-dir", bdir)
	if code == 0 || !strings.Contains(stderr, "--backup-dir") {
		t.Errorf("start with a file as --backup-dir: exit %d, %s", code, stderr)
	}
	_, stderr, code = ffrtmp(t, dir, "master", "--db", filepath.Join(dir, "m2.db"), "--api-key", drillKey, "--backup-dir", dir, "--backup-interval", "30s")
	if code == 0 || !strings.Contains(stderr, "--backup-interval 30s: want 1m0s or more") {
		t.Errorf("--backup-interval 30s: exit %d, %s", code, stderr)
	}
}

// TestMasterBackupCommand: `ffrtmp master backup` through the API into a file and into a
// folder with --keep; what it wrote restores, and a database in place needs --force and is
// kept.
func TestMasterBackupCommand(t *testing.T) {
	t.Parallel()
	h := mastertest.Start(t)
	ctx := context.Background()
	job, err := h.Client(t, auth.RoleAdmin).SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Labels: map[string]string{"seq": "cli"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conn := []string{"--master", h.URL, "--api-key", mastertest.AdminKey}
	file := filepath.Join(dir, "one.db.gz")
	stdout, stderr, code := ffrtmp(t, dir, append([]string{"master", "backup", "--out", file}, conn...)...)
	if code != 0 || !strings.Contains(stdout, "wrote "+file) {
		t.Fatalf("backup --out FILE: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(file + ".sha256"); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := ffrtmp(t, dir, append([]string{"master", "backup", "--out", file}, conn...)...); code == 0 || !strings.Contains(stderr, "exists") {
		t.Errorf("backup over an existing file: exit %d, %s", code, stderr)
	}
	if _, stderr, code := ffrtmp(t, dir, "master", "backup", "--out", filepath.Join(dir, "x.db"), "--master", h.URL, "--api-key", mastertest.SubmitterKey); code == 0 || !strings.Contains(stderr, "role") {
		t.Errorf("backup with a submitter key: exit %d, %s", code, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*x.db*")); len(left) > 0 {
		t.Errorf("a refused backup left %v", left)
	}

	folder := filepath.Join(dir, "backups")
	olds := []string{placeholder(t, folder, 3*time.Hour), placeholder(t, folder, 2*time.Hour)}
	os.WriteFile(filepath.Join(folder, "keep-me.txt"), nil, 0o600)
	stdout, stderr, code = ffrtmp(t, dir, append([]string{"master", "backup", "--out", folder + "/", "--keep", "2"}, conn...)...)
	if code != 0 {
		t.Fatalf("backup --out DIR: exit %d\n%s%s", code, stdout, stderr)
	}
	names, _ := backup.List(folder)
	if len(names) != 2 || filepath.Join(folder, names[0]) != olds[1] {
		t.Errorf("after --keep 2: %v; want the newer placeholder and the new backup", names)
	}
	if _, err := os.Stat(filepath.Join(folder, "keep-me.txt")); err != nil {
		t.Errorf("pruning removed a file that is not a backup: %v", err)
	}

	// Restore it into a database that exists: refused without --force, then kept as .bak.
	target := filepath.Join(dir, "restored", "master.db")
	os.MkdirAll(filepath.Dir(target), 0o700)
	os.WriteFile(target, []byte("the old database"), 0o600)
	if _, stderr, code := ffrtmp(t, dir, "master", "restore", "--from", file, "--db", target); code == 0 || !strings.Contains(stderr, "add --force") {
		t.Errorf("restore over an existing database: exit %d, %s", code, stderr)
	}
	stdout, stderr, code = ffrtmp(t, dir, "master", "restore", "--from", file, "--db", target, "--force")
	if code != 0 || !strings.Contains(stdout, "kept as "+target+".bak-") {
		t.Fatalf("restore --force: exit %d\n%s%s", code, stdout, stderr)
	}
	baks, _ := filepath.Glob(target + ".bak-*")
	if len(baks) != 1 {
		t.Fatalf("backups of the old database: %v", baks)
	}
	if b, _ := os.ReadFile(baks[0]); string(b) != "the old database" {
		t.Errorf("%s holds %q", baks[0], b)
	}
	r := mastertest.StartIn(t, filepath.Dir(target))
	if j, err := r.Client(t, "admin").GetJob(ctx, job.ID); err != nil || j.Labels["seq"] != "cli" {
		t.Fatalf("the restored master's job: %+v, %v", j, err)
	}
}
