package harness

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/bench/enginebench"
)

func TestStat(t *testing.T) {
	if got := stat([]float64{3, 1, 2}); got != (Stat{Min: 1, Median: 2, Max: 3}) {
		t.Errorf("odd: %+v", got)
	}
	if got := stat([]float64{4, 1, 3, 2}); got != (Stat{Min: 1, Median: 2.5, Max: 4}) {
		t.Errorf("even: %+v", got)
	}
	if got := stat(nil); got != (Stat{}) {
		t.Errorf("empty: %+v", got)
	}
}

func TestLoadScenarios(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(`scenarios:
  - name: cam
    source: {width: 1280, height: 720, fps: 30, duration: 3}
    outputs:
      - {name: 720p, width: 1280, height: 720, bitrate: 2.5M}
      - {name: 360p, width: 640, height: 360, bitrate: 800k}
    codecs: [h264]
    presets: {libx264: faster}
    sweep: [1M, 2M]
`), 0o644)
	scs, err := LoadScenarios(good)
	if err != nil {
		t.Fatal(err)
	}
	s := scs[0]
	if s.Outputs[0].Bitrate != 2_500_000 || s.Outputs[1].Bitrate != 800_000 || len(s.Sweep) != 2 || s.Sweep[1] != 2_000_000 {
		t.Errorf("parsed %+v", s)
	}
	// The sweep scales every rung by its share of the first; presets apply per family.
	c := caseRun{id: "cam@1M/libx264", sc: s, encoder: "libx264", bitrate: 1_000_000}
	outs := c.outputs(dir)
	if outs[0].Video.Bitrate != 1_000_000 || outs[1].Video.Bitrate != 320_000 || outs[0].Video.Preset != "faster" {
		t.Errorf("sweep outputs: %+v / %+v", outs[0].Video, outs[1].Video)
	}
	if hw := (&caseRun{sc: s, encoder: "h264_nvenc"}).spec(dir).Hardware; hw.Mode != "require" || hw.Device != "cuda" {
		t.Errorf("an NVENC case runs with hardware %+v, want require cuda", hw)
	}

	for name, body := range map[string]string{
		"typo":        "scenarios:\n  - name: x\n    sorce: {width: 1}\n",
		"no outputs":  "scenarios:\n  - name: x\n    source: {width: 64, height: 64, fps: 30, duration: 1}\n    codecs: [h264]\n",
		"bad codec":   "scenarios:\n  - name: x\n    source: {width: 64, height: 64, fps: 30, duration: 1}\n    outputs: [{name: a, bitrate: 1M}]\n    codecs: [vp8]\n",
		"bad bitrate": "scenarios:\n  - name: x\n    source: {width: 64, height: 64, fps: 30, duration: 1}\n    outputs: [{name: a, bitrate: fast}]\n    codecs: [h264]\n",
		"empty":       "scenarios: []\n",
		"slash name":  "scenarios:\n  - name: a/b\n    source: {width: 64, height: 64, fps: 30, duration: 1}\n    outputs: [{name: a, bitrate: 1M}]\n    codecs: [h264]\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := LoadScenarios(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err %v, want an error naming the file", name, err)
		}
	}
	if _, err := SelectScenarios(BuiltinScenarios(), []string{"8k120"}); err == nil || !strings.Contains(err.Error(), "720p30") {
		t.Errorf("unknown scenario: %v, want the known ones listed", err)
	}
	for _, sc := range append(BuiltinScenarios(), QuickScenarios()...) {
		if err := sc.check(); err != nil {
			t.Errorf("built-in %s: %v", sc.Name, err)
		}
	}
}

// RAPL counters read from a powercap tree: packages only, wrap-around allowed for.
func TestRAPL(t *testing.T) {
	root := t.TempDir()
	zone := func(name, label string, uj, max string) {
		d := filepath.Join(root, name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "name"), []byte(label+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "energy_uj"), []byte(uj+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "max_energy_range_uj"), []byte(max+"\n"), 0o644)
	}
	zone("intel-rapl:0", "package-0", "1000000", "262143328850")
	zone("intel-rapl:0:0", "core", "500000", "262143328850")
	zone("intel-rapl:1", "package-1", "262143000000", "262143328850")
	r := openRAPL(root)
	if r == nil || len(r.zones) != 2 {
		t.Fatalf("zones: %+v", r)
	}
	before := r.read()
	zone("intel-rapl:0", "package-0", "3000000", "262143328850") // +2 J
	zone("intel-rapl:1", "package-1", "671150", "262143328850")  // wrapped: +1 J
	if got := r.joules(before, r.read()); got < 2.99 || got > 3.01 {
		t.Errorf("joules %v, want 3", got)
	}
	if openRAPL(t.TempDir()) != nil {
		t.Error("an empty powercap tree reads as RAPL")
	}
}

