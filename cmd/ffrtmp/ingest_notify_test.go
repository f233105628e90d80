package main

import (
	"bytes"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/sdnotify/sdnotifytest"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// TestIngestSystemdNotify runs `ffrtmp ingest` as systemd runs a Type=notify service with
// WatchdogSec=: READY=1 comes when the RTMP listener answers (an RTMP handshake right after
// it succeeds), with a STATUS= that names it; WATCHDOG=1 follows at half WATCHDOG_USEC;
// SIGTERM sends STOPPING=1 and the ingest exits 0.
func TestIngestSystemdNotify(t *testing.T) {
	h := mastertest.Start(t)
	dir := t.TempDir()
	sock := sdnotifytest.Listen(t)
	addr := "127.0.0.1:" + freePort(t)
	var stderr runOutput
	c := exec.Command(bin, "ingest", "--master", h.URL, "--api-key", mastertest.IngestKey, "--listen", addr)
	c.Dir, c.Env, c.Stderr = dir, isolatedEnv(dir, sock.Env(), "WATCHDOG_USEC=400000"), &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	t.Cleanup(func() {
		if c.ProcessState == nil {
			_ = c.Process.Kill()
			<-done
		}
	})
	ready, ok := sock.Next("READY=1", 30*time.Second)
	if !ok {
		t.Fatalf("no READY=1 within 30 s; got %v\n%s", sock.All(), stderr.String())
	}
	rtmpHandshake(t, addr)
	if want := "STATUS=RTMP on " + addr + "; 0 live streams; 0 events waiting for the master"; !strings.Contains(ready.Text, want) {
		t.Errorf("READY=1 message %q, want %q", ready.Text, want)
	}
	for i := 0; i < 3; i++ {
		if _, ok := sock.Next("WATCHDOG=1", 2*time.Second); !ok {
			t.Fatalf("watchdog ping %d missing within 2 s; got %v", i+1, sock.All())
		}
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, ok := sock.Next("STOPPING=1", 10*time.Second); !ok {
		t.Fatalf("no STOPPING=1 after SIGTERM; got %v", sock.All())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ingest after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the ingest did not stop within 20 s of SIGTERM:\n%s", stderr.String())
	}

	// --log-format takes text or json, like every daemon's.
	_, errOut, code := ffrtmp(t, dir, "ingest", "--log-format", "xml")
	if code != 2 || !strings.Contains(errOut, `--log-format "xml": want text or json`) {
		t.Errorf("--log-format xml: exit %d, %q", code, errOut)
	}
}

// rtmpHandshake sends an RTMP C0+C1 to addr and reads the server's S0+S1: the listener is
// served, not only bound.
func rtmpHandshake(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	c1 := append([]byte{3}, bytes.Repeat([]byte{0}, 1536)...)
	if _, err := conn.Write(c1); err != nil {
		t.Fatal(err)
	}
	s := make([]byte, 1+1536)
	if _, err := io.ReadFull(conn, s); err != nil || s[0] != 3 {
		t.Fatalf("RTMP handshake right after READY=1: S0 %v, %v", s[0], err)
	}
}
