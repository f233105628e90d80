// Package bdrate computes Bjøntegaard delta rate and delta quality between two
// rate–quality curves (VCEG-M33; with the piecewise cubic Hermite interpolation of
// VCEG-AL22 and JCTVC-L0242, as current codec comparisons use instead of the original cubic
// polynomial fit): how much more or less bitrate a test encoder needs for the same quality as
// an anchor (BD-rate, in percent; negative is better), and how much better its quality is at
// the same bitrate (BD-PSNR or BD-VMAF, in the metric's units; positive is better).
package bdrate

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Point is one encode of a rate sweep: its bitrate (any unit, the same for both curves) and
// its quality (PSNR in dB, VMAF, ...).
type Point struct {
	Rate, Quality float64
}

// ErrNoOverlap is returned when the curves share no quality (for Rate) or rate (for Quality)
// interval to compare over.
var ErrNoOverlap = errors.New("the curves do not overlap")

// Rate is the BD-rate of test against anchor in percent: the mean difference of their
// log-rates over the quality range both cover, as a rate ratio minus one.
func Rate(anchor, test []Point) (float64, error) {
	a, err := curve(anchor, func(p Point) (float64, float64) { return p.Quality, math.Log10(p.Rate) })
	if err != nil {
		return 0, fmt.Errorf("anchor: %w", err)
	}
	t, err := curve(test, func(p Point) (float64, float64) { return p.Quality, math.Log10(p.Rate) })
	if err != nil {
		return 0, fmt.Errorf("test: %w", err)
	}
	d, err := meanDiff(a, t)
	if err != nil {
		return 0, err
	}
	return (math.Pow(10, d) - 1) * 100, nil
}

// Quality is the BD-quality (BD-PSNR, BD-VMAF) of test against anchor: the mean difference of
// their qualities over the log-rate range both cover.
func Quality(anchor, test []Point) (float64, error) {
	a, err := curve(anchor, func(p Point) (float64, float64) { return math.Log10(p.Rate), p.Quality })
	if err != nil {
		return 0, fmt.Errorf("anchor: %w", err)
	}
	t, err := curve(test, func(p Point) (float64, float64) { return math.Log10(p.Rate), p.Quality })
	if err != nil {
		return 0, fmt.Errorf("test: %w", err)
	}
	return meanDiff(a, t)
}

// meanDiff is the mean of t(x) - a(x) over the x range both cover.
func meanDiff(a, t *pchip) (float64, error) {
	lo, hi := max(a.x[0], t.x[0]), min(a.x[len(a.x)-1], t.x[len(t.x)-1])
	if hi <= lo {
		return 0, ErrNoOverlap
	}
	return (t.integral(lo, hi) - a.integral(lo, hi)) / (hi - lo), nil
}

// curve interpolates the points mapped to (x, y) by xy, sorted by x. It needs at least two
// points with positive finite rates, and distinct x.
func curve(pts []Point, xy func(Point) (float64, float64)) (*pchip, error) {
	if len(pts) < 2 {
		return nil, fmt.Errorf("%d points: want at least 2 (4 is usual)", len(pts))
	}
	type xyPair struct{ x, y float64 }
	ps := make([]xyPair, 0, len(pts))
	for _, p := range pts {
		if !(p.Rate > 0) || math.IsInf(p.Rate, 0) || math.IsNaN(p.Quality) || math.IsInf(p.Quality, 0) {
			return nil, fmt.Errorf("point %+v: want a positive rate and a finite quality", p)
		}
		x, y := xy(p)
		ps = append(ps, xyPair{x, y})
	}
	slices.SortFunc(ps, func(a, b xyPair) int { return cmpFloat(a.x, b.x) })
	c := &pchip{}
	for i, p := range ps {
		if i > 0 && p.x == ps[i-1].x {
			return nil, fmt.Errorf("two points at %g: each needs its own rate and quality", p.x)
		}
		c.x, c.y = append(c.x, p.x), append(c.y, p.y)
	}
	c.slopes()
	return c, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pchip is a piecewise cubic Hermite interpolant with Fritsch–Carlson slopes, which keeps
// monotone data monotone (no overshoot between measured points).
type pchip struct {
	x, y, d []float64
}

// slopes sets the derivative at each point (as MATLAB's and SciPy's pchip do).
func (c *pchip) slopes() {
	n := len(c.x)
	c.d = make([]float64, n)
	h := make([]float64, n-1)
	delta := make([]float64, n-1)
	for k := range n - 1 {
		h[k] = c.x[k+1] - c.x[k]
		delta[k] = (c.y[k+1] - c.y[k]) / h[k]
	}
	if n == 2 {
		c.d[0], c.d[1] = delta[0], delta[0]
		return
	}
	for k := 1; k < n-1; k++ {
		if delta[k-1]*delta[k] <= 0 {
			continue // a local extremum: flat
		}
		w1, w2 := 2*h[k]+h[k-1], h[k]+2*h[k-1]
		c.d[k] = (w1 + w2) / (w1/delta[k-1] + w2/delta[k])
	}
	c.d[0] = endSlope(h[0], h[1], delta[0], delta[1])
	c.d[n-1] = endSlope(h[n-2], h[n-3], delta[n-2], delta[n-3])
}

// endSlope is the one-sided three-point slope at an end, kept shape-preserving.
func endSlope(h0, h1, d0, d1 float64) float64 {
	d := ((2*h0+h1)*d0 - h0*d1) / (h0 + h1)
	switch {
	case math.Signbit(d) != math.Signbit(d0) || d0 == 0:
		return 0
	case math.Signbit(d0) != math.Signbit(d1) && math.Abs(d) > 3*math.Abs(d0):
		return 3 * d0
	}
	return d
}

// integral is the exact integral of the interpolant from lo to hi, within its x range.
func (c *pchip) integral(lo, hi float64) float64 {
	var sum float64
	for k := range len(c.x) - 1 {
		a, b := max(lo, c.x[k]), min(hi, c.x[k+1])
		if b <= a {
			continue
		}
		// y(t) = y_k + d_k t + c2 t² + c3 t³ with t = x - x_k.
		h := c.x[k+1] - c.x[k]
		delta := (c.y[k+1] - c.y[k]) / h
		c2 := (3*delta - 2*c.d[k] - c.d[k+1]) / h
		c3 := (c.d[k] - 2*delta + c.d[k+1]) / (h * h)
		prim := func(t float64) float64 {
			return c.y[k]*t + c.d[k]*t*t/2 + c2*t*t*t/3 + c3*t*t*t*t/4
		}
		sum += prim(b-c.x[k]) - prim(a-c.x[k])
	}
	return sum
}
