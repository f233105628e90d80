package engine_test

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// cancelWithin is how soon Run must return once its context is cancelled.
const cancelWithin = time.Second

// runCancelled starts spec, cancels it after delay and returns Run's error and how long Run
// took to return after the cancel.
func runCancelled(t *testing.T, spec spec.Spec, delay time.Duration) (error, time.Duration) {
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
		input   spec.Input
		outputs func(dir string) []spec.Output
	}{
		{
			name:  "mid transcode",
			input: synthetic(640, 360, 3600),
			outputs: func(dir string) []spec.Output {
				return []spec.Output{
					{Name: "file", Target: filepath.Join(dir, "out.mp4"), Video: &spec.Video{Preset: "ultrafast"}},
					{Name: "hls", Container: "hls", Target: filepath.Join(dir, "ladder"), Video: fast(320, 180)},
				}
			},
		},
		{
			name:  "blocked on network input",
			input: spec.Input{URL: "http://" + addr + "/x.ts"},
			outputs: func(dir string) []spec.Output {
				return []spec.Output{{Target: filepath.Join(dir, "out.mp4")}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			err, took := runCancelled(t, spec.Spec{Input: tc.input, Outputs: tc.outputs(dir)}, 300*time.Millisecond)
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

// stallingServer serves body over HTTP (no length, like a live stream), then keeps the
// connection open without sending more. It returns the URL.
func stallingServer(t *testing.T, body []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c
			go func() {
				io.Copy(io.Discard, io.LimitReader(c, 1)) // the request has begun
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n"))
				c.Write(body)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range held {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/live.ts"
}

// TestRunNetworkStall: a stream that stops sending fails the run with an I/O error after
// input.timeout_seconds, rather than blocking it forever or passing for its end.
func TestRunNetworkStall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, err := os.ReadFile(makeSource(t, dir, "src.ts", 320, 240, 4))
	if err != nil {
		t.Fatal(err)
	}
	url := stallingServer(t, data[:len(data)/2/188*188]) // whole TS packets, then silence
	start := time.Now()
	_, err = engine.Run(context.Background(), spec.Spec{
		Input:   spec.Input{URL: url, TimeoutSeconds: 1},
		Outputs: []spec.Output{{Target: filepath.Join(dir, "out", "o.mp4"), Video: fast(160, 120)}},
	}, nil)
	took := time.Since(start)
	e := engineErr(t, err, engine.KindIO)
	if !strings.Contains(e.Error(), "no data for 1s") {
		t.Errorf("error %q does not say the input stalled", e)
	}
	if took > 10*time.Second {
		t.Errorf("Run returned after %v, want about 1 s after the stall", took)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("the failed run left its output folder behind (stat: %v)", err)
	}
}
