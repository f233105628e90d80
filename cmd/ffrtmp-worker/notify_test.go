package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/sdnotify/sdnotifytest"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// TestSystemdNotify runs the worker as systemd runs a Type=notify service with
// WatchdogSec=, before its master is up: it says it is registering (and why it cannot yet)
// and sends no READY=1; once the master starts, READY=1 comes after the master knows the
// node; WATCHDOG=1 follows at half WATCHDOG_USEC; SIGTERM sends STOPPING=1 and the worker
// exits 0.
func TestSystemdNotify(t *testing.T) {
	port := freePort(t)
	sock := sdnotifytest.Listen(t)
	var stderr bytes.Buffer
	w := exec.Command(bin, "--master", "http://127.0.0.1:"+strconv.Itoa(port), "--data-dir", t.TempDir(),
		"--metrics-port", "0", "--log-format", "json")
	w.Env = append(os.Environ(), "FFMPEG_RTMP_API_KEY="+mastertest.WorkerKey, sock.Env(), "WATCHDOG_USEC=400000")
	w.Stderr = &stderr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Process.Kill(); _ = w.Wait() })
	if _, ok := sock.Next("STATUS=registering with the master (retrying:", 30*time.Second); !ok {
		t.Fatalf("no status saying the worker retries registering; got %v\n%s", sock.All(), stderr.String())
	}
	for _, m := range sock.All() {
		if strings.Contains(m.Text, "READY=1") {
			t.Fatalf("READY=1 before the master is up: %q", m.Text)
		}
	}
	h := mastertest.Start(t, func(c *master.Config) { c.Port = port })
	if _, ok := sock.Next("READY=1", 60*time.Second); !ok {
		t.Fatalf("no READY=1 within 60 s of the master's start; got %v\n%s", sock.All(), stderr.String())
	}
	nodes, err := h.Client(t, auth.RoleAdmin).ListNodes(context.Background())
	if err != nil || len(nodes.Nodes) != 1 {
		t.Fatalf("at READY=1 the master knows %d nodes (%v), want the worker", len(nodes.Nodes), err)
	}
	for i := 0; i < 3; i++ {
		if _, ok := sock.Next("WATCHDOG=1", 2*time.Second); !ok {
			t.Fatalf("watchdog ping %d missing within 2 s; got %v", i+1, sock.All())
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"registered"`) {
		t.Errorf("--log-format json: the log is not JSON lines:\n%s", stderr.String())
	}
	if err := w.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, ok := sock.Next("STOPPING=1", 10*time.Second); !ok {
		t.Fatalf("no STOPPING=1 after SIGTERM; got %v", sock.All())
	}
	if err := w.Wait(); err != nil {
		t.Fatalf("worker after SIGTERM: %v\n%s", err, stderr.String())
	}
}
