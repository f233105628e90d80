package sdnotify_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/sdnotify"
)

// listen opens a notification socket as systemd does and points NOTIFY_SOCKET at it; the
// messages arrive on the returned channel.
func listen(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	return msgs
}

// next returns the next message that holds want, failing after 5 s.
func next(t *testing.T, msgs <-chan string, want string) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-msgs:
			if strings.Contains(m, want) {
				return m
			}
		case <-timeout:
			t.Fatalf("no notification with %q within 5 s", want)
			return ""
		}
	}
}

func TestReadyWatchdogStopping(t *testing.T) {
	msgs := listen(t)
	t.Setenv("WATCHDOG_USEC", "200000")
	ready := make(chan struct{})
	var healthy atomic.Bool
	healthy.Store(true)
	var stopped atomic.Bool
	s := sdnotify.Service{Ready: ready, Status: func() string { return "serving\nsomething" },
		Health: func(context.Context) error {
			if !healthy.Load() {
				return errors.New("database stuck")
			}
			return nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() {
		ran <- s.Run(ctx, func(rctx context.Context) error {
			<-rctx.Done()
			stopped.Store(true)
			return nil
		})
	}()
	if m := next(t, msgs, "STATUS="); strings.Contains(m, "READY=1") {
		t.Fatalf("READY=1 before the daemon said it serves: %q", m)
	}
	close(ready)
	if m := next(t, msgs, "READY=1"); !strings.Contains(m, "STATUS=serving something") {
		t.Errorf("READY=1 without the status on one line: %q", m)
	}
	next(t, msgs, "WATCHDOG=1")
	next(t, msgs, "WATCHDOG=1")
	healthy.Store(false)
	next(t, msgs, "STATUS=unhealthy, withholding the watchdog ping: database stuck")
	// No ping while unhealthy: drain what was sent before, then watch for a while.
	deadline := time.After(500 * time.Millisecond)
wait:
	for {
		select {
		case m := <-msgs:
			if strings.Contains(m, "WATCHDOG=1") {
				t.Fatalf("a ping while the health check fails: %q", m)
			}
		case <-deadline:
			break wait
		}
	}
	healthy.Store(true)
	next(t, msgs, "WATCHDOG=1")
	cancel()
	next(t, msgs, "STOPPING=1")
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if !stopped.Load() {
		t.Fatal("the daemon's context did not end")
	}
}

func TestNoSocketJustRuns(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	want := errors.New("daemon failed")
	err := sdnotify.Service{}.Run(context.Background(), func(context.Context) error { return want })
	if !errors.Is(err, want) {
		t.Fatalf("Run = %v, want the daemon's error", err)
	}
}
