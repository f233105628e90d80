package sdnotify_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/sdnotify"
	"github.com/ffrtmp/ffrtmp/internal/sdnotify/sdnotifytest"
)

func next(t *testing.T, s *sdnotifytest.Socket, want string) string {
	t.Helper()
	m, ok := s.Next(want, 5*time.Second)
	if !ok {
		t.Fatalf("no notification with %q within 5 s; got %v", want, s.All())
	}
	return m.Text
}

func TestReadyWatchdogStopping(t *testing.T) {
	sock := sdnotifytest.Listen(t)
	t.Setenv("NOTIFY_SOCKET", sock.Path)
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
	if m := next(t, sock, "STATUS="); strings.Contains(m, "READY=1") {
		t.Fatalf("READY=1 before the daemon said it serves: %q", m)
	}
	time.Sleep(300 * time.Millisecond)
	for _, m := range sock.All() {
		if strings.Contains(m.Text, "READY=1") || strings.Contains(m.Text, "WATCHDOG=1") {
			t.Fatalf("%q before the daemon said it serves", m.Text)
		}
	}
	close(ready)
	if m := next(t, sock, "READY=1"); !strings.Contains(m, "STATUS=serving something") {
		t.Errorf("READY=1 without the status on one line: %q", m)
	}
	next(t, sock, "WATCHDOG=1")
	next(t, sock, "WATCHDOG=1")
	healthy.Store(false)
	failedAt := time.Now()
	next(t, sock, "STATUS=unhealthy, withholding the watchdog ping: database stuck")
	time.Sleep(500 * time.Millisecond)
	healthy.Store(true)
	m, _ := sock.Next("WATCHDOG=1", 5*time.Second)
	if gap := m.At.Sub(failedAt); gap < 400*time.Millisecond {
		t.Fatalf("a ping %v after the health check began to fail", gap)
	}
	cancel()
	next(t, sock, "STOPPING=1")
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
