package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// measure runs MeasureQuality with a deadline, failing the test on error.
func measure(t testing.TB, distorted, reference spec.Input, opt engine.QualityOptions) engine.Quality {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	q, err := engine.MeasureQuality(ctx, distorted, reference, opt)
	if err != nil {
		t.Fatalf("MeasureQuality: %v", err)
	}
	return q
}

// ssim is the "All" SSIM of distorted against reference, by ffmpeg's ssim filter.
func ssim(t testing.TB, distorted, reference string) float64 {
	t.Helper()
	_, stderr := runTool(t, "ffmpeg", "-hide_banner", "-nostats", "-i", distorted, "-i", reference,
		"-lavfi", "[0:v][1:v]ssim", "-f", "null", "-")
	m := regexp.MustCompile(`SSIM .* All:(\S+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no SSIM in ffmpeg's output:\n%s", stderr)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("SSIM %q: %v", m[1], err)
	}
	return v
}

func file(path string) spec.Input { return spec.Input{URL: path} }

// qualityFixture renders a 2 s 640x360 synthetic source once into a lossless file (the
// reference) and three libx264 renditions of it, all from one run.
type qualityFixture struct {
	source                             spec.Input // the synthetic source itself
	lossless, generous, starved, small string
}

func newQualityFixture(t *testing.T) qualityFixture {
	t.Helper()
	dir := t.TempDir()
	f := qualityFixture{
		source:   spec.Input{Synthetic: &spec.Synthetic{Width: 640, Height: 360, Duration: 2}},
		lossless: filepath.Join(dir, "lossless.mp4"),
		generous: filepath.Join(dir, "generous.mp4"),
		starved:  filepath.Join(dir, "starved.mp4"),
		small:    filepath.Join(dir, "small.mp4"),
	}
	run(t, spec.Spec{Input: f.source, Outputs: []spec.Output{
		{Target: f.lossless, Video: &spec.Video{Preset: "ultrafast", Options: map[string]string{"qp": "0"}}},
		{Target: f.generous, Video: &spec.Video{Width: 640, Height: 360, Bitrate: 1_500_000, Preset: "veryfast"}},
		{Target: f.starved, Video: &spec.Video{Width: 640, Height: 360, Bitrate: 40_000, Preset: "veryfast"}},
		{Target: f.small, Video: &spec.Video{Width: 320, Height: 180, Bitrate: 1_500_000, Preset: "veryfast"}},
	}}, nil)
	return f
}

func TestMeasureQuality(t *testing.T) {
	t.Parallel()
	f := newQualityFixture(t)
	ref := file(f.lossless)

	t.Run("identical input scores the cap", func(t *testing.T) {
		q := measure(t, ref, ref, engine.QualityOptions{})
		t.Logf("%+v", q)
		if q.Frames != 60 || q.PSNR != engine.PSNRCap || q.PSNRY != engine.PSNRCap || q.SSIM < 0.99999 {
			t.Errorf("identical input: %+v, want 60 frames, PSNR %v, SSIM 1", q, engine.PSNRCap)
		}
		b, err := json.Marshal(q)
		if err != nil || strings.Contains(string(b), "vmaf") {
			t.Errorf("JSON %s, %v: want it to encode, without vmaf", b, err)
		}
	})

	t.Run("generous beats starved and agrees with ffmpeg", func(t *testing.T) {
		scores := map[string]engine.Quality{}
		for name, path := range map[string]string{"generous": f.generous, "starved": f.starved} {
			q := measure(t, file(path), ref, engine.QualityOptions{})
			scores[name] = q
			wantPSNR, wantSSIM := psnr(t, path, f.lossless), ssim(t, path, f.lossless)
			t.Logf("%s: %+v; ffmpeg: PSNR %.4f SSIM %.6f", name, q, wantPSNR, wantSSIM)
			if q.Frames != 60 {
				t.Errorf("%s: %d frames compared, want 60", name, q.Frames)
			}
			if math.Abs(q.PSNR-wantPSNR) > 0.05 {
				t.Errorf("%s: PSNR %.4f dB, ffmpeg's psnr filter says %.4f", name, q.PSNR, wantPSNR)
			}
			if math.Abs(q.SSIM-wantSSIM) > 0.0005 {
				t.Errorf("%s: SSIM %.6f, ffmpeg's ssim filter says %.6f", name, q.SSIM, wantSSIM)
			}
		}
		g, s := scores["generous"], scores["starved"]
		if g.PSNR < 35 || s.PSNR >= g.PSNR || s.PSNRY >= g.PSNRY || s.SSIM >= g.SSIM {
			t.Errorf("generous %+v does not clearly beat starved %+v", g, s)
		}
	})

	t.Run("smaller rendition is scaled to the reference and scores lower", func(t *testing.T) {
		small := measure(t, file(f.small), ref, engine.QualityOptions{})
		full := measure(t, file(f.generous), ref, engine.QualityOptions{})
		t.Logf("320x180: %+v; 640x360: %+v", small, full)
		if small.Frames != 60 || small.PSNR < 15 || small.PSNR >= full.PSNR || small.SSIM >= full.SSIM {
			t.Errorf("320x180 rendition %+v: want 60 frames and lower scores than the 640x360 one %+v", small, full)
		}
	})

	t.Run("synthetic reference equals its lossless rendering", func(t *testing.T) {
		if q := measure(t, ref, f.source, engine.QualityOptions{}); q.PSNR != engine.PSNRCap || q.Frames != 60 {
			t.Errorf("lossless file against its synthetic source: %+v, want identical", q)
		}
		synth := measure(t, file(f.generous), f.source, engine.QualityOptions{})
		lossless := measure(t, file(f.generous), ref, engine.QualityOptions{})
		t.Logf("against synthetic: %+v; against lossless file: %+v", synth, lossless)
		if synth != lossless || synth.PSNR <= 35 {
			t.Errorf("against the synthetic source %+v, against its lossless rendering %+v: want the same, above 35 dB", synth, lossless)
		}
	})

	t.Run("frame counts that differ compare the common prefix", func(t *testing.T) {
		short := spec.Input{Synthetic: &spec.Synthetic{Width: 640, Height: 360, Duration: 1}}
		if q := measure(t, short, ref, engine.QualityOptions{}); q.Frames != 30 || q.PSNR != engine.PSNRCap {
			t.Errorf("1 s against the same 2 s: %+v, want 30 identical frames", q)
		}
		if q := measure(t, file(f.generous), ref, engine.QualityOptions{MaxFrames: 10}); q.Frames != 10 {
			t.Errorf("MaxFrames 10: %d frames compared", q.Frames)
		}
	})
}

// TestMeasureQualityVMAF: the engine's VMAF (libvmaf in-process, frames paired by position)
// agrees with the ffmpeg program's libvmaf filter on the same pair to 0.01, for a good and a
// starved encode and for a smaller rendition scaled back up; better encodes score higher, and
// the 1st percentile and harmonic mean sit at or below the mean.
func TestMeasureQualityVMAF(t *testing.T) {
	t.Parallel()
	filters, _ := runTool(t, "ffmpeg", "-hide_banner", "-filters")
	if !engine.HasVMAF() || !strings.Contains(filters, " libvmaf ") {
		t.Fatalf("HasVMAF() = %v, ffmpeg -filters lists libvmaf: %v; the build must have libvmaf (scripts/build-ffmpeg.sh)",
			engine.HasVMAF(), strings.Contains(filters, " libvmaf "))
	}
	f := newQualityFixture(t)
	scores := map[string]engine.Quality{}
	for name, path := range map[string]string{"generous": f.generous, "starved": f.starved, "small": f.small} {
		q := measure(t, file(path), file(f.lossless), engine.QualityOptions{VMAF: true})
		scores[name] = q
		want := ffmpegVMAF(t, path, f.lossless, 640, 360)
		t.Logf("%s: VMAF %.4f (p1 %.4f, harmonic %.4f, %s); ffmpeg's libvmaf: %.4f", name, *q.VMAF, *q.VMAFP1, *q.VMAFHarmonic, q.VMAFModel, want)
		if math.Abs(*q.VMAF-want) > 0.01 {
			t.Errorf("%s: VMAF %.4f, ffmpeg's libvmaf %.4f: want them within 0.01", name, *q.VMAF, want)
		}
		if *q.VMAFP1 > *q.VMAF || *q.VMAFHarmonic > *q.VMAF+1e-9 || q.VMAFModel != engine.VMAFModelHD {
			t.Errorf("%s: %+v: want p1 and harmonic mean at most the mean, model %s", name, q, engine.VMAFModelHD)
		}
	}
	if g, s := *scores["generous"].VMAF, *scores["starved"].VMAF; g < 85 || s > g-20 {
		t.Errorf("generous %.2f, starved %.2f: want the generous encode above 85 and far above the starved", g, s)
	}
	if _, err := engine.MeasureQuality(context.Background(), file(f.generous), file(f.lossless),
		engine.QualityOptions{VMAF: true, VMAFModel: "vmaf_v9"}); err == nil || !strings.Contains(err.Error(), "vmaf_v9") {
		t.Errorf("unknown model: %v, want an error naming it", err)
	}
	if got := engine.VMAFModelFor(2160); got != engine.VMAFModel4K {
		t.Errorf("model for 2160 lines: %s, want %s", got, engine.VMAFModel4K)
	}
}

// ffmpegVMAF is the pooled VMAF mean of distorted (scaled to w×h as the engine does) against
// reference, by the ffmpeg program's libvmaf filter.
func ffmpegVMAF(t *testing.T, distorted, reference string, w, h int) float64 {
	t.Helper()
	log := filepath.Join(t.TempDir(), "vmaf.json")
	runTool(t, "ffmpeg", "-hide_banner", "-nostats", "-i", distorted, "-i", reference, "-lavfi",
		fmt.Sprintf("[0:v]scale=%d:%d:flags=bicubic,format=yuv420p[d];[1:v]format=yuv420p[r];[d][r]libvmaf=model=version=vmaf_v0.6.1:log_fmt=json:log_path=%s", w, h, log),
		"-f", "null", "-")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Pooled struct {
			VMAF struct {
				Mean float64 `json:"mean"`
			} `json:"vmaf"`
		} `json:"pooled_metrics"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", log, err)
	}
	return out.Pooled.VMAF.Mean
}

