package engine_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// recorder is an Observer that keeps everything it is told.
type recorder struct {
	mu       sync.Mutex
	frames   []engine.FrameStats
	progress []engine.Progress
}

func (r *recorder) OnFrame(f engine.FrameStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, f)
}

func (r *recorder) OnProgress(p engine.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, p)
}

func (r *recorder) frameCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// framesOf returns the frame stats of one output's media, in the order they came.
func (r *recorder) framesOf(output, media string) []engine.FrameStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var fs []engine.FrameStats
	for _, f := range r.frames {
		if f.Output == output && f.Media == media {
			fs = append(fs, f)
		}
	}
	return fs
}

func TestObserverFramesAndProgress(t *testing.T) {
	t.Parallel()
	const seconds = 2.0
	var obs recorder
	res := run(t, spec.Spec{
		Input: synthetic(320, 240, seconds),
		Outputs: []spec.Output{
			{Name: "same", Container: "null", Video: fast(0, 0)},
			{Name: "half", Container: "null", Video: &spec.Video{Width: 160, Height: 120, Preset: "ultrafast", FPS: spec.Rate{Num: 15, Den: 1}}},
			{Name: "double", Container: "null", Video: &spec.Video{Width: 160, Height: 120, Preset: "ultrafast", FPS: spec.Rate{Num: 60, Den: 1}}},
		},
	}, &obs)

	const in = int64(seconds * 30)
	tests := []struct {
		output              string
		frames              int64
		dropped, duplicated int64
	}{
		{"same", in, 0, 0},
		{"half", in / 2, in / 2, 0},
		{"double", 2 * in, 0, in},
	}
	for i, tc := range tests {
		out := res.Outputs[i]
		if out.Name != tc.output {
			t.Fatalf("result output %d is %q, want %q", i, out.Name, tc.output)
		}
		near := func(got, want int64) bool { return got >= want-1 && got <= want+1 }
		if !near(out.Frames, tc.frames) || !near(out.Dropped, tc.dropped) || !near(out.Duplicated, tc.duplicated) {
			t.Errorf("%s: %d frames, %d dropped, %d duplicated; want %d, %d, %d (±1)",
				tc.output, out.Frames, out.Dropped, out.Duplicated, tc.frames, tc.dropped, tc.duplicated)
		}
		video := obs.framesOf(tc.output, "video")
		if int64(len(video)) != out.Frames {
			t.Errorf("%s: observer got %d video frames, the output encoded %d", tc.output, len(video), out.Frames)
		}
		for j, f := range video {
			if f.Index != int64(j) {
				t.Errorf("%s: video frame %d has index %d", tc.output, j, f.Index)
				break
			}
			if f.Encode <= 0 {
				t.Errorf("%s: video frame %d has no encode time", tc.output, j)
				break
			}
		}
		audio := obs.framesOf(tc.output, "audio")
		if len(audio) == 0 {
			t.Errorf("%s: observer got no audio frames", tc.output)
		}
		for j, f := range audio {
			if f.Index != int64(j) {
				t.Errorf("%s: audio frame %d has index %d", tc.output, j, f.Index)
				break
			}
		}
	}

	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.progress) == 0 {
		t.Fatal("no progress snapshots")
	}
	last := obs.progress[len(obs.progress)-1]
	for _, p := range obs.progress[:len(obs.progress)-1] {
		if p.Final {
			t.Error("a snapshot before the last one is final")
		}
	}
	if !last.Final {
		t.Errorf("last snapshot %+v is not final", last)
	}
	if math.Abs(last.Percent-100) > 0.5 {
		t.Errorf("final progress %.2f%%, want 100%%", last.Percent)
	}
	if last.Frames != in || last.ETA != 0 || last.Duration.Seconds() != seconds {
		t.Errorf("final snapshot: %d frames, ETA %v, duration %v; want %d, 0, %gs", last.Frames, last.ETA, last.Duration, in, seconds)
	}
	if len(last.Outputs) != len(tests) {
		t.Fatalf("final snapshot has %d outputs, want %d", len(last.Outputs), len(tests))
	}
	for i, op := range last.Outputs {
		if op.Name != tests[i].output || op.FramesOut != res.Outputs[i].Frames || op.Bytes == 0 {
			t.Errorf("final snapshot of %s: %+v", tests[i].output, op)
		}
	}
}

// A run longer than the snapshot period reports progress while it runs, and a final
// snapshot when cancelled.
func TestObserverPeriodicProgress(t *testing.T) {
	t.Parallel()
	const seconds = 24 * 3600
	var obs recorder
	ctx, cancel := context.WithTimeout(context.Background(), 1300*time.Millisecond)
	defer cancel()
	_, err := engine.Run(ctx, spec.Spec{
		Input:   synthetic(320, 240, seconds),
		Outputs: []spec.Output{{Container: "null", Video: fast(0, 0)}},
	}, &obs)
	engineErr(t, err, engine.KindCanceled)

	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.progress) < 3 {
		t.Fatalf("%d snapshots in 1.3 s, want two periodic ones and a final one", len(obs.progress))
	}
	var prev engine.Progress
	for i, p := range obs.progress {
		if p.Final != (i == len(obs.progress)-1) {
			t.Errorf("snapshot %d of %d: Final is %v", i+1, len(obs.progress), p.Final)
		}
		if p.Duration != seconds*time.Second || p.Frames < prev.Frames || p.Position < prev.Position || p.Elapsed <= prev.Elapsed {
			t.Errorf("snapshot %d %+v does not follow %+v", i+1, p, prev)
		}
		if !p.Final && (p.Frames == 0 || p.Percent <= 0 || p.Percent >= 100 || p.ETA <= 0 || p.FPS <= 0 || p.Speed <= 0) {
			t.Errorf("snapshot %d %+v: want frames, a percentage, an ETA, fps and speed", i+1, p)
		}
		prev = p
	}
}

// latencyRecorder also hears pipeline latencies.
type latencyRecorder struct {
	recorder
	lmu sync.Mutex
	lat map[string][]time.Duration
}

func (r *latencyRecorder) OnLatency(output string, d time.Duration) {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	if r.lat == nil {
		r.lat = map[string][]time.Duration{}
	}
	r.lat[output] = append(r.lat[output], d)
}

// Every encoded video packet's latency is measured from the read of its source packet, also
// through a rate conversion; a plain Observer costs nothing of the kind.
func TestObserverPipelineLatency(t *testing.T) {
	t.Parallel()
	var obs latencyRecorder
	started := time.Now()
	res := run(t, spec.Spec{
		Input: synthetic(320, 240, 2),
		Outputs: []spec.Output{
			{Name: "same", Container: "null", Video: fast(0, 0)},
			{Name: "half", Container: "null", Video: &spec.Video{Width: 160, Height: 120, Preset: "ultrafast", FPS: spec.Rate{Num: 15, Den: 1}}},
		},
	}, &obs)
	took := time.Since(started)
	for i, o := range res.Outputs {
		lat := obs.lat[o.Name]
		frames := len(obs.framesOf(o.Name, "video"))
		if frames == 0 || len(lat) != frames {
			t.Errorf("output %d (%s): %d latencies for %d encoded frames", i, o.Name, len(lat), frames)
		}
		for _, d := range lat {
			if d <= 0 || d > took {
				t.Fatalf("%s: latency %v, outside (0, %v]", o.Name, d, took)
			}
		}
	}
}