func TestPlanCasesSkipsWhatDoesNotOpen(t *testing.T) {
	cases, err := planCases(Options{Scenarios: []Scenario{{Name: "s", Source: ScenarioSource{Width: 64, Height: 64, FPS: 30, Duration: 1},
		Outputs: []ScenarioOutput{{Name: "o", Bitrate: spec.Bitrate(100_000)}}, Encoders: []string{"libx264", "h264_vaapi"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[0].skip != "" || cases[1].id != "s/h264_vaapi" {
		t.Fatalf("cases %+v", cases)
	}
	if _, err := os.Stat("/dev/dri/renderD128"); err != nil && cases[1].skip == "" {
		t.Error("h264_vaapi is not skipped on a machine without a render node")
	}
}

// GPU energy per frame is reported whole and above the idle draw measured before the cases.
func TestSummarizeGPUEnergy(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	c := Case{Frames: 100, Samples: []Sample{
		{Seconds: 1, FPS: 100, GPUUtil: f(40), GPUEncUtil: f(30), GPUDecUtil: f(10), GPUWatts: f(150), GPUMemoryMB: f(600), GPUJoules: f(150)},
		{Seconds: 2, FPS: 50, GPUUtil: f(20), GPUEncUtil: f(15), GPUDecUtil: f(5), GPUWatts: f(125), GPUMemoryMB: f(600), GPUJoules: f(250)},
	}}
	summarize(&c, 100)
	if c.GPU == nil {
		t.Fatal("no GPU figures")
	}
	if got := c.GPU.JoulesPerFrame; got.Min != 1.5 || got.Max != 2.5 {
		t.Errorf("joules per frame %+v, want 1.5..2.5", got)
	}
	if got := c.GPU.ExcessJoulesPerFrame; got.Min != 0.5 || got.Max != 0.5 {
		t.Errorf("excess joules per frame %+v, want 0.5 for both runs (150-100×1, 250-100×2 over 100 frames)", got)
	}
	if c.FPS.Median != 75 || c.CPUJoulesPerFrame != nil {
		t.Errorf("fps %+v, cpu joules %v", c.FPS, c.CPUJoulesPerFrame)
	}
}

// A run's peak RSS is read by the run's process itself: getrusage in the parent would fold
// in the parent's own high-water mark (Go execs children from a vfork that shares its memory).
func TestPeakRSSIsThisProcesss(t *testing.T) {
	before := peakRSS()
	if before < 1<<20 {
		t.Fatalf("VmHWM %d bytes", before)
	}
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = 1
	}
	if after := peakRSS(); after < before+60<<20 {
		t.Errorf("VmHWM %d -> %d after touching 64 MiB", before, after)
	}
	_ = big[len(big)-1]
}

func TestSearchSessions(t *testing.T) {
	for _, tc := range []struct{ max, holds, want, maxTries int }{
		{8, 100, 8, 4},  // 1 2 4 8
		{3, 100, 3, 3},  // 1 2 3
		{1, 100, 1, 1},  // 1
		{32, 0, 0, 1},   // not even one
		{32, 5, 5, 6},   // 1 2 4 8, then 6 5
		{12, 11, 11, 7}, // 1 2 4 8 12, then 10 11
	} {
		var tried []int
		got := searchSessions(context.Background(), tc.max, func(n int) bool {
			tried = append(tried, n)
			return n <= tc.holds
		})
		if got != tc.want || len(tried) > tc.maxTries || slices.ContainsFunc(tried, func(n int) bool { return n < 1 || n > tc.max }) {
			t.Errorf("max %d, holds to %d: got %d after %v, want %d in at most %d tries", tc.max, tc.holds, got, tried, tc.want, tc.maxTries)
		}
	}
}

// A hardware scenario decodes and scales on its device for every encoder it keeps: software
// ones and that device's, not another device's; where the device does not open, its cases
// are skipped with the reason.
func TestHardwareScenario(t *testing.T) {
	sc := Scenario{Name: "gpu", Source: ScenarioSource{Width: 64, Height: 64, FPS: 30, Duration: 1},
		Outputs: []ScenarioOutput{{Name: "o", Bitrate: 100_000}}, Codecs: []string{"h264", "hevc"}, Hardware: "cuda"}
	if got, want := sc.encoders(), []string{"libx264", "h264_nvenc", "libx265", "hevc_nvenc"}; !slices.Equal(got, want) {
		t.Errorf("encoders %v, want %v", got, want)
	}
	c := caseRun{sc: sc, encoder: "libx264"}
	if hw := c.spec(t.TempDir()).Hardware; hw.Mode != "require" || hw.Device != "cuda" {
		t.Errorf("libx264 in a cuda scenario runs with %+v, want require cuda", hw)
	}
	bad := sc
	bad.Hardware = "opencl"
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "opencl") {
		t.Errorf("hardware opencl: %v", err)
	}
	cases, err := planCases(Options{Scenarios: []Scenario{sc}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/dev/nvidiactl"); err != nil {
		for _, c := range cases {
			if !strings.Contains(c.skip, "cuda") {
				t.Errorf("%s on a machine without CUDA: skip %q, want the device's reason", c.id, c.skip)
			}
		}
	}
}

// --vs-ffmpeg says why it does not compare a hardware case rather than comparing a GPU
// decode with a software one.
func TestVsFFmpegRefusesHardwareCases(t *testing.T) {
	sc := Scenario{Name: "gpu", Source: ScenarioSource{Width: 64, Height: 64, FPS: 30, Duration: 1},
		Outputs: []ScenarioOutput{{Name: "o", Bitrate: 100_000}}, Encoders: []string{"libx264"}, Hardware: "cuda"}
	c := caseRun{sc: sc, encoder: "libx264", srcPath: "/nonexistent.mp4", srcRate: spec.Rate{Num: 30, Den: 1}}
	r := newFFmpegRuns(&c, enginebench.FFmpeg{Path: "/bin/false"}, t.TempDir())
	if !r.disabled || !strings.Contains(r.Error, "software cases only") {
		t.Errorf("hardware case: %+v", r.VsFFmpeg)
	}
	sc.Hardware = ""
	c.sc = sc
	if r := newFFmpegRuns(&c, enginebench.FFmpeg{Path: "/bin/false"}, t.TempDir()); r.disabled || !strings.Contains(r.Command, "libx264") {
		t.Errorf("software case: %+v", r.VsFFmpeg)
	}
}
