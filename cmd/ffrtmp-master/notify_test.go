package main_test

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/sdnotify/sdnotifytest"
)

// TestSystemdNotify runs the master as systemd runs a Type=notify service with
// WatchdogSec=: READY=1 comes once the API answers (the first request after it succeeds),
// with a STATUS= that says where; WATCHDOG=1 follows at half WATCHDOG_USEC; SIGTERM sends
// STOPPING=1 before the master exits 0.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := sdnotifytest.Listen(t)
	p := launch(t, dir, env(sock.Env(), "WATCHDOG_USEC=400000"), quiet(filepath.Join(dir, "m.db"), "--api-key", "K")...)
	ready, ok := sock.Next("READY=1", 30*time.Second)
	if !ok {
		t.Fatalf("no READY=1 within 30 s; got %v\n%s", sock.All(), p.stderr.String())
	}
	p.waitListening(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.client(t, "K").Ready(ctx); err != nil {
		t.Fatalf("GET /readyz right after READY=1: %v", err)
	}
	if want := "STATUS=serving " + p.URL + "; jobs queued 0, running 0"; !strings.Contains(ready.Text, want) {
		t.Errorf("READY=1 message %q, want %q", ready.Text, want)
	}
	for i := 0; i < 3; i++ {
		if _, ok := sock.Next("WATCHDOG=1", 2*time.Second); !ok {
			t.Fatalf("watchdog ping %d missing within 2 s (WATCHDOG_USEC 0.4 s); got %v", i+1, sock.All())
		}
	}
	p.signal(t, syscall.SIGTERM)
	if _, ok := sock.Next("STOPPING=1", 10*time.Second); !ok {
		t.Fatalf("no STOPPING=1 after SIGTERM; got %v", sock.All())
	}
	if st := p.wait(t, 20*time.Second); st.ExitCode() != 0 {
		t.Fatalf("exit %v after SIGTERM:\n%s", st, p.stderr.String())
	}
	for _, m := range sock.All() {
		if strings.Contains(m.Text, "READY=1") && m.At.After(ready.At) {
			t.Errorf("a second READY=1: %q", m.Text)
		}
	}
}
