package harness

import (
	"math"
	"strings"
	"testing"
)

// sweepCase is one point of a sweep: encoder enc's case at the sweep's bitrate, measured at
// rate with the given PSNR and VMAF.
func sweepCase(scenario, enc, at string, rate, psnr, vmaf, fps float64) Case {
	return Case{ID: scenario + "@" + at + "/" + enc, Scenario: scenario, Encoder: enc, Preset: DefaultPresets[enc],
		Source:  Source{Width: 1920, Height: 1080, FPS: 30},
		Outputs: []Rendition{{Name: "1080p", Width: 1920, Height: 1080}},
		Quality: []Quality{{Output: "1080p", Bitrate: rate, PSNR: psnr, VMAF: ptr(vmaf)}}, FPS: Stat{Median: fps}, Runs: 1}
}

// TestBDRates: an encoder that needs 20% fewer bits for every quality shows a -20% BD-rate
// in VMAF and PSNR against the anchor, a doctored encoder that needs 25% more a +25% one;
// single-rate cases are not points; a sweep without its anchor says so.
func TestBDRates(t *testing.T) {
	r := &Results{}
	points := []struct {
		at         string
		rate, psnr float64
		vmaf       float64
	}{{"1M", 1e6, 34, 70}, {"2M", 2e6, 37, 82}, {"4M", 4e6, 40, 91}, {"8M", 8e6, 42.5, 96}}
	for _, p := range points {
		r.Cases = append(r.Cases,
			sweepCase("rd-1080p", "libx264", p.at, p.rate, p.psnr, p.vmaf, 60),
			sweepCase("rd-1080p", "libx265", p.at, p.rate*0.8, p.psnr, p.vmaf, 9),
			sweepCase("rd-1080p", "worse", p.at, p.rate*1.25, p.psnr, p.vmaf, 200),
			sweepCase("rd-only", "libsvtav1", p.at, p.rate, p.psnr, p.vmaf, 20))
	}
	r.Cases = append(r.Cases, Case{ID: "1080p30/libx265", Scenario: "1080p30", Encoder: "libx265",
		Outputs: []Rendition{{Name: "1080p"}}, Quality: []Quality{{Output: "1080p", Bitrate: 3e6, PSNR: 40}}})
	got := BDRates(r, "libx264")
	if len(got) != 3 {
		t.Fatalf("%d rows, want libx265, worse and the anchorless sweep: %+v", len(got), got)
	}
	want := map[string]float64{"libx265": -20, "worse": 25}
	for _, b := range got[:2] {
		w := want[b.Encoder]
		if b.RateVMAF == nil || b.RatePSNR == nil || math.Abs(*b.RateVMAF-w) > 1e-9 || math.Abs(*b.RatePSNR-w) > 1e-9 {
			t.Errorf("%s: %+v, want BD-rate %g%% in VMAF and PSNR", b.Encoder, b, w)
		}
		if b.Points != 4 || b.Anchor != "libx264" || b.Error != "" || (b.Encoder == "libx265" && (b.FPS != 9 || *b.VMAF <= 0)) {
			t.Errorf("%s: %+v", b.Encoder, b)
		}
	}
	if last := got[2]; last.Scenario != "rd-only" || !strings.Contains(last.Error, "anchor libx264 did not run") || last.RatePSNR != nil {
		t.Errorf("sweep without the anchor: %+v", last)
	}

	var b strings.Builder
	r.BDRates = got
	if err := r.WriteSummary(&b, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"BD-rate against libx264", "| rd-1080p | libx265 | veryfast | 4 | -20.00 % |", "| worse |", "did not run"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, b.String())
		}
	}
}
