package harness

import (
	"cmp"
	"slices"
)

// Metrics a Regression names.
const (
	MetricFPS         = "fps"          // median fps
	MetricSpeed       = "speed"        // median × realtime
	MetricLatencyP95  = "latency_p95"  // median over runs of the p95 encode latency, ms
	MetricPSNR        = "psnr"         // per output, dB
	MetricSSIM        = "ssim"         // per output
	MetricVMAF        = "vmaf"         // per output
	MetricEncoder     = "encoder"      // the encoder that really ran changed
	MetricMaxSessions = "max_sessions" // density
)

// Quality is gated by absolute drops, not by the relative threshold: a 10 % PSNR drop would
// be some 4 dB, far past what anyone would accept, while these are just above the noise
// of one encoder build against the next on the same input.
const (
	// PSNRDropLimit is the PSNR drop, in dB, beyond which an output regressed.
	PSNRDropLimit = 0.5
	// SSIMDropLimit is the SSIM drop beyond which an output regressed.
	SSIMDropLimit = 0.005
	// VMAFDropLimit is the VMAF drop, in points, beyond which an output regressed.
	VMAFDropLimit = 1.0
)

// Compare checks current against baseline and returns what got worse; File is left for the
// caller to fill in.
//
// Cases are matched by ID; a case skipped on either side is not compared. Against a
// relative threshold (0.1 = 10 %): median fps or median speed falling by more than it, the
// median p95 encode latency rising by more than it, and a density search's MaxSessions for
// an encoder and scenario falling by more than it. Against the absolute limits above: PSNR,
// SSIM or VMAF of an output (matched by name) falling by more than PSNRDropLimit,
// SSIMDropLimit or VMAFDropLimit. And a case whose encoder that really ran changed (NVENC
// that now falls back to libx264) regresses on metric "encoder".
//
// Missing lists the baseline cases that were measured there but not here: absent from
// current, or skipped in it. Regressions are sorted by case, metric and output.
func Compare(current, baseline *Results, threshold float64) BaselineCheck {
	check := BaselineCheck{Threshold: threshold, Regressions: []Regression{}}
	if current == nil || baseline == nil {
		return check
	}
	threshold = max(threshold, 0)

	cur := make(map[string]*Case, len(current.Cases))
	for i := range current.Cases {
		cur[current.Cases[i].ID] = &current.Cases[i]
	}
	for i := range baseline.Cases {
		base := &baseline.Cases[i]
		if base.Skipped != "" {
			continue
		}
		c, ok := cur[base.ID]
		if !ok || c.Skipped != "" {
			check.Missing = append(check.Missing, base.ID)
			continue
		}
		check.Regressions = append(check.Regressions, compareCase(c, base, threshold)...)
	}
	check.Regressions = append(check.Regressions, compareDensity(current.Density, baseline.Density, threshold)...)

	slices.SortFunc(check.Regressions, func(a, b Regression) int {
		return cmp.Or(cmp.Compare(a.Case, b.Case), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Output, b.Output))
	})
	slices.Sort(check.Missing)
	check.Missing = slices.Compact(check.Missing)
	return check
}

// Failed says whether the run should fail the gate: something regressed. Missing cases do
// not fail it, so a quick run can be checked against a full baseline.
func (b BaselineCheck) Failed() bool { return len(b.Regressions) > 0 }

func compareCase(c, base *Case, threshold float64) []Regression {
	var out []Regression
	lower := func(metric string, cv, bv float64) {
		if bv > 0 && relChange(cv, bv) < -threshold {
			out = append(out, Regression{Case: c.ID, Metric: metric, Baseline: bv, Current: cv, Change: relChange(cv, bv)})
		}
	}
	higher := func(metric string, cv, bv float64) {
		if bv > 0 && relChange(cv, bv) > threshold {
			out = append(out, Regression{Case: c.ID, Metric: metric, Baseline: bv, Current: cv, Change: relChange(cv, bv)})
		}
	}
	lower(MetricFPS, c.FPS.Median, base.FPS.Median)
	lower(MetricSpeed, c.Speed.Median, base.Speed.Median)
	higher(MetricLatencyP95, c.Latency.P95.Median, base.Latency.P95.Median)

	if used, was := encoderRan(c), encoderRan(base); used != was {
		out = append(out, Regression{Case: c.ID, Metric: MetricEncoder, Detail: was + " → " + used})
	}

	quality := make(map[string]Quality, len(c.Quality))
	for _, q := range c.Quality {
		quality[q.Output] = q
	}
	for _, bq := range base.Quality {
		q, ok := quality[bq.Output]
		if !ok {
			continue
		}
		drop := func(metric string, cv, bv, limit float64) {
			if bv-cv > limit {
				out = append(out, Regression{Case: c.ID, Metric: metric, Output: bq.Output,
					Baseline: bv, Current: cv, Change: relChange(cv, bv)})
			}
		}
		drop(MetricPSNR, q.PSNR, bq.PSNR, PSNRDropLimit)
		drop(MetricSSIM, q.SSIM, bq.SSIM, SSIMDropLimit)
		if q.VMAF != nil && bq.VMAF != nil {
			drop(MetricVMAF, *q.VMAF, *bq.VMAF, VMAFDropLimit)
		}
	}
	return out
}

// compareDensity matches density results by encoder and scenario; one that is on a side
// only is not compared (density mode is optional).
func compareDensity(current, baseline []Density, threshold float64) []Regression {
	type key struct{ encoder, scenario string }
	cur := make(map[key]Density, len(current))
	for _, d := range current {
		cur[key{d.Encoder, d.Scenario}] = d
	}
	var out []Regression
	for _, bd := range baseline {
		d, ok := cur[key{bd.Encoder, bd.Scenario}]
		if !ok || bd.MaxSessions == 0 {
			continue
		}
		cv, bv := float64(d.MaxSessions), float64(bd.MaxSessions)
		if d.MaxSessions < bd.MaxSessions && relChange(cv, bv) < -threshold {
			out = append(out, Regression{Case: bd.Scenario + "/" + bd.Encoder, Metric: MetricMaxSessions,
				Baseline: bv, Current: cv, Change: relChange(cv, bv)})
		}
	}
	return out
}

// encoderRan is the encoder that really ran; older files may leave EncoderUsed empty.
func encoderRan(c *Case) string {
	if c.EncoderUsed != "" {
		return c.EncoderUsed
	}
	return c.Encoder
}

func relChange(current, baseline float64) float64 {
	if baseline == 0 {
		return 0
	}
	return (current - baseline) / baseline
}
