package engine_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/engine"
)

// cancelWithin is how soon Run must return once its context is cancelled.
const cancelWithin = time.Second

// runCancelled starts spec, cancels it after delay and returns Run's error and how long Run
// took to return after the cancel.
func runCancelled(t *testing.T, spec engine.Spec, delay time.Duration) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type outcome struct {
		err error
		at  time.Time
	}
	done := make(chan outcome, 1)
	go func() {
		_, err := engine.Run(ctx, spec, nil)
		done <- outcome{err, time.Now()}
	}()
	select {
	case o := <-done:
		t.Fatalf("Run returned before the cancel: %v", o.err)
	case <-time.After(delay):
	}
	cancelled := time.Now()
	cancel()
	select {
	case o := <-done:
		return o.err, o.at.Sub(cancelled)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return 30 s after its context was cancelled")
		return nil, 0
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	addr := silentServer(t)

	tests := []struct {
		name    string
		input   engine.Input
		outputs func(dir string) []engine.Output
	}{
		{
			name:  "mid transcode",
			input: synthetic(640, 360, 3600),
			outputs: func(dir string) []engine.Output {
				return []engine.Output{
					{Name: "file", Target: filepath.Join(dir, "out.mp4"), Video: &engine.Video{Preset: "ultrafast"}},
					{Name: "hls", Container: "hls", Target: filepath.Join(dir, "ladder"), Video: fast(320, 180)},
				}
			},
		},
		{
			name:  "blocked on network input",
			input: engine.Input{URL: "http://" + addr + "/x.ts"},
			outputs: func(dir string) []engine.Output {
				return []engine.Output{{Target: filepath.Join(dir, "out.mp4")}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			err, took := runCancelled(t, engine.Spec{Input: tc.input, Outputs: tc.outputs(dir)}, 300*time.Millisecond)
			engineErr(t, err, engine.KindCanceled)
			if took > cancelWithin {
				t.Errorf("Run returned %v after the cancel, want within %v", took, cancelWithin)
			}
			if !strings.Contains(err.Error(), "cancel") {
				t.Errorf("error %q does not say the run was cancelled", err)
			}
			assertNoOutput(t, dir)
		})
	}
}

// silentServer listens on a local port, accepts connections and never answers, so a client
// blocks in its read. It returns the address.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
