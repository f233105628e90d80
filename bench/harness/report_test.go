package harness

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// sampleResults is a run of the full profile on a GPU machine: a CPU case, an NVENC case
// with GPU figures, a ladder with three measured outputs, a skipped AV1 case, a bitrate
// sweep of libx264 and libx265 with VMAF and its BD-rate, density and farm sections and a
// failed baseline check.
func sampleResults() *Results {
	started := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	src1080 := Source{Kind: "synthetic", Width: 1920, Height: 1080, FPS: 30, Duration: 20}
	r := &Results{
		Started:  started,
		Finished: started.Add(7*time.Minute + 12*time.Second),
		Profile:  "full",
		Command:  []string{"ffrtmp", "bench", "--runs", "3", "--baseline", "old/results.json"},
		Machine: Machine{
			Hostname: "bench-01", CPU: "AMD EPYC 9454 48-Core Processor", Cores: 96,
			MemoryBytes: 256 << 30, OS: "linux", Arch: "amd64", Kernel: "6.8.0-45-generic",
			LoadAverage: "0.42 0.31 0.20",
			GPUs:        []GPU{{Index: 0, Name: "NVIDIA L4", UUID: "GPU-1234", MemoryMB: 23034}},
			Driver:      "560.35.03", RAPL: true,
			FFmpeg: "7.1", GoAstiav: "v0.36.0", Ffrtmp: "v0.9.0", GoVersion: "go1.26.0",
		},
		Options: Settings{Runs: 3, Warmup: 1, VsFFmpeg: true, Quality: true, Density: true, Threshold: 0.1},
		Cases: []Case{
			{
				ID: "1080p30-cbr/libx264", Scenario: "1080p30-cbr", Encoder: "libx264", EncoderUsed: "libx264",
				Decoder: "h264", Codec: "h264", Preset: "veryfast", RateControl: "cbr 6000k",
				Source:  src1080,
				Outputs: []Rendition{{Name: "1080p", Width: 1920, Height: 1080, Bitrate: 6_000_000}},
				Runs:    3, Frames: 600,
				FPS:   Stat{Min: 241.5, Median: 248.25, Max: 251},
				Speed: Stat{Min: 8.05, Median: 8.275, Max: 8.37},
				Latency: Latency{
					P50: Stat{Min: 3.1, Median: 3.2, Max: 3.4},
					P95: Stat{Min: 5.5, Median: 5.75, Max: 6.1},
					P99: Stat{Min: 7.9, Median: 8.25, Max: 9},
				},
				CPUSeconds:        Stat{Min: 30.1, Median: 30.5, Max: 31.2},
				PeakRSS:           Stat{Min: 300 << 20, Median: 310 << 20, Max: 320 << 20},
				CPUJoulesPerFrame: &Stat{Min: 0.41, Median: 0.42, Max: 0.45},
				Quality:           []Quality{{Output: "1080p", Bitrate: 5_870_000, PSNR: 41.25, PSNRY: 40.5, SSIM: 0.9875}},
				FFmpeg: &VsFFmpeg{
					Command: "ffmpeg -f lavfi -i testsrc2 -c:v libx264 -f null -",
					FPS:     Stat{Min: 230, Median: 236.5, Max: 240}, CPUSeconds: Stat{Median: 31},
					Ratio: 1.05,
				},
				Samples: []Sample{{Seconds: 2.4, FPS: 248.25, Speed: 8.275, CPUSeconds: 30.5, PeakRSS: 310 << 20,
					P50ms: 3.2, P95ms: 5.75, P99ms: 8.25, CPUJoules: ptr(252.0)}},
			},
			{
				ID: "1080p30-cbr/h264_nvenc", Scenario: "1080p30-cbr", Encoder: "h264_nvenc", EncoderUsed: "h264_nvenc",
				Decoder: "h264_cuvid", Codec: "h264", Preset: "p4", RateControl: "cbr 6000k",
				Source:  src1080,
				Outputs: []Rendition{{Name: "1080p", Width: 1920, Height: 1080, Bitrate: 6_000_000}},
				Runs:    3, Frames: 600,
				FPS:   Stat{Min: 1180, Median: 1204.5, Max: 1220},
				Speed: Stat{Min: 39.3, Median: 40.15, Max: 40.6},
				Latency: Latency{
					P50: Stat{Median: 1.1}, P95: Stat{Median: 1.9}, P99: Stat{Median: 2.4},
				},
				CPUSeconds: Stat{Median: 2.5},
				PeakRSS:    Stat{Max: 512 << 20},
				GPU: &GPUUse{
					Utilization: Stat{Median: 35}, EncoderUtilization: Stat{Median: 88}, DecoderUtilization: Stat{Median: 41},
					PowerWatts: Stat{Median: 61.5}, JoulesPerFrame: Stat{Median: 0.051}, MemoryUsedMB: Stat{Median: 900},
				},
				Quality: []Quality{{Output: "1080p", Bitrate: 5_990_000, PSNR: 40.5, PSNRY: 39.75, SSIM: 0.985}},
				Samples: []Sample{{Seconds: 0.5, FPS: 1204.5, GPUUtil: ptr(35.0), GPUWatts: ptr(61.5)}},
			},
			{
				ID: "ladder-720p-3/libx264", Scenario: "ladder-720p-3", Encoder: "libx264", EncoderUsed: "libx264",
				Codec: "h264", Preset: "veryfast", RateControl: "cbr",
				Source: Source{Kind: "file", File: "testdata/bbb-720p.mp4", Width: 1280, Height: 720, FPS: 30, Duration: 10},
				Outputs: []Rendition{
					{Name: "720p", Width: 1280, Height: 720, Bitrate: 3_000_000,
						FPS: &Stat{Median: 185}, Speed: &Stat{Median: 6.17}, Latency: &Latency{P50: Stat{Median: 2.5}, P95: Stat{Median: 4.25}, P99: Stat{Median: 5.5}}},
					{Name: "480p", Width: 854, Height: 480, Bitrate: 1_500_000,
						FPS: &Stat{Median: 185}, Speed: &Stat{Median: 6.17}, Latency: &Latency{P50: Stat{Median: 1.25}, P95: Stat{Median: 2}, P99: Stat{Median: 2.75}}},
					{Name: "360p", Width: 640, Height: 360, Bitrate: 800_000,
						FPS: &Stat{Median: 185}, Speed: &Stat{Median: 6.17}, Latency: &Latency{P50: Stat{Median: 0.75}, P95: Stat{Median: 1.5}, P99: Stat{Median: 1.75}}},
				},
				Runs: 3, Frames: 300,
				FPS:        Stat{Min: 180, Median: 185, Max: 190},
				Speed:      Stat{Min: 6, Median: 6.17, Max: 6.33},
				Latency:    Latency{P50: Stat{Median: 4}, P95: Stat{Median: 7}, P99: Stat{Median: 9}},
				CPUSeconds: Stat{Median: 22},
				PeakRSS:    Stat{Max: 400 << 20},
				Quality: []Quality{
					{Output: "720p", Bitrate: 2_950_000, PSNR: 42.5, SSIM: 0.99, VMAF: ptr(95.5)},
					{Output: "480p", Bitrate: 1_480_000, PSNR: 39, SSIM: 0.975, VMAF: ptr(88.25)},
					{Output: "360p", Bitrate: 790_000, PSNR: 36.5, SSIM: 0.955, VMAF: ptr(76.0)},
				},
				Error: "run 2: encoder reported a dropped frame",
			},
			{
				ID: "1080p30-cbr/av1_nvenc", Scenario: "1080p30-cbr", Encoder: "av1_nvenc", Codec: "av1",
				RateControl: "cbr 6000k", Source: src1080,
				Outputs: []Rendition{{Name: "1080p", Width: 1920, Height: 1080, Bitrate: 6_000_000}},
				Skipped: "av1_nvenc does not open: no AV1 encoder on NVIDIA L4? (Function not implemented)",
			},
		},
		Density: []Density{
			{Encoder: "libx264", Scenario: "1080p30-cbr", MaxSessions: 6, Limit: 0.9, Steps: []DensityStep{
				{Sessions: 4, MedianRatio: 0.5, WorstRatio: 0.6, OK: true},
				{Sessions: 6, MedianRatio: 0.75, WorstRatio: 0.85, OK: true},
				{Sessions: 8, MedianRatio: 0.95, WorstRatio: 1.1, OK: false},
			}},
			{Encoder: "h264_nvenc", Scenario: "1080p30-cbr", MaxSessions: 24, Limit: 0.9, Steps: []DensityStep{
				{Sessions: 24, MedianRatio: 0.7, WorstRatio: 0.8, OK: true},
				{Sessions: 32, MedianRatio: 0.9, WorstRatio: 1.2, OK: false},
			}},
		},
		Farm: &Farm{
			Master: "http://master:8080", FPS: 1650.5, Seconds: 42.5, Jobs: 4, Failed: 1,
			Nodes: []FarmNode{
				{ID: "node-a1b2", Name: "gpu-node-1", Labels: map[string]string{"gpu": "l4"}, GPUs: []string{"NVIDIA L4"},
					FPS: 1150, Cases: []FarmCase{
						{Scenario: "1080p30-cbr", Job: "j1", Status: "completed", EncoderUsed: "h264_nvenc", Frames: 600, FPS: 1200, Speed: 40, Seconds: 0.5, P95ms: 1.9},
						{Scenario: "ladder-720p-3", Job: "j2", Status: "completed", EncoderUsed: "h264_nvenc", Frames: 300, FPS: 1100, Speed: 36.7, Seconds: 0.27},
					}},
				{ID: "node-c3d4", Name: "cpu-node-1", FPS: 250, Cases: []FarmCase{
					{Scenario: "1080p30-cbr", Job: "j3", Status: "completed", EncoderUsed: "libx264", Frames: 600, FPS: 250, Speed: 8.3, Seconds: 2.4},
					{Scenario: "ladder-720p-3", Job: "j4", Status: "failed", Error: "worker lost"},
				}},
			},
		},
		Baseline: &BaselineCheck{
			File: "old/results.json", Threshold: 0.1,
			Regressions: []Regression{
				{Case: "1080p30-cbr/libx264", Metric: MetricFPS, Baseline: 320, Current: 248.25, Change: -0.224},
				{Case: "ladder-720p-3/libx264", Metric: MetricPSNR, Output: "480p", Baseline: 40, Current: 39, Change: -0.025},
			},
			Missing: []string{"1080p30-cbr/hevc_nvenc"},
		},
	}
	// libx265 needs 20 % fewer bits than libx264 for the same quality: a -20 % BD-rate.
	for _, p := range []struct {
		at               string
		rate, psnr, vmaf float64
	}{{"1M", 1e6, 34, 70}, {"2M", 2e6, 37, 82}, {"4M", 4e6, 40, 91}} {
		r.Cases = append(r.Cases,
			sweepCase("rd-1080p", "libx264", p.at, p.rate, p.psnr, p.vmaf, 140),
			sweepCase("rd-1080p", "libx265", p.at, p.rate*0.8, p.psnr, p.vmaf, 23.5))
	}
	r.BDRates = BDRates(r, "libx264")
	return r
}

