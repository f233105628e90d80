package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// capSysNice is CAP_SYS_NICE's bit in /proc's capability masks.
const capSysNice = 23

// TestNoRealtimeThreads: a process that links the engine cannot give threads real-time
// priority (no CAP_SYS_NICE in any set, RLIMIT_RTPRIO 0), so SVT-AV1, which asks for
// SCHED_FIFO 99 when it may, runs every thread at normal priority, even as root.
func TestNoRealtimeThreads(t *testing.T) {
	t.Parallel()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Cap") || k == "CapAmb" {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if mask&(1<<capSysNice) != 0 {
			t.Errorf("%s has CAP_SYS_NICE: libav's threads could take real-time priority", k)
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(14 /* RLIMIT_RTPRIO */, &lim); err != nil || lim.Cur != 0 || lim.Max != 0 {
		t.Errorf("RLIMIT_RTPRIO = %+v (%v), want 0", lim, err)
	}

	// Sample every thread's policy while SVT-AV1 encodes.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var realtime []string
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			tasks, _ := filepath.Glob("/proc/self/task/*/stat")
			for _, p := range tasks {
				b, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				// Fields after the command's closing parenthesis; policy is field 41.
				f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
				if len(f) > 38 && f[38] != "0" {
					realtime = append(realtime, p+" policy "+f[38])
				}
			}
		}
	}()
	_, err = engine.Run(ctx, spec.Spec{Input: synthetic(640, 360, 3), Outputs: []spec.Output{{Container: "null",
		Video: &spec.Video{Codec: "libsvtav1", Preset: "12"}}}}, nil)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(realtime) > 0 {
		t.Errorf("threads ran with a real-time policy: %v", realtime[:min(len(realtime), 5)])
	}
}
