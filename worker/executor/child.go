package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/ffrtmp/ffrtmp/engine"
)

// Exit codes of the child: anything else (or a signal) is a crash.
const (
	ExitOK     = 0
	ExitFailed = 3 // the run failed; an error event says why
)

// Main is the child's entry point: the worker's binary calls it from a hidden subcommand.
// It reads one Request from stdin, runs it, and writes Events to stdout. SIGTERM and SIGINT
// cancel the run (the engine removes what it wrote).
func Main(stdin io.Reader, stdout io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	engine.TuneProcess()
	out := &eventWriter{w: bufio.NewWriter(stdout)}
	var req Request
	dec := json.NewDecoder(io.LimitReader(stdin, 4<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		out.write(Event{Type: "error", Error: &Failure{Kind: string(engine.KindSpec), Message: "read request: " + err.Error()}})
		return ExitFailed
	}
	obs := newObserver(out)
	res, err := engine.Run(ctx, req.Spec, obs)
	if err != nil {
		out.write(Event{Type: "error", Error: failure(err)})
		return ExitFailed
	}
	obs.flush()
	out.write(Event{Type: "result", Result: &res})
	return ExitOK
}

func failure(err error) *Failure {
	f := &Failure{Kind: string(engine.KindOf(err)), Message: err.Error()}
	var e *engine.Error
	if errors.As(err, &e) {
		// A device another node may have, or a network hiccup, may go well elsewhere or later.
		f.Transient = e.Transient() || e.Kind == engine.KindHardware
	}
	if f.Kind == "" {
		f.Kind = "internal"
	}
	return f
}

// eventWriter writes one JSON line per event, flushed at once, from any goroutine.
type eventWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (e *eventWriter) write(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, err := json.Marshal(ev)
	if err != nil {
		b, _ = json.Marshal(Event{Type: "error", Error: &Failure{Kind: "internal", Message: fmt.Sprintf("encode event: %v", err)}})
	}
	e.w.Write(b)
	e.w.WriteByte('\n')
	if err := e.w.Flush(); err != nil {
		// The worker is gone: nobody reads on. Stop rather than transcode for no one.
		os.Exit(ExitFailed)
	}
}

// observer sends the engine's progress and the frames' encode latencies.
type observer struct {
	out *eventWriter

	mu  sync.Mutex
	lat map[string]*EncodeLatency // by output
}

func newObserver(out *eventWriter) *observer {
	return &observer{out: out, lat: map[string]*EncodeLatency{}}
}

func (o *observer) OnFrame(f engine.FrameStats) {
	if f.Media != "video" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.lat[f.Output]
	if l == nil {
		l = &EncodeLatency{Output: f.Output, Buckets: make([]int64, len(LatencyBuckets)+1)}
		o.lat[f.Output] = l
	}
	l.Frames++
	l.Seconds += f.Encode.Seconds()
	i := 0
	for i < len(LatencyBuckets) && f.Encode > LatencyBuckets[i] {
		i++
	}
	l.Buckets[i]++
}

func (o *observer) OnProgress(p engine.Progress) {
	o.out.write(Event{Type: "progress", Progress: &p, Encode: o.take()})
}

// flush sends the latencies not yet sent.
func (o *observer) flush() {
	if enc := o.take(); len(enc) > 0 {
		o.out.write(Event{Type: "progress", Encode: enc})
	}
}

func (o *observer) take() []EncodeLatency {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []EncodeLatency
	for name, l := range o.lat {
		out = append(out, *l)
		delete(o.lat, name)
	}
	return out
}