func writeSample(t *testing.T) (dir string, r *Results, paths []string) {
	t.Helper()
	r = sampleResults()
	dir = filepath.Join(t.TempDir(), "report")
	paths, err := r.WriteDir(dir)
	if err != nil {
		t.Fatalf("WriteDir: %v", err)
	}
	return dir, r, paths
}

func TestWriteDirWritesEveryFile(t *testing.T) {
	dir, r, paths := writeSample(t)
	want := []string{"results.json", "results.csv", "fps.svg", "quality-rd-1080p-vmaf.svg", "quality-rd-1080p-psnr.svg",
		"density.svg", "farm.svg", "summary.md", "report.html"}
	var got []string
	for _, p := range paths {
		if filepath.Dir(p) != dir {
			t.Errorf("path %s is not in %s", p, dir)
		}
		got = append(got, filepath.Base(p))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("WriteDir wrote %v, want %v", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(want, e.Name()) {
			t.Errorf("stray file %s left in the report directory", e.Name())
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() == 0 {
			t.Errorf("%s is empty", e.Name())
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v, want 0644", e.Name(), info.Mode().Perm())
		}
	}
	if r.Schema != "" {
		t.Errorf("WriteDir changed the caller's Schema to %q", r.Schema)
	}

	// A second run replaces the files in place.
	if _, err := r.WriteDir(dir); err != nil {
		t.Fatalf("second WriteDir: %v", err)
	}
	if again, _ := os.ReadDir(dir); len(again) != len(want) {
		t.Errorf("after a second WriteDir the directory holds %d entries, want %d", len(again), len(want))
	}
}

func TestWriteDirOnlyChartsWithData(t *testing.T) {
	r := sampleResults()
	r.Density, r.Farm, r.Baseline = nil, nil, nil
	for i := range r.Cases {
		r.Cases[i].Quality = nil
	}
	paths, err := r.WriteDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if want := []string{"results.json", "results.csv", "fps.svg", "summary.md", "report.html"}; !slices.Equal(names, want) {
		t.Fatalf("wrote %v, want %v", names, want)
	}
	md, err := os.ReadFile(filepath.Join(filepath.Dir(paths[0]), "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"## Density", "## Farm", "## Baseline", "quality-"} {
		if strings.Contains(string(md), absent) {
			t.Errorf("summary.md has %q without the data for it", absent)
		}
	}
}

func TestResultsJSONRoundTrip(t *testing.T) {
	dir, r, _ := writeSample(t)
	got, err := ReadResults(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatalf("ReadResults: %v", err)
	}
	want := *r
	want.Schema = SchemaVersion
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("results.json does not round-trip:\ngot  %+v\nwant %+v", got, &want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\n  \"schema\": \"ffrtmp.bench/v1\"") {
		t.Errorf("results.json is not indented or lacks the schema:\n%.200s", b)
	}
}

func TestReadResultsRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"other-schema.json", `{"schema": "ffrtmp.bench/v2", "cases": []}`, `schema "ffrtmp.bench/v2"`},
		{"no-schema.json", `{"cases": []}`, `schema ""`},
		{"garbage.json", "fps,speed\n1,2\n", "not a results.json"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadResults(path)
		if err == nil {
			t.Errorf("%s: ReadResults accepted it", tc.name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q should name the file and say %q", tc.name, msg, tc.want)
		}
	}
}

func TestResultsCSV(t *testing.T) {
	dir, r, _ := writeSample(t)
	f, err := os.Open(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("results.csv does not parse: %v", err)
	}
	if !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("header %v, want %v", rows[0], csvHeader)
	}
	if len(rows) != 1+len(r.Cases) {
		t.Fatalf("%d rows, want a header and %d cases", len(rows), len(r.Cases))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	cell := func(row int, name string) string {
		t.Helper()
		i, ok := col[name]
		if !ok {
			t.Fatalf("no column %q", name)
		}
		return rows[row][i]
	}
	for _, tc := range []struct {
		row        int
		name, want string
	}{
		{1, "id", "1080p30-cbr/libx264"},
		{1, "source", "1920x1080@30"},
		{1, "outputs", "1"},
		{1, "runs", "3"},
		{1, "frames", "600"},
		{1, "fps_min", "241.5"},
		{1, "fps_median", "248.25"},
		{1, "fps_max", "251"},
		{1, "speed_median", "8.275"},
		{1, "p50_ms", "3.2"},
		{1, "p95_ms", "5.75"},
		{1, "p99_ms", "8.25"},
		{1, "cpu_seconds", "30.5"},
		{1, "peak_rss_mb", "320"},
		{1, "cpu_j_per_frame", "0.42"},
		{1, "gpu_util_pct", ""},
		{1, "gpu_j_per_frame", ""},
		{1, "psnr", "41.25"},
		{1, "ssim", "0.9875"},
		{1, "vmaf", ""},
		{1, "ffmpeg_fps", "236.5"},
		{1, "ffmpeg_ratio", "1.05"},
		{1, "skipped", ""},
		{2, "encoder_used", "h264_nvenc"},
		{2, "decoder", "h264_cuvid"},
		{2, "cpu_j_per_frame", ""},
		{2, "gpu_util_pct", "35"},
		{2, "gpu_enc_pct", "88"},
		{2, "gpu_dec_pct", "41"},
		{2, "gpu_watts", "61.5"},
		{2, "gpu_j_per_frame", "0.051"},
		{2, "ffmpeg_fps", ""},
		{3, "outputs", "3"},
		{3, "psnr", "42.5"},
		{3, "vmaf", "95.5"},
		{3, "error", "run 2: encoder reported a dropped frame"},
		{4, "id", "1080p30-cbr/av1_nvenc"},
		{4, "codec", "av1"},
		{4, "runs", ""},
		{4, "fps_median", ""},
		{4, "peak_rss_mb", ""},
		{4, "skipped", r.Cases[3].Skipped},
	} {
		if got := cell(tc.row, tc.name); got != tc.want {
			t.Errorf("row %d (%s) %s = %q, want %q", tc.row, rows[tc.row][0], tc.name, got, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	dir, r, _ := writeSample(t)
	b, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	want := []string{
		r.Machine.CPU, "96 cores", "NVIDIA L4", "560.35.03", "v0.36.0", "0.42 0.31 0.20",
		"248 [242–251]", "1204 [1180–1220]", "3.20 / 5.75 / 8.25", "1.05×",
		"skipped: av1_nvenc does not open",
		"### Quality per output", "| `ladder-720p-3/libx264` | 360p | 790 | 36.50 |",
		"### Speed per output", "| `ladder-720p-3/libx264` | 480p | 185 | 6.17× | 1.25 | 2.00 | 2.75 |",
		"## Density", "| h264_nvenc | 1080p30-cbr | 24 |",
		"## Farm", "gpu-node-1", "aggregate **1650 fps**",
		"## Baseline", "**2 regression(s)** beyond 10 %", "| `1080p30-cbr/libx264` | fps | 320 | 248 | -22.4 % |",
		"psnr (480p)", "`1080p30-cbr/hevc_nvenc`",
		"### BD-rate against libx264", "| rd-1080p | libx265 | veryfast | 3 | -20.00 % |",
		"![fps by encoder and resolution](fps.svg)", "![rd-1080p: VMAF vs bitrate](quality-rd-1080p-vmaf.svg)",
		"![rd-1080p: PSNR vs bitrate](quality-rd-1080p-psnr.svg)", "(density.svg)", "(farm.svg)",
	}
	for _, c := range r.Cases {
		want = append(want, "`"+c.ID+"`")
	}
	for _, w := range want {
		if !strings.Contains(md, w) {
			t.Errorf("summary.md lacks %q", w)
		}
	}
	// Every table row has as many cells as its header.
	lines := strings.Split(md, "\n")
	for i := 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "|") && strings.HasPrefix(lines[i-1], "|") {
			if a, b := cellCount(lines[i-1]), cellCount(lines[i]); a != b {
				t.Errorf("line %d has %d cells, the one before %d:\n%s\n%s", i+1, b, a, lines[i-1], lines[i])
			}
		}
	}

	r.Baseline = &BaselineCheck{Threshold: 0.1, Regressions: []Regression{}}
	var sb strings.Builder
	if err := r.WriteSummary(&sb, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "No regressions beyond 10 %") {
		t.Errorf("a passing baseline is not reported:\n%s", sb.String())
	}
}

func cellCount(line string) int {
	return strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1
}
