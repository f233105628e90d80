package harness

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/ffrtmp/ffrtmp/bench/bdrate"
	"github.com/ffrtmp/ffrtmp/internal/stats"
)

// BDRate is an encoder's Bjøntegaard deltas against the anchor encoder over one sweep
// scenario: each case of the sweep is a point (the full-size output's measured bitrate and
// quality).
type BDRate struct {
	Scenario string `json:"scenario"`
	Encoder  string `json:"encoder"`
	Anchor   string `json:"anchor"`
	Preset   string `json:"preset,omitempty"`
	Points   int    `json:"points"`
	// RateVMAF and RatePSNR are BD-rates in percent (negative: fewer bits than the anchor for
	// the same quality), with VMAF and with PSNR as the quality; VMAF and PSNR are the
	// BD-quality (points of VMAF, dB of PSNR; positive: better at the same bitrate). The VMAF
	// figures need --vmaf.
	RateVMAF *float64 `json:"bd_rate_vmaf_pct,omitempty"`
	VMAF     *float64 `json:"bd_vmaf,omitempty"`
	RatePSNR *float64 `json:"bd_rate_psnr_pct,omitempty"`
	PSNR     *float64 `json:"bd_psnr_db,omitempty"`
	// FPS is the median of the sweep's cases' median fps.
	FPS float64 `json:"fps"`
	// Error says why a figure is missing (too few points, curves that do not overlap).
	Error string `json:"error,omitempty"`
}

// sweepCurve is one encoder's points over one sweep scenario.
type sweepCurve struct {
	preset     string
	psnr, vmaf []bdrate.Point
	fps        []float64
}

// BDRates compares every encoder of every sweep scenario in r with anchor, in the order the
// encoders ran. A scenario the anchor did not run gets rows that say so.
func BDRates(r *Results, anchor string) []BDRate {
	type key struct{ scenario, encoder string }
	curves := map[key]*sweepCurve{}
	var order []key
	for i := range r.Cases {
		c := &r.Cases[i]
		q := sweepPoint(c)
		if q == nil {
			continue
		}
		k := key{c.Scenario, c.Encoder}
		sc := curves[k]
		if sc == nil {
			sc = &sweepCurve{preset: c.Preset}
			curves[k] = sc
			order = append(order, k)
		}
		sc.psnr = append(sc.psnr, bdrate.Point{Rate: q.Bitrate, Quality: q.PSNR})
		if q.VMAF != nil {
			sc.vmaf = append(sc.vmaf, bdrate.Point{Rate: q.Bitrate, Quality: *q.VMAF})
		}
		sc.fps = append(sc.fps, c.FPS.Median)
	}
	var out []BDRate
	for _, k := range order {
		if k.encoder == anchor {
			continue
		}
		sc := curves[k]
		b := BDRate{Scenario: k.scenario, Encoder: k.encoder, Anchor: anchor, Preset: sc.preset, Points: len(sc.psnr),
			FPS: stats.Median(sc.fps)}
		a := curves[key{k.scenario, anchor}]
		if a == nil {
			b.Error = fmt.Sprintf("the anchor %s did not run this sweep", anchor)
			out = append(out, b)
			continue
		}
		var errs []string
		set := func(rate, qual **float64, anchorPts, pts []bdrate.Point, metric string) {
			if len(pts) == 0 || len(anchorPts) == 0 {
				return
			}
			r, err := bdrate.Rate(anchorPts, pts)
			if err != nil {
				errs = append(errs, fmt.Sprintf("BD-rate (%s): %v", metric, err))
			} else {
				*rate = &r
			}
			q, err := bdrate.Quality(anchorPts, pts)
			if err != nil {
				errs = append(errs, fmt.Sprintf("BD-%s: %v", metric, err))
			} else {
				*qual = &q
			}
		}
		set(&b.RatePSNR, &b.PSNR, a.psnr, sc.psnr, "PSNR")
		set(&b.RateVMAF, &b.VMAF, a.vmaf, sc.vmaf, "VMAF")
		if len(errs) > 0 {
			b.Error = fmt.Sprint(errs)
		}
		out = append(out, b)
	}
	slices.SortStableFunc(out, func(x, y BDRate) int { return cmp.Compare(x.Scenario, y.Scenario) })
	return out
}

// sweepPoint is c as a point of its encoder's rate–quality curve over a sweep scenario: the
// quality of its output at the source's size, with its measured bitrate. It is nil when c is
// not a measured case of a sweep (a sweep case's ID is scenario@bitrate/encoder).
func sweepPoint(c *Case) *Quality {
	if c.Skipped != "" || c.Error != "" || c.ID == c.Scenario+"/"+c.Encoder {
		return nil
	}
	for i := range c.Quality {
		if q := &c.Quality[i]; q.Error == "" && q.Bitrate > 0 && fullSize(c, q.Output) {
			return q
		}
	}
	return nil
}
