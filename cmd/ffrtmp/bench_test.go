package main

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/harness"
)

// TestBenchQuick is `ffrtmp bench --quick` on this machine with the real binary: every file
// is written, results.json reads back with its schema, libx264 really ran, the skipped
// hardware encoders say why, quality is real (the starved bitrate of the sweep scores lower
// PSNR and SSIM than the generous one), and density found at least one session.
func TestBenchQuick(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	stdout, stderr, code := inFarm(t, dir, "bench", "--quick", "--encoder", "libx264", "--out", out)
	if code != 0 {
		t.Fatalf("bench --quick exited %d:\n%s\n%s", code, stdout, stderr)
	}
	for _, name := range []string{"results.json", "results.csv", "summary.md", "report.html", "fps.svg", "quality-rd-360p30-psnr.svg", "density.svg"} {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if strings.HasSuffix(name, ".svg") {
			checkSVG(t, filepath.Join(out, name))
		}
	}
	res, err := harness.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Schema != harness.SchemaVersion || res.Profile != "quick" || res.Machine.FFmpeg == "" || res.Machine.Cores == 0 {
		t.Errorf("results header: schema %q profile %q ffmpeg %q cores %d", res.Schema, res.Profile, res.Machine.FFmpeg, res.Machine.Cores)
	}
	byID := map[string]harness.Case{}
	for _, c := range res.Cases {
		byID[c.ID] = c
		if c.Skipped != "" {
			t.Errorf("%s skipped with --encoder libx264: %s", c.ID, c.Skipped)
			continue
		}
		if c.EncoderUsed != "libx264" || c.Runs != 2 || len(c.Samples) != 2 || c.Frames != 60 {
			t.Errorf("%s: encoder %q, %d runs, %d samples, %d frames; want libx264, 2, 2, 60", c.ID, c.EncoderUsed, c.Runs, len(c.Samples), c.Frames)
		}
		if c.FPS.Min <= 0 || c.FPS.Min > c.FPS.Median || c.FPS.Median > c.FPS.Max {
			t.Errorf("%s: fps %+v", c.ID, c.FPS)
		}
		if c.CPUSeconds.Median <= 0 || c.PeakRSS.Max < 10<<20 || c.Latency.P50.Median <= 0 || c.Latency.P99.Median < c.Latency.P50.Median {
			t.Errorf("%s: cpu %+v, rss %+v, latency %+v", c.ID, c.CPUSeconds, c.PeakRSS, c.Latency)
		}
		if len(c.Quality) != len(c.Outputs) {
			t.Errorf("%s: quality of %d outputs, %d outputs", c.ID, len(c.Quality), len(c.Outputs))
		}
	}
	// A ladder's rungs each have their own fps, speed and encode latency.
	ladder := byID["ladder-360p/libx264"]
	if len(ladder.Outputs) != 2 {
		t.Fatalf("ladder case: %+v", ladder.Outputs)
	}
	for _, o := range ladder.Outputs {
		if o.FPS == nil || o.Speed == nil || o.Latency == nil || o.FPS.Median <= 0 || o.Speed.Median <= 0 ||
			o.Latency.P50.Median <= 0 || o.Latency.P99.Median < o.Latency.P50.Median {
			t.Errorf("ladder rung %s: fps %v speed %v latency %+v", o.Name, o.FPS, o.Speed, o.Latency)
		}
	}
	if small, big := ladder.Outputs[1].Latency, ladder.Outputs[0].Latency; small != nil && big != nil && small.P50.Median >= big.P50.Median {
		t.Logf("240p rung p50 %.2f ms, 360p %.2f ms (expected the smaller rung faster)", small.P50.Median, big.P50.Median)
	}
	if summary, _ := os.ReadFile(filepath.Join(out, "summary.md")); !strings.Contains(string(summary), "Speed per output") {
		t.Errorf("summary.md has no per-output speed section")
	}
	starved, generous := byID["rd-360p30@200k/libx264"], byID["rd-360p30@1.2M/libx264"]
	if len(starved.Quality) == 0 || len(generous.Quality) == 0 {
		t.Fatalf("sweep cases missing: %v", keys(byID))
	}
	sq, gq := starved.Quality[0], generous.Quality[0]
	t.Logf("PSNR %.2f dB at 200k, %.2f dB at 1.2M; SSIM %.4f, %.4f", sq.PSNR, gq.PSNR, sq.SSIM, gq.SSIM)
	if sq.PSNR >= gq.PSNR-3 || sq.SSIM >= gq.SSIM || gq.PSNR < 35 {
		t.Errorf("starved PSNR %.2f / SSIM %.4f, generous %.2f / %.4f: want the starved one clearly worse and the generous one >= 35 dB",
			sq.PSNR, sq.SSIM, gq.PSNR, gq.SSIM)
	}
	if sq.Bitrate >= gq.Bitrate {
		t.Errorf("measured bitrates %.0f (200k) and %.0f (1.2M)", sq.Bitrate, gq.Bitrate)
	}
	// Density searched from one session up; how far it got depends on the machine's load.
	if len(res.Density) != 1 || len(res.Density[0].Steps) == 0 || res.Density[0].Steps[0].Sessions != 1 {
		t.Fatalf("density: %+v", res.Density)
	}
	d := res.Density[0]
	best := 0
	for _, st := range d.Steps {
		if st.WorstRatio <= 0 || st.OK != (st.WorstRatio <= d.Limit) {
			t.Errorf("density step %+v with limit %v", st, d.Limit)
		}
		if st.OK {
			best = max(best, st.Sessions)
		}
	}
	if d.MaxSessions != best {
		t.Errorf("density: max sessions %d, but the highest step that held is %d: %+v", d.MaxSessions, best, d.Steps)
	}
	if !strings.Contains(stdout, "rd-360p30@200k/libx264") || !strings.Contains(stdout, "density ladder-360p/libx264") {
		t.Errorf("the summary table lacks cases or density:\n%s", stdout)
	}
}

