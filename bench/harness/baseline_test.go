package harness

import (
	"slices"
	"testing"
)

func TestCompareEqualPasses(t *testing.T) {
	check := Compare(sampleResults(), sampleResults(), 0.1)
	if check.Failed() || len(check.Regressions) != 0 || len(check.Missing) != 0 {
		t.Fatalf("identical runs: %+v", check)
	}
	if check.Threshold != 0.1 || check.File != "" {
		t.Errorf("threshold %v file %q", check.Threshold, check.File)
	}
}

func TestCompareFlagsRegressions(t *testing.T) {
	cur := sampleResults()
	base := sampleResults()
	// The baseline was 30 % faster on libx264 1080p.
	base.Cases[0].FPS.Median *= 1.3
	// The ladder's 480p rung was 1 dB better.
	base.Cases[2].Quality[1].PSNR += 1
	// NVENC fell back to libx264.
	cur.Cases[1].EncoderUsed = "libx264"
	// The baseline measured a case this run no longer has.
	gone := base.Cases[0]
	gone.ID = "2160p30-cbr/libx265"
	base.Cases = append(base.Cases, gone)
	// And one this run skipped.
	base.Cases[3].Skipped = ""
	base.Cases[3].FPS = Stat{Min: 90, Median: 95, Max: 100}
	// Density: libx264 sustained 8 sessions before.
	base.Density[0].MaxSessions = 8

	check := Compare(cur, base, 0.1)
	if !check.Failed() {
		t.Fatal("Failed() = false with regressions")
	}
	type key struct{ c, metric, output string }
	var got []key
	for _, g := range check.Regressions {
		got = append(got, key{g.Case, g.Metric, g.Output})
	}
	want := []key{
		{"1080p30-cbr/h264_nvenc", MetricEncoder, ""},
		{"1080p30-cbr/libx264", MetricFPS, ""},
		{"1080p30-cbr/libx264", MetricMaxSessions, ""},
		{"ladder-720p-3/libx264", MetricPSNR, "480p"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("regressions %+v\nwant %+v", got, want)
	}
	byMetric := map[string]Regression{}
	for _, g := range check.Regressions {
		byMetric[g.Metric] = g
	}
	if g := byMetric[MetricFPS]; g.Current != 248.25 || g.Baseline != 248.25*1.3 || g.Change > -0.23 || g.Change < -0.24 {
		t.Errorf("fps regression %+v", g)
	}
	if g := byMetric[MetricEncoder]; g.Detail != "h264_nvenc → libx264" {
		t.Errorf("encoder regression detail %q", g.Detail)
	}
	if g := byMetric[MetricPSNR]; g.Baseline != 40 || g.Current != 39 {
		t.Errorf("psnr regression %+v", g)
	}
	if g := byMetric[MetricMaxSessions]; g.Baseline != 8 || g.Current != 6 {
		t.Errorf("density regression %+v", g)
	}
	if want := []string{"1080p30-cbr/av1_nvenc", "2160p30-cbr/libx265"}; !slices.Equal(check.Missing, want) {
		t.Errorf("missing %v, want %v", check.Missing, want)
	}
}

func TestCompareThresholds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		doctor func(cur, base *Case)
		metric string // "" for no regression
	}{
		{"fps 5 % lower", func(c, b *Case) { c.FPS.Median = b.FPS.Median * 0.95 }, ""},
		{"fps 15 % lower", func(c, b *Case) { c.FPS.Median = b.FPS.Median * 0.85 }, MetricFPS},
		{"fps higher", func(c, b *Case) { c.FPS.Median = b.FPS.Median * 2 }, ""},
		{"speed 12 % lower", func(c, b *Case) { c.Speed.Median = b.Speed.Median * 0.88 }, MetricSpeed},
		{"p95 latency 5 % higher", func(c, b *Case) { c.Latency.P95.Median = b.Latency.P95.Median * 1.05 }, ""},
		{"p95 latency 20 % higher", func(c, b *Case) { c.Latency.P95.Median = b.Latency.P95.Median * 1.2 }, MetricLatencyP95},
		{"psnr 0.4 dB lower", func(c, b *Case) { c.Quality[0].PSNR = b.Quality[0].PSNR - 0.4 }, ""},
		{"psnr 0.6 dB lower", func(c, b *Case) { c.Quality[0].PSNR = b.Quality[0].PSNR - 0.6 }, MetricPSNR},
		{"ssim 0.003 lower", func(c, b *Case) { c.Quality[0].SSIM = b.Quality[0].SSIM - 0.003 }, ""},
		{"ssim 0.01 lower", func(c, b *Case) { c.Quality[0].SSIM = b.Quality[0].SSIM - 0.01 }, MetricSSIM},
		{"output renamed", func(c, b *Case) { c.Quality[0].Output, c.Quality[0].PSNR = "full", 1 }, ""},
		{"baseline without EncoderUsed", func(c, b *Case) { b.EncoderUsed = "" }, ""},
		{"skipped now", func(c, b *Case) { c.Skipped, c.FPS = "libx264 does not open", Stat{} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, base := sampleResults(), sampleResults()
			tc.doctor(&cur.Cases[0], &base.Cases[0])
			check := Compare(cur, base, 0.10)
			var metrics []string
			for _, g := range check.Regressions {
				metrics = append(metrics, g.Metric)
			}
			switch {
			case tc.metric == "" && check.Failed():
				t.Errorf("regressions %v, want none", metrics)
			case tc.metric != "" && !slices.Equal(metrics, []string{tc.metric}):
				t.Errorf("regressions %v, want [%s]", metrics, tc.metric)
			}
		})
	}
}

func TestCompareNil(t *testing.T) {
	if check := Compare(sampleResults(), nil, 0.1); check.Failed() {
		t.Errorf("no baseline: %+v", check)
	}
}