// Missing or unusable inputs are input errors that name the file, not panics.
func TestMeasureQualityBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := spec.Input{Synthetic: &spec.Synthetic{Width: 320, Height: 240, Duration: 0.5}}
	audioOnly := filepath.Join(dir, "audio.mp4")
	run(t, spec.Spec{Input: good, Outputs: []spec.Output{{Target: audioOnly, Video: &spec.Video{Codec: "none"}}}}, nil)
	ts := filepath.Join(dir, "src.ts")
	run(t, spec.Spec{Input: good, Outputs: []spec.Output{{Target: ts, Video: fast(320, 240)}}}, nil)
	b, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	garbled := filepath.Join(dir, "garbled.ts")
	if err := os.WriteFile(garbled, garbleMiddle(b), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.mp4")
	garbage := filepath.Join(dir, "garbage.mp4")
	if err := os.WriteFile(garbage, randomBytes(3, 50_000), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name                 string
		distorted, reference spec.Input
		want                 []string // in the message
	}{
		{"missing distorted", file(missing), good, []string{missing, "distorted"}},
		{"missing reference", good, file(missing), []string{missing, "reference"}},
		{"garbage distorted", file(garbage), good, []string{garbage}},
		{"corrupt data halfway", file(garbled), good, []string{garbled}},
		{"distorted without video", file(audioOnly), good, []string{audioOnly, "no video stream"}},
		{"reference without video", good, file(audioOnly), []string{audioOnly, "no video stream"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := engine.MeasureQuality(ctx, tc.distorted, tc.reference, engine.QualityOptions{})
			t.Logf("error: %v", err)
			engineErr(t, err, engine.KindInput)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// Cancelling stops a long measurement promptly.
func TestMeasureQualityCancel(t *testing.T) {
	t.Parallel()
	long := spec.Input{Synthetic: &spec.Synthetic{Width: 640, Height: 360, Duration: 600}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := engine.MeasureQuality(ctx, long, long, engine.QualityOptions{})
	took := time.Since(start)
	t.Logf("returned after %v: %v", took, err)
	engineErr(t, err, engine.KindCanceled)
	if took > 3*time.Second {
		t.Errorf("took %v to stop after a cancel at 300ms", took)
	}
}
