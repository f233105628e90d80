package engine_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// psnr is the average PSNR (dB) of distorted against reference, by ffmpeg's psnr filter.
func psnr(t testing.TB, distorted, reference string) float64 {
	t.Helper()
	_, stderr := runTool(t, "ffmpeg", "-hide_banner", "-nostats", "-i", distorted, "-i", reference,
		"-lavfi", "[0:v][1:v]psnr", "-f", "null", "-")
	m := regexp.MustCompile(`PSNR .* average:(\S+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no PSNR in ffmpeg's output:\n%s", stderr)
	}
	if m[1] == "inf" {
		return 1000
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("PSNR %q: %v", m[1], err)
	}
	return v
}

// A libx264 rendition at a sensible bitrate looks like its source; starving it shows.
func TestRunQualityPSNR(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := makeSource(t, dir, "src.mp4", 1280, 720, 3)
	tests := []struct {
		name    string
		bitrate spec.Bitrate
	}{
		{"generous", 3_000_000},
		{"starved", 50_000},
	}
	scores := map[string]float64{}
	for _, tc := range tests {
		out := filepath.Join(dir, tc.name+".mp4")
		res := run(t, spec.Spec{
			Input: spec.Input{URL: src},
			Outputs: []spec.Output{{Target: out,
				Video: &spec.Video{Width: 1280, Height: 720, Bitrate: tc.bitrate, Preset: "veryfast"}}},
		}, nil)
		if got := res.Outputs[0].Bitrate; got > 2*float64(tc.bitrate)+128_000 {
			t.Errorf("%s: %.0f b/s, far above the %d b/s asked for", tc.name, got, tc.bitrate)
		}
		scores[tc.name] = psnr(t, out, src)
		t.Logf("%s (%v): PSNR %.2f dB", tc.name, tc.bitrate, scores[tc.name])
	}
	if scores["generous"] < 35 {
		t.Errorf("PSNR at 3 Mb/s is %.2f dB, want >= 35", scores["generous"])
	}
	if scores["starved"] >= scores["generous"] {
		t.Errorf("PSNR at 50 kb/s (%.2f dB) is not below PSNR at 3 Mb/s (%.2f dB)", scores["starved"], scores["generous"])
	}
}