// TestBenchBaselineGate: a baseline doctored to be ten times faster makes the same bench
// exit 5 and name the case and metric; one doctored to be slower passes.
func TestBenchBaselineGate(t *testing.T) {
	dir := t.TempDir()
	args := []string{"bench", "--quick", "--scenario", "360p30", "--encoder", "libx264", "--runs", "1", "--density=false"}
	first := filepath.Join(dir, "first")
	if stdout, stderr, code := inFarm(t, dir, append(args, "--out", first, "--vs-ffmpeg")...); code != 0 {
		t.Fatalf("first run exited %d:\n%s\n%s", code, stdout, stderr)
	}
	// --vs-ffmpeg ran the same work with the engine's normalized settings: its 2 s GOP is
	// 60 frames at 30 fps, not the spec's unset 0 (an all-intra ffmpeg looked faster).
	r1, err := harness.ReadResults(filepath.Join(first, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if vs := r1.Cases[0].FFmpeg; vs == nil || vs.Error != "" || vs.Ratio <= 0 || vs.FPS.Median <= 0 ||
		!strings.Contains(vs.Command, "-g 60 ") || !strings.Contains(vs.Command, "-preset veryfast") {
		t.Errorf("vs ffmpeg: %+v", vs)
	}
	b, err := os.ReadFile(filepath.Join(first, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Baselines doctored far beyond any machine noise: one ten times faster (a regression
	// however loaded the machine), one slower on every figure the gate compares (a pass).
	doctor := func(name string, fpsBy, speedBy, latencyBy float64) string {
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		c := doc["cases"].([]any)[0].(map[string]any)
		scale := func(m map[string]any, by float64) { m["median"] = m["median"].(float64) * by }
		scale(c["fps"].(map[string]any), fpsBy)
		scale(c["speed"].(map[string]any), speedBy)
		scale(c["encode_latency"].(map[string]any)["p95_ms"].(map[string]any), latencyBy)
		out, _ := json.Marshal(doc)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	base := doctor("faster.json", 10, 1, 1)
	slower := doctor("slower.json", 0.3, 0.3, 3)

	stdout, stderr, code := inFarm(t, dir, append(args, "--out", filepath.Join(dir, "second"), "--baseline", base)...)
	if code != exitRegress {
		t.Fatalf("against a doctored baseline: exit %d, want %d:\n%s\n%s", code, exitRegress, stdout, stderr)
	}
	if !strings.Contains(stderr, "regression: 360p30/libx264 fps") {
		t.Errorf("stderr does not name the regression:\n%s", stderr)
	}
	second, err := harness.ReadResults(filepath.Join(dir, "second", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Baseline == nil || !second.Baseline.Failed() || second.Baseline.File != base {
		t.Errorf("results.json baseline: %+v", second.Baseline)
	}
	if md, _ := os.ReadFile(filepath.Join(dir, "second", "summary.md")); !strings.Contains(string(md), "360p30/libx264") {
		t.Errorf("summary.md lacks the regression")
	}

	// Against a baseline that was slower on every figure, the gate passes.
	if stdout, stderr, code := inFarm(t, dir, append(args, "--out", filepath.Join(dir, "third"), "--baseline", slower)...); code != 0 {
		t.Errorf("against a slower baseline: exit %d:\n%s\n%s", code, stdout, stderr)
	}
	// A file that is not a results.json is a usage error, before anything runs.
	if _, stderr, code := inFarm(t, dir, append(args, "--baseline", filepath.Join(first, "summary.md"))...); code != exitUsage || !strings.Contains(stderr, "summary.md") {
		t.Errorf("a Markdown baseline: exit %d, %s", code, stderr)
	}
}

// TestBenchFarm is farm mode against `ffrtmp run`: the scenario runs as a job pinned to the
// farm's worker, whose encoder, fps and encode latency come back per node.
func TestBenchFarm(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	startRun(t, dir, "--port", port)
	// The worker registers once its capability probe is done (every encoder opened once).
	runWaitFor(t, 30*time.Second, "the worker to register", func() bool {
		stdout, _, code := inFarm(t, dir, "nodes", "list", "-o", "json")
		return code == 0 && strings.Contains(stdout, `"online"`)
	})
	out := filepath.Join(dir, "farm")
	stdout, stderr, code := inFarm(t, dir, "bench", "--farm", "--quick", "--scenario", "360p30", "--encoder", "libx264", "--runs", "2", "--out", out)
	if code != 0 {
		t.Fatalf("bench --farm exited %d:\n%s\n%s", code, stdout, stderr)
	}
	res, err := harness.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	fm := res.Farm
	if res.Profile != "farm" || fm == nil || len(fm.Nodes) != 1 || fm.Jobs != 2 || fm.Failed != 0 || fm.FPS <= 0 {
		t.Fatalf("farm results: profile %q, %+v", res.Profile, fm)
	}
	n := fm.Nodes[0]
	if len(n.Cases) != 1 {
		t.Fatalf("node %s: %d cases", n.ID, len(n.Cases))
	}
	fc := n.Cases[0]
	if fc.Status != "completed" || fc.Runs != 2 || fc.EncoderUsed != "libx264" || fc.Frames != 60 || fc.FPS <= 0 ||
		fc.FPSMin > fc.FPS || fc.FPS > fc.FPSMax || fc.P95ms <= 0 || fc.P95ms < fc.P50ms {
		t.Errorf("farm case: %+v", fc)
	}
	if fi, err := os.Stat(filepath.Join(out, "farm.svg")); err != nil || fi.Size() == 0 {
		t.Errorf("farm.svg: %v", err)
	}
	if !strings.Contains(stdout, n.Name) || !strings.Contains(stdout, "aggregate") {
		t.Errorf("farm table lacks the node or the aggregate:\n%s", stdout)
	}
	// The job is on the master like any other, pinned to the node.
	jobsOut, _, code := inFarm(t, dir, "jobs", "get", fc.Job, "-o", "json")
	if code != 0 || !strings.Contains(jobsOut, `"node": "`+n.ID+`"`) {
		t.Errorf("jobs get %s (exit %d):\n%s", fc.Job, code, jobsOut)
	}
}

// checkSVG parses path as XML to the end and checks its root is <svg>.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", path, root)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The bench table lines its columns up, and a failed case's error runs on from the FPS column
// instead of widening it.
func TestWriteBenchTable(t *testing.T) {
	r := &harness.Results{Cases: []harness.Case{
		{ID: "cam/libx264", Encoder: "libx264", EncoderUsed: "libx264", Runs: 3,
			FPS: harness.Stat{Median: 120.5, Min: 118, Max: 121}, Speed: harness.Stat{Median: 4.02}},
		{ID: "cam/h264_nvenc", Encoder: "h264_nvenc", Error: "no CUDA device\nhere, so the run could not open its encoder at all"},
		{ID: "ladder/libx264", Encoder: "libx264", EncoderUsed: "libx264", Runs: 3,
			FPS: harness.Stat{Median: 30, Min: 29.5, Max: 31}, Speed: harness.Stat{Median: 1}},
	}}
	var b strings.Builder
	writeBenchTable(&b, r)
	lines := strings.Split(b.String(), "\n")
	want := []string{
		"CASE            ENCODER     FPS (min-max)        SPEED  P95 MS  CPU S  RSS MB  PSNR  SSIM  VS FFMPEG",
		"cam/libx264     libx264     120.5 (118.0-121.0)  4.02x  0.00    0.00   0       -     -     -",
		"cam/h264_nvenc  h264_nvenc  failed: no CUDA device here, so the run could not open its encoder at all",
		"ladder/libx264  libx264     30.0 (29.5-31.0)     1.00x  0.00    0.00   0       -     -     -",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Errorf("bench table:\n%s\nwant line %d:\n%s", b.String(), i+1, w)
			break
		}
	}
}

// TestBenchBDRate: a sweep run on libsvtav1 alone brings in the anchor (libx264) and ends
// with its BD-rate against it, in the table, results.json and summary.md; an unknown anchor
// is a usage error before anything runs.
func TestBenchBDRate(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	stdout, stderr, code := inFarm(t, dir, "bench", "--quick", "--scenario", "rd-360p30", "--encoder", "libsvtav1",
		"--density=false", "--runs", "1", "--warmup", "0", "--no-gpu", "--out", out)
	if code != 0 {
		t.Fatalf("bench exited %d:\n%s\n%s", code, stdout, stderr)
	}
	res, err := harness.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cases) != 4 {
		t.Errorf("%d cases, want 2 bitrates × (libsvtav1 and the anchor libx264)", len(res.Cases))
	}
	if len(res.BDRates) != 1 || res.BDRates[0].Encoder != "libsvtav1" || res.BDRates[0].Anchor != "libx264" ||
		res.BDRates[0].RatePSNR == nil || res.BDRates[0].Points != 2 || res.BDRates[0].FPS <= 0 {
		t.Fatalf("bd_rates: %+v", res.BDRates)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	for _, s := range []string{"BD-rate against libx264", "rd-360p30  libsvtav1"} {
		if !strings.Contains(stdout+string(summary), s) {
			t.Errorf("no %q in the table or summary:\n%s", s, stdout)
		}
	}
	if _, stderr, code := inFarm(t, dir, "bench", "--quick", "--anchor", "x263", "--out", out); code != exitUsage || !strings.Contains(stderr, "x263") {
		t.Errorf("--anchor x263: exit %d, %s", code, stderr)
	}
}
