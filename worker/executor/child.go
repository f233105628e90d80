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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/redact"
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
		out.write(Event{Type: "error", Error: &Failure{Kind: string(engine.KindSpec), Message: "read request: " + redact.Text(err.Error())}})
		return ExitFailed
	}
	obs := newObserver(out)
	var eobs engine.Observer = obs
	if req.Live {
		eobs = liveObserver{obs}
	}
	res, err := engine.Run(ctx, req.Spec, eobs)
	if err != nil {
		out.write(Event{Type: "error", Error: failure(err)})
		return ExitFailed
	}
	obs.flush()
	out.write(Event{Type: "result", Result: &res, EncodeSummary: obs.summary()})
	return ExitOK
}

func failure(err error) *Failure {
	// The message leaves this process for the worker's logs and the master's job events.
	f := &Failure{Kind: string(engine.KindOf(err)), Message: redact.Text(err.Error())}
	var e *engine.Error
	var nf *engine.FormatNotAllowedError
	if errors.As(err, &e) && errors.As(err, &nf) {
		// The whitelist is the worker's policy (access.LocalDemuxers), not the submitter's.
		f.Message = fmt.Sprintf("%s %s: input format %s is not allowed for farm jobs (allowed: %s)",
			e.Op, e.Subject, nf.Format, strings.ReplaceAll(nf.Allowed, ",", ", "))
	}
	if e != nil {
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

	mu   sync.Mutex
	lat  map[string]*EncodeLatency // encode time, by output
	live map[string]*EncodeLatency // pipeline latency (live jobs), by output
	// sample keeps encode times for the run's percentiles (a bounded reservoir).
	sample reservoir
}

func newObserver(out *eventWriter) *observer {
	return &observer{out: out, lat: map[string]*EncodeLatency{}, live: map[string]*EncodeLatency{}}
}

func (o *observer) OnFrame(f engine.FrameStats) {
	if f.Media != "video" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	count(o.lat, LatencyBuckets, f.Output, f.Encode)
	o.sample.add(float64(f.Encode) / float64(time.Millisecond))
}

// summary is the percentiles of the frames' encode times over the run.
func (o *observer) summary() *api.LatencySummary {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sample.summary()
}

// count adds one duration d of output to its histogram in m.
func count(m map[string]*EncodeLatency, bounds []time.Duration, output string, d time.Duration) {
	l := m[output]
	if l == nil {
		l = &EncodeLatency{Output: output, Buckets: make([]int64, len(bounds)+1)}
		m[output] = l
	}
	l.Frames++
	l.Seconds += d.Seconds()
	i := 0
	for i < len(bounds) && d > bounds[i] {
		i++
	}
	l.Buckets[i]++
}

// OnWarning sends a warning at once (engine.WarningObserver).
func (o *observer) OnWarning(msg string) {
	o.out.write(Event{Type: "warning", Warning: msg})
}

func (o *observer) OnProgress(p engine.Progress) {
	enc, live := o.take()
	o.out.write(Event{Type: "progress", Progress: &p, Encode: enc, Latency: live})
}

// flush sends the latencies not yet sent.
func (o *observer) flush() {
	if enc, live := o.take(); len(enc)+len(live) > 0 {
		o.out.write(Event{Type: "progress", Encode: enc, Latency: live})
	}
}

func (o *observer) take() (enc, live []EncodeLatency) {
	o.mu.Lock()
	defer o.mu.Unlock()
	drain := func(m map[string]*EncodeLatency) []EncodeLatency {
		var out []EncodeLatency
		for name, l := range m {
			out = append(out, *l)
			delete(m, name)
		}
		return out
	}
	return drain(o.lat), drain(o.live)
}

// liveObserver is the observer of a live job: it also hears the pipeline latencies.
type liveObserver struct{ *observer }

func (o liveObserver) OnLatency(output string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	count(o.live, LiveLatencyBuckets, output, d)
}
