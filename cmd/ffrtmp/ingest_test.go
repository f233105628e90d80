package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// ingestProc is a running `ffrtmp ingest`.
type ingestProc struct {
	cmd    *exec.Cmd
	stderr *runOutput
	done   chan error
}

// startIngest starts `ffrtmp ingest args...` in dir and waits for its banner.
func startIngest(t *testing.T, dir string, args ...string) *ingestProc {
	t.Helper()
	p := &ingestProc{cmd: exec.Command(bin, append([]string{"ingest"}, args...)...), stderr: &runOutput{}, done: make(chan error, 1)}
	p.cmd.Dir, p.cmd.Env, p.cmd.Stderr = dir, isolatedEnv(dir), p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	runWaitFor(t, 30*time.Second, "ffrtmp ingest's banner", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("ffrtmp ingest ended (%v):\n%s", err, p.stderr.String())
		default:
		}
		return strings.Contains(p.stderr.String(), "Ctrl-C to stop")
	})
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *ingestProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		t.Fatalf("ffrtmp ingest did not stop within 20 s of SIGTERM:\n%s", p.stderr.String())
		return -1
	}
}

// TestStandaloneIngestLive runs the RTMP ingest as its own process in front of a farm whose
// master runs none (`ffrtmp run --rtmp-port -1 --ingest-url ...`): streams' ingest_url points
// at the standalone ingest, a publisher with a wrong key is refused there, one with the
// stream's key goes live, the live job runs on the farm's worker playing the stream from the
// standalone ingest's relay and writes its HLS, the stream's view shows the bitrate the
// ingest reports; when the publisher stops, the job completes after the grace and the
// stream is idle; SIGTERM stops the ingest cleanly.
func TestStandaloneIngestLive(t *testing.T) {
	farmDir, ingestDir := t.TempDir(), t.TempDir()
	port, ingestPort, hlsPort, metricsPort := freePort(t), freePort(t), freePort(t), freePort(t)
	ingestURL := "rtmp://127.0.0.1:" + ingestPort
	f := startRun(t, farmDir, "--port", port, "--rtmp-port", "-1", "--ingest-url", ingestURL, "--hls-port", hlsPort, "--live-grace", "2s")
	if banner := f.stderr.String(); !strings.Contains(banner, "RTMP     "+ingestURL+"/live/<stream key>") {
		t.Errorf("ffrtmp run's banner lacks the standalone ingest's URL:\n%s", banner)
	}
	data := filepath.Join(farmDir, dataDirName)
	c := farmClient(t, data, port)
	key, err := os.ReadFile(filepath.Join(data, apiKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	master := "http://127.0.0.1:" + port

	// A key the master does not take stops the ingest at start (exit 4).
	_, stderr, code := runWithEnv(t, ingestDir, isolatedEnv(ingestDir), "", "ingest", "--master", master, "--api-key", "not-a-key",
		"--listen", "127.0.0.1:"+ingestPort)
	if code != exitAuth || !strings.Contains(stderr, "ingest role") {
		t.Errorf("ingest with a wrong API key: exit %d, want %d saying it needs the ingest role:\n%s", code, exitAuth, stderr)
	}

	// `ffrtmp run` keeps only an admin key, which may use the ingest routes too (the ingest
	// role's own key is tested against the API in master/httpapi).
	in := startIngest(t, ingestDir, "--master", master, "--api-key", strings.TrimSpace(string(key)),
		"--listen", "127.0.0.1:"+ingestPort, "--grace", "2s", "--stats-interval", "1s", "--metrics-addr", "127.0.0.1:"+metricsPort)
	if banner := in.stderr.String(); !strings.Contains(banner, "publish  "+ingestURL+"/live/<stream key>") ||
		!strings.Contains(banner, "relay    "+ingestURL) || !strings.Contains(banner, "--ingest-url") {
		t.Errorf("ingest banner lacks where to publish, the relay or the master's --ingest-url:\n%s", banner)
	}

	ctx := context.Background()
	st := createLiveStream(t, c, "edge-cam", "240p")
	if st.IngestURL != ingestURL+"/live/" {
		t.Fatalf("stream's ingest_url %q, want the standalone ingest's %s/live/", st.IngestURL, ingestURL)
	}

	// A wrong key is refused by the standalone ingest (the master said no), without the key
	// in its log.
	const wrongKey = "wrong-stream-key-0123456789"
	if err := startLivePublisher(t, st.IngestURL+wrongKey, 160, 120, 1).wait(30 * time.Second); err == nil {
		t.Error("a publisher with a wrong key was accepted")
	}
	// The ingest's stderr reaches the test through a pipe: the line may land a moment after
	// the publisher has its refusal.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(in.stderr.String(), "rtmp publish refused") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if log := in.stderr.String(); !strings.Contains(log, "rtmp publish refused") || strings.Contains(log, wrongKey) {
		t.Errorf("ingest log: want the refusal, without the key:\n%s", log)
	}

	const seconds = 5
	pub := startLivePublisher(t, st.IngestURL+st.StreamKey, 320, 240, seconds)
	var live *api.Stream
	runWaitFor(t, 20*time.Second, "stream edge-cam to be live with a job", func() bool {
		if live, err = c.GetStream(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		return live.State == api.StreamLive && live.JobID != ""
	})
	job := runWaitJob(t, c, live.JobID, api.StatusRunning, api.StatusCompleted)
	if relay := ingestURL + "/live/"; !strings.HasPrefix(job.Input, relay) {
		t.Errorf("live job input %q, want it to play from the standalone ingest's relay %s", job.Input, relay)
	}
	out := filepath.Join(data, runOutDir, "streams", "edge-cam")
	runWaitFor(t, 30*time.Second, "the 240p live playlist while the publisher sends", func() bool {
		_, err := os.Stat(filepath.Join(out, "240p", "index.m3u8"))
		return err == nil || pub.ended()
	})
	if pub.ended() {
		t.Fatalf("the publisher ended before the live playlist was there: %v", pub.err)
	}
	if !strings.Contains(in.stderr.String(), "rtmp play started") {
		t.Errorf("the live job did not play from the standalone ingest:\n%s", in.stderr.String())
	}
	runWaitFor(t, 10*time.Second, "the input bitrate the ingest reports in the stream's view", func() bool {
		s, err := c.GetStream(ctx, st.ID)
		return err == nil && s.Input != nil && s.Input.Bitrate > 0
	})
	players := regexp.MustCompile(`(?m)^ffrtmp_rtmp_players 1$`)
	resp, err := http.Get("http://127.0.0.1:" + metricsPort + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !players.Match(body) || !strings.Contains(string(body), `ffrtmp_ingest_events_delivered_total{type="published"} 1`) {
		t.Errorf("ingest metrics: want one player and the published event delivered:\n%s", body)
	}

	if err := pub.wait(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	runWaitJob(t, c, live.JobID, api.StatusCompleted)
	runWaitFor(t, 20*time.Second, "stream edge-cam to be idle after the grace", func() bool {
		s, err := c.GetStream(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s.State == api.StreamIdle && s.LastJobID == live.JobID
	})
	if segs := liveSegments(t, filepath.Join(out, "240p", "index.m3u8")); len(segs) < 1 {
		t.Errorf("the live job's playlist lists no segment")
	}

	if code := in.stop(t); code != 0 || !strings.Contains(in.stderr.String(), "ingest stopped") {
		t.Errorf("SIGTERM: exit %d, want 0 and \"ingest stopped\":\n%s", code, in.stderr.String())
	}
}

// TestIngestFlagsChecked: settings a standalone ingest or a master cannot use are refused
// before anything starts.
func TestIngestFlagsChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ingest", "--api-key", "k", "--stats-interval", "0s"}, exitUsage, "--stats-interval"},
		{[]string{"ingest", "--api-key", "k", "--stats-interval", "1m"}, exitUsage, "--stats-interval"},
		{[]string{"ingest", "--api-key", "k", "--relay-url", "http://edge:1935"}, exitUsage, "--relay-url"},
		{[]string{"ingest", "--api-key", "k", "--relay-url", "rtmp://edge"}, exitUsage, "want a port"},
		{[]string{"ingest", "--api-key", "k", "--grace", "0s"}, exitUsage, "--grace"},
		{[]string{"ingest", "--api-key", "k", "--tls-cert", "c.pem"}, exitUsage, "--tls-key"},
		{[]string{"ingest"}, exitAuth, "no API key"},
		{[]string{"master", "--db", filepath.Join(dir, "m.db"), "--ingest-url", "rtmp://live.example/app"}, exitFailed, "--ingest-url"},
	} {
		_, stderr, code := runWithEnv(t, dir, isolatedEnv(dir), "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("ffrtmp %v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
}
