package engine

import (
	"os"
	"runtime"
)

// TuneProcess configures the Go runtime for a process whose work is running the engine (the
// transcode command, a worker's executor, the engine benchmark): one P, unless the
// GOMAXPROCS environment variable says otherwise.
//
// The Go side of a run is orchestration only; decoding, filtering and encoding run in
// libav's own threads and in cgo calls, which need no P. With more Ps the scheduler keeps
// waking idle threads to look for work on every queue hand-off, which measured about 2-3 %
// more CPU (and twice the context switches) than ffmpeg on the same transcode on 2 cores;
// with one P the engine is at parity. Not for processes that also serve HTTP or run the
// master.
func TuneProcess() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
