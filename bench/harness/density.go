package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// DensityOptions tune density mode, Livepeer's method: N concurrent live sessions, each fed
// a segment every SegmentSeconds as a live stream would be (a session that falls behind
// starts its next segment late, never early), each segment transcoded into the scenario's
// renditions. A session's realtime ratio is its transcode time ÷ the media time it was fed;
// N is sustained while the worst session's ratio stays at or under Limit. N doubles until it
// fails, then a bisection finds the highest N that holds.
type DensityOptions struct {
	Enabled bool
	// Limit is the highest realtime ratio that counts as keeping up [0.8].
	Limit float64
	// Max bounds the sessions tried [32].
	Max int
	// Segments fed to each session per step [3], of SegmentSeconds each [2].
	Segments       int
	SegmentSeconds float64
}

func (d *DensityOptions) defaults() {
	if d.Limit <= 0 {
		d.Limit = 0.8
	}
	if d.Max <= 0 {
		d.Max = 32
	}
	if d.Segments <= 0 {
		d.Segments = 3
	}
	if d.SegmentSeconds <= 0 {
		d.SegmentSeconds = 2
	}
}

// runDensity searches the session count of every (density scenario, encoder) case that ran.
func runDensity(ctx context.Context, opts Options, cases []caseRun, sources *sourceCache, work string) []Density {
	d := opts.Density
	d.defaults()
	var out []Density
	for i := range cases {
		c := &cases[i]
		if !c.sc.Density || c.skip != "" || c.bitrate != 0 {
			continue
		}
		res := Density{Encoder: c.encoder, Scenario: c.sc.Name, Limit: d.Limit}
		segs, err := segmentSource(ctx, c, sources, opts.Duration, d, filepath.Join(work, "density", safeName(c.id)))
		if err != nil {
			res.Error = err.Error()
			out = append(out, res)
			continue
		}
		try := func(n int) DensityStep {
			opts.Progress(Progress{ID: "density " + c.id, Step: fmt.Sprintf("%d sessions", n)})
			st := densityStep(ctx, c, segs, d, n)
			res.Steps = append(res.Steps, st)
			return st
		}
		res.MaxSessions = searchSessions(ctx, d.Max, func(n int) bool { return try(n).OK })
		slices.SortFunc(res.Steps, func(a, b DensityStep) int { return a.Sessions - b.Sessions })
		out = append(out, res)
	}
	return out
}

// searchSessions finds the highest n in 1..max for which ok holds, assuming it holds up to
// some n and fails beyond: n doubles from 1 (trying max itself rather than passing it) until
// ok fails, then a bisection between the last n that held and the first that failed.
func searchSessions(ctx context.Context, max int, ok func(n int) bool) int {
	best, fail := 0, 0
	for n := 1; ctx.Err() == nil; n = min(n*2, max) {
		if !ok(n) {
			fail = n
			break
		}
		best = n
		if n == max {
			return best
		}
	}
	for fail-best > 1 && ctx.Err() == nil {
		mid := (best + fail) / 2
		if ok(mid) {
			best = mid
		} else {
			fail = mid
		}
	}
	return best
}

// segmentSource cuts c's source into live segments of d.SegmentSeconds (HLS, keyframe at
// each start) and returns their paths in order.
func segmentSource(ctx context.Context, c *caseRun, sources *sourceCache, duration float64, d DensityOptions, dir string) ([]string, error) {
	src, _, _, err := sources.get(ctx, c.sc.Source, duration)
	if err != nil {
		return nil, err
	}
	if segs, err := readSegments(dir); err == nil && len(segs) > 0 {
		return segs, nil
	}
	_, err = engine.Run(ctx, spec.Spec{Input: spec.Input{URL: src},
		Outputs: []spec.Output{{Name: "live", Container: "hls", Target: dir, HLS: &spec.HLS{SegmentSeconds: d.SegmentSeconds},
			Video: &spec.Video{Codec: "libx264", CRF: 4, Preset: "ultrafast", GOP: d.SegmentSeconds}, Audio: &spec.Audio{Codec: "none"}}}}, nil)
	if err != nil {
		return nil, fmt.Errorf("cut the source into live segments: %w", err)
	}
	segs, err := readSegments(dir)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("cut the source into live segments: no segment in %s", dir)
	}
	return segs, nil
}

// readSegments lists the segments of dir's live/index.m3u8.
func readSegments(dir string) ([]string, error) {
	pl := filepath.Join(dir, "live", "index.m3u8")
	f, err := os.Open(pl)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var segs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			segs = append(segs, filepath.Join(filepath.Dir(pl), l))
		}
	}
	return segs, sc.Err()
}

// densityStep runs n sessions at once and reports their realtime ratios.
func densityStep(ctx context.Context, c *caseRun, segs []string, d DensityOptions, n int) DensityStep {
	ratios := make([]float64, n)
	errs := make([]error, n)
	start := time.Now().Add(50 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ratios[i], errs[i] = session(ctx, c, segs, d, start) })
	}
	wg.Wait()
	st := DensityStep{Sessions: n}
	s := stat(ratios)
	st.MedianRatio, st.WorstRatio = s.Median, s.Max
	for _, err := range errs {
		if err != nil {
			st.Error = err.Error()
			return st
		}
	}
	st.OK = st.WorstRatio <= d.Limit
	return st
}

// session feeds d.Segments segments to a live session at the live pace and returns its
// realtime ratio.
func session(ctx context.Context, c *caseRun, segs []string, d DensityOptions, start time.Time) (float64, error) {
	var busy time.Duration
	for k := range d.Segments {
		due := start.Add(time.Duration(float64(k) * d.SegmentSeconds * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		s := c.spec("")
		s.Input.URL = segs[k%len(segs)]
		for i := range s.Outputs {
			s.Outputs[i].Container, s.Outputs[i].Target = "null", ""
		}
		t0 := time.Now()
		if _, err := engine.Run(ctx, s, nil); err != nil {
			return 0, err
		}
		busy += time.Since(t0)
	}
	return busy.Seconds() / (float64(d.Segments) * d.SegmentSeconds), nil
}
