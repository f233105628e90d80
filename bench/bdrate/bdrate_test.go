package bdrate

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// anchor is a typical four-point PSNR sweep (kb/s, dB).
var anchor = []Point{{1000, 32}, {2000, 35}, {4000, 37.5}, {8000, 39.5}}

func scaled(pts []Point, rate, dq float64) []Point {
	out := make([]Point, len(pts))
	for i, p := range pts {
		out[i] = Point{p.Rate * rate, p.Quality + dq}
	}
	return out
}

// Hand-computed cases: a curve shifted by a constant rate ratio has exactly that BD-rate, and
// one shifted by a constant quality that BD-quality, whatever the interpolation; colinear
// points interpolate as the line through them, so the mean difference of two lines is the
// difference at the middle of the shared range.
func TestHandComputed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		test       []Point
		rate, qual float64 // want; NaN: not checked
	}{
		{"10% fewer bits", scaled(anchor, 0.9, 0), -10, math.NaN()},
		{"a worse encoder: 25% more bits", scaled(anchor, 1.25, 0), 25, math.NaN()},
		{"1 dB better at every rate", scaled(anchor, 1, 1), math.NaN(), 1},
		{"the anchor itself", anchor, 0, 0},
	} {
		r, err := Rate(anchor, tc.test)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		q, err := Quality(anchor, tc.test)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !math.IsNaN(tc.rate) && !near(r, tc.rate, 1e-9) {
			t.Errorf("%s: BD-rate %.12f%%, want %g%%", tc.name, r, tc.rate)
		}
		if !math.IsNaN(tc.qual) && !near(q, tc.qual, 1e-9) {
			t.Errorf("%s: BD-quality %.12f, want %g", tc.name, q, tc.qual)
		}
	}
	// Lines in (quality, log10 rate): anchor log R = q/10, test log R = q/10 + (q-30)/100 on
	// q in [30, 40]. The mean of (q-30)/100 over the range is 0.05: BD-rate = 10^0.05 - 1.
	var a, b []Point
	for _, q := range []float64{30, 33, 36, 40} {
		a = append(a, Point{math.Pow(10, q/10), q})
		b = append(b, Point{math.Pow(10, q/10+(q-30)/100), q})
	}
	r, err := Rate(a, b)
	if want := (math.Pow(10, 0.05) - 1) * 100; err != nil || !near(r, want, 1e-9) {
		t.Errorf("lines: BD-rate %.12f%% (%v), want %.12f%%", r, err, want)
	}
}

// TestInterpolation: the curve goes through every point, stays monotone between monotone
// points (no overshoot, the reason for PCHIP over a cubic fit) and integrates a cubic-free
// case exactly.
func TestInterpolation(t *testing.T) {
	t.Parallel()
	c, err := curve(anchor, func(p Point) (float64, float64) { return p.Quality, math.Log10(p.Rate) })
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.x {
		if got := c.integral(c.x[0], c.x[i]); i == 0 && got != 0 {
			t.Errorf("empty integral = %g", got)
		}
	}
	// Sample the interpolant through its integral's derivative: the mean over tiny windows.
	prev := math.Inf(-1)
	for x := c.x[0]; x+1e-4 < c.x[len(c.x)-1]; x += 0.01 {
		y := c.integral(x, x+1e-4) / 1e-4
		if y < prev-1e-9 {
			t.Fatalf("not monotone at %g: %g after %g", x, y, prev)
		}
		prev = y
		k := max(0, min(len(c.x)-2, sortIndex(c.x, x+0.5e-4)))
		if lo, hi := c.y[k], c.y[k+1]; y < lo-1e-5 || y > hi+1e-5 {
			t.Fatalf("overshoot at %g: %g outside [%g, %g]", x, y, lo, hi)
		}
	}
	line := &pchip{x: []float64{0, 1, 3}, y: []float64{1, 3, 7}}
	line.slopes()
	if got := line.integral(0.5, 2.5); !near(got, 8, 1e-12) { // ∫ (2x+1) dx from 0.5 to 2.5
		t.Errorf("integral of a line: %g, want 8", got)
	}
}

func sortIndex(xs []float64, x float64) int {
	i, _ := slices.BinarySearch(xs, x)
	return i - 1
}

func TestErrors(t *testing.T) {
	t.Parallel()
	far := scaled(anchor, 1, 20) // qualities 52..59.5: no shared range
	if _, err := Rate(anchor, far); !errors.Is(err, ErrNoOverlap) {
		t.Errorf("no overlap: %v", err)
	}
	for name, pts := range map[string][]Point{
		"one point":     anchor[:1],
		"zero rate":     {{0, 30}, {1000, 35}},
		"NaN quality":   {{500, math.NaN()}, {1000, 35}},
		"same quality":  {{500, 35}, {1000, 35}},
		"infinite rate": {{math.Inf(1), 30}, {1000, 35}},
		"negative rate": {{-1, 30}, {1000, 35}},
	} {
		if _, err := Rate(anchor, pts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestPublishedExample: the example sweep of the FAU-LMS bjontegaard package (libx265 at two
// presets, four points each), whose PCHIP method matches the JCT-VC common test conditions'
// spreadsheet; the expected values are SciPy's PchipInterpolator on the same data (SciPy
// 1.10, as that package computes them).
func TestPublishedExample(t *testing.T) {
	t.Parallel()
	a := []Point{{9487.76, 40.037}, {4593.60, 38.615}, {2486.44, 36.845}, {1358.24, 34.851}}
	b := []Point{{9787.80, 40.121}, {4469.00, 38.651}, {2451.52, 36.970}, {1356.24, 34.987}}
	r, err := Rate(a, b)
	if err != nil || !near(r, -4.4174853506, 1e-9) {
		t.Errorf("BD-rate %.10f%% (%v), want -4.4174853506%%", r, err)
	}
	q, err := Quality(a, b)
	if err != nil || !near(q, 0.1196927854, 1e-9) {
		t.Errorf("BD-PSNR %.10f dB (%v), want 0.1196927854 dB", q, err)
	}
}
