package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/bench/harness"
	"github.com/ffrtmp/ffrtmp/hw"
	"github.com/ffrtmp/ffrtmp/internal/table"
	"github.com/ffrtmp/ffrtmp/internal/version"
)

// regressionError is a bench run that regressed against its baseline (exit 5).
type regressionError struct{ n int }

func (e regressionError) Error() string {
	return fmt.Sprintf("%d regression(s) against the baseline", e.n)
}

type benchFlags struct {
	out, scenariosFile, baseline string
	scenarios, encoders          []string
	quick, vsFFmpeg, noQuality   bool
	vmaf, noGPU                  bool
	anchor                       string
	runs, warmup, gpuIndex       int
	duration, threshold          float64
	density                      harness.DensityOptions
	farm                         bool
	farmOpts                     harness.FarmOptions
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark encoders, this machine or the farm: speed, latency, CPU, memory, energy and quality, repeated runs",
		Long: `bench runs scenarios (a source, the renditions to make of it, the codecs to make them with)
through the engine on every encoder this machine really opens: libx264 always, NVENC, QSV and
VAAPI where present (the others are listed as skipped, with libav's reason). Each case runs
once to warm up, then --runs times, each run in a process of its own, and reports the min,
median and max of fps, speed (× realtime), per-frame encode latency p50/p95/p99, CPU seconds
and peak RSS; where readable, GPU utilisation, encoder and decoder load, power and energy
per frame (NVML) and CPU energy (RAPL); and the quality of each rendition against its source
(PSNR, SSIM, and VMAF when libvmaf is in the build). The encoder that really ran is named.

--density searches, per encoder, how many live-paced sessions this machine sustains with a
realtime ratio (transcode time ÷ media time) at or under 0.8 (Livepeer's method).
--vs-ffmpeg also runs each software-encoder case through the same FFmpeg build's ffmpeg program with
equal settings and shows the ratio.

Sweep scenarios (rd-1080p, rd-720p30) encode one source at several bitrates per encoder; each
encoder's rate-quality curve is then compared with the --anchor encoder's (libx264 unless
said): Bjøntegaard delta rate and quality (BD-rate, BD-PSNR, and BD-VMAF with --vmaf), with
piecewise cubic interpolation, next to each encoder's fps.

It writes --out DIR: results.json (schema ` + harness.SchemaVersion + `, documented in doc/bench.md),
results.csv, summary.md, SVG charts (a rate-quality chart per sweep scenario: VMAF with --vmaf,
and PSNR) and report.html, the tables and charts in one page to send on. --baseline old.json
marks cases that got worse beyond --threshold and exits 5, so it can gate CI.

--farm --master URL submits the scenarios as jobs to every worker of a farm (or those with
--label k=v) and compares the nodes side by side.`,
		Example: `  ffrtmp bench --quick --out /tmp/bench
  ffrtmp bench --scenario 1080p30 --scenario ladder-1080p --runs 5 --vs-ffmpeg --out results/
  ffrtmp bench --scenarios my-scenarios.yaml --baseline results/results.json --out new/
  ffrtmp bench --scenario rd-1080p --encoder libx264,libx265,libsvtav1 --anchor libx264 --vmaf --runs 1
  ffrtmp bench --density --scenario live-720p30
  ffrtmp bench --farm --master https://farm:8080 --quick`,
		Args: cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "directory for results.json, results.csv, summary.md, the charts and report.html (default ./ffrtmp-bench-<time>)")
	fl.BoolVar(&f.quick, "quick", false, "small scenarios, 2 runs, a small density search: under a minute on 2 cores")
	fl.StringVar(&f.scenariosFile, "scenarios", "", "YAML file of scenarios (`scenarios:` list) instead of the built-in set")
	fl.StringArrayVar(&f.scenarios, "scenario", nil, "run only this scenario (repeat for several; see --list)")
	fl.StringSliceVar(&f.encoders, "encoder", nil, "run only these encoders (e.g. libx264,h264_nvenc)")
	fl.IntVar(&f.runs, "runs", 0, "measured runs per case (default 5, --quick 2; --farm: jobs per case and node, default 1)")
	fl.IntVar(&f.warmup, "warmup", 1, "unmeasured runs before them")
	fl.Float64Var(&f.duration, "duration", 0, "seconds of every synthetic source (default: the scenario's)")
	fl.BoolVar(&f.noQuality, "no-quality", false, "skip PSNR/SSIM")
	fl.BoolVar(&f.vmaf, "vmaf", false, "also VMAF (libvmaf: vmaf_v0.6.1, the 4K model above 1440 lines)")
	fl.StringVar(&f.anchor, "anchor", "libx264", "encoder the others are compared with in sweep scenarios (BD-rate, BD-PSNR, BD-VMAF); it runs even when --encoder leaves it out")
	fl.BoolVar(&f.vsFFmpeg, "vs-ffmpeg", false, "also run each software-encoder case (libx264, libx265, libsvtav1, libvpx-vp9) through the ffmpeg program of the same FFmpeg build")
	fl.BoolVar(&f.density.Enabled, "density", false, "search how many live sessions each encoder sustains (scenarios marked density)")
	fl.Float64Var(&f.density.Limit, "density-limit", 0.8, "highest realtime ratio (transcode ÷ media time) that counts as keeping up")
	fl.IntVar(&f.density.Max, "density-max", 32, "most sessions tried")
	fl.StringVar(&f.baseline, "baseline", "", "earlier results.json: mark regressions and exit 5 when there are any")
	fl.Float64Var(&f.threshold, "threshold", 0.10, "relative change that counts as a regression (fps, speed, latency, sessions)")
	fl.IntVar(&f.gpuIndex, "gpu-index", 0, "GPU whose NVML readings are sampled")
	fl.BoolVar(&f.noGPU, "no-gpu", false, "do not read NVML")
	fl.BoolVar(&f.farm, "farm", false, "run the scenarios as jobs on a farm's workers (--master)")
	fl.StringToStringVar(&f.farmOpts.Labels, "label", nil, "farm mode: only workers with these labels (k=v)")
	list := fl.Bool("list", false, "list the scenarios and exit")
	// Farm mode talks to a master like `ffrtmp jobs` does: --master, --api-key, TLS, config.
	addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		scs, err := f.scenarioSet()
		if err != nil {
			return err
		}
		if *list {
			return listScenarios(cmd.OutOrStdout(), scs)
		}
		if f.farm {
			return runFarmBench(cmd, f, scs)
		}
		return runBench(cmd, f, scs)
	}
	return cmd
}

// scenarioSet is the scenarios the flags select.
func (f *benchFlags) scenarioSet() ([]harness.Scenario, error) {
	if harness.CodecOf(f.anchor) == "" {
		return nil, usagef("--anchor %q: not an encoder ffrtmp offers", f.anchor)
	}
	all := harness.BuiltinScenarios()
	if f.quick {
		all = harness.QuickScenarios()
	}
	if f.scenariosFile != "" {
		var err error
		if all, err = harness.LoadScenarios(f.scenariosFile); err != nil {
			return nil, usageError{err}
		}
	}
	scs, err := harness.SelectScenarios(all, f.scenarios)
	if err != nil {
		return nil, usageError{err}
	}
	if len(f.encoders) > 0 {
		encoders := f.encoders
		if harness.CodecOf(f.anchor) != "" && !slices.Contains(encoders, f.anchor) {
			encoders = append(slices.Clone(encoders), f.anchor) // the curves need their anchor
		}
		for i := range scs {
			var keep []string
			for _, e := range encoders {
				if len(scs[i].Sweep) == 0 && e == f.anchor && !slices.Contains(f.encoders, e) {
					continue // the anchor only runs where it anchors a sweep
				}
				if harness.CodecOf(e) == "" {
					return nil, usagef("--encoder %q: not an encoder ffrtmp offers", e)
				}
				if slices.Contains(scs[i].Codecs, harness.CodecOf(e)) || slices.Contains(scs[i].Encoders, e) {
					keep = append(keep, e)
				}
			}
			scs[i].Codecs, scs[i].Encoders = nil, keep
		}
		scs = slices.DeleteFunc(scs, func(s harness.Scenario) bool { return len(s.Encoders) == 0 })
		if len(scs) == 0 {
			return nil, usagef("no scenario runs on --encoder %s", strings.Join(f.encoders, ","))
		}
	}
	return scs, nil
}

func (f *benchFlags) outDir() string {
	if f.out != "" {
		return f.out
	}
	return "ffrtmp-bench-" + time.Now().UTC().Format("20060102T150405Z")
}

func runBench(cmd *cobra.Command, f benchFlags, scs []harness.Scenario) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	opts := harness.Options{Scenarios: scs, Runs: f.runs, Warmup: f.warmup, Duration: f.duration, NoQuality: f.noQuality,
		VMAF: f.vmaf, VsFFmpeg: f.vsFFmpeg, Density: f.density, GPUIndex: f.gpuIndex, Command: os.Args, Version: version.Version}
	if f.quick {
		opts.Profile = "quick"
		if opts.Runs == 0 {
			opts.Runs = 2
		}
		opts.Density.Segments, opts.Density.SegmentSeconds = 2, 1
		if !cmd.Flags().Changed("density-max") {
			opts.Density.Max = 8
		}
		if !cmd.Flags().Changed("density") {
			opts.Density.Enabled = true // quick shows every part, density included
		}
	}
	var base *harness.Results
	if f.baseline != "" {
		var err error
		if base, err = harness.ReadResults(f.baseline); err != nil {
			return usageError{err}
		}
	}
	if !f.noGPU {
		if n, err := hw.OpenNVML(nil); err == nil {
			defer n.Close()
			opts.NVML = n
		}
	}
	bar := newBenchProgress(stderr)
	opts.Progress = bar.update
	res, err := harness.Run(ctx, opts)
	bar.finish()
	if res == nil {
		return err
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench stopped early: %v; writing what was measured\n", err)
	}
	return finishBench(cmd, f, res, base, err)
}

// finishBench compares with the baseline, writes the results and prints the summary.
func finishBench(cmd *cobra.Command, f benchFlags, res *harness.Results, base *harness.Results, runErr error) error {
	if base != nil {
		c := harness.Compare(res, base, f.threshold)
		c.File = f.baseline
		res.Baseline = &c
		res.Options.Threshold = f.threshold
	}
	res.BDRates = harness.BDRates(res, f.anchor)
	dir := f.outDir()
	paths, err := res.WriteDir(dir)
	if err != nil {
		return fmt.Errorf("write the results: %w", err)
	}
	out := cmd.OutOrStdout()
	writeBenchTable(out, res)
	fmt.Fprintf(out, "\nwrote %s\n", strings.Join(paths, "\n      "))
	if runErr != nil {
		return runErr
	}
	if res.Baseline != nil && res.Baseline.Failed() {
		for _, r := range res.Baseline.Regressions {
			fmt.Fprintf(cmd.ErrOrStderr(), "regression: %s %s %s: %.4g -> %.4g (%+.1f%%)\n", r.Case, r.Metric, r.Output, r.Baseline, r.Current, r.Change*100)
		}
		return regressionError{len(res.Baseline.Regressions)}
	}
	return nil
}

// writeBenchTable prints one line per case.
func writeBenchTable(w io.Writer, r *harness.Results) {
	t := table.New("CASE", "ENCODER", "FPS (min-max)", "SPEED", "P95 MS", "CPU S", "RSS MB", "PSNR", "SSIM", "VS FFMPEG")
	skipped := map[string]string{}
	var skippedOrder []string
	for _, c := range r.Cases {
		if c.Skipped != "" {
			if _, ok := skipped[c.Encoder]; !ok {
				skippedOrder = append(skippedOrder, c.Encoder)
			}
			skipped[c.Encoder] = c.Skipped
			continue
		}
		if c.Runs == 0 {
			t.Row(c.ID, c.Encoder, "failed: "+table.Fit(c.Error, 71))
			continue
		}
		psnr, ssim, vs := "-", "-", "-"
		if len(c.Quality) > 0 && c.Quality[0].Error == "" {
			psnr, ssim = fmt.Sprintf("%.2f", c.Quality[0].PSNR), fmt.Sprintf("%.4f", c.Quality[0].SSIM)
		}
		if c.FFmpeg != nil && c.FFmpeg.Ratio > 0 {
			vs = fmt.Sprintf("%.3f", c.FFmpeg.Ratio)
		}
		t.Row(c.ID, c.EncoderUsed, fmt.Sprintf("%.1f (%.1f-%.1f)", c.FPS.Median, c.FPS.Min, c.FPS.Max),
			fmt.Sprintf("%.2fx", c.Speed.Median), fmt.Sprintf("%.2f", c.Latency.P95.Median),
			fmt.Sprintf("%.2f", c.CPUSeconds.Median), fmt.Sprintf("%.0f", c.PeakRSS.Max/(1<<20)), psnr, ssim, vs)
	}
	_ = t.Write(w)
	for _, e := range skippedOrder {
		fmt.Fprintf(w, "skipped %s: %s\n", e, table.Fit(skipped[e], 101))
	}
	if len(r.BDRates) > 0 {
		fmt.Fprintf(w, "\nBD-rate against %s (negative: fewer bits for the same quality)\n", r.BDRates[0].Anchor)
		bt := table.New("SCENARIO", "ENCODER", "BD-RATE VMAF", "BD-VMAF", "BD-RATE PSNR", "BD-PSNR", "FPS", "NOTE")
		f := func(v *float64, unit string) string {
			if v == nil {
				return "-"
			}
			return fmt.Sprintf("%+.2f%s", *v, unit)
		}
		for _, d := range r.BDRates {
			bt.Row(d.Scenario, d.Encoder, f(d.RateVMAF, "%"), f(d.VMAF, ""), f(d.RatePSNR, "%"), f(d.PSNR, " dB"),
				fmt.Sprintf("%.1f", d.FPS), table.Fit(d.Error, 40))
		}
		_ = bt.Write(w)
	}
	for _, d := range r.Density {
		if d.Error != "" {
			fmt.Fprintf(w, "density %s/%s: %s\n", d.Scenario, d.Encoder, d.Error)
			continue
		}
		fmt.Fprintf(w, "density %s/%s: %d sessions at realtime ratio <= %.2f\n", d.Scenario, d.Encoder, d.MaxSessions, d.Limit)
	}
}

func listScenarios(w io.Writer, scs []harness.Scenario) error {
	t := table.New("SCENARIO", "SOURCE", "OUTPUTS", "CODECS", "DESCRIPTION")
	for _, s := range scs {
		src := s.Source.File
		if src == "" {
			src = fmt.Sprintf("%dx%d@%g %gs", s.Source.Width, s.Source.Height, s.Source.FPS, s.Source.Duration)
		}
		var outs []string
		for _, o := range s.Outputs {
			outs = append(outs, o.Name)
		}
		codecs := strings.Join(append(slices.Clone(s.Codecs), s.Encoders...), ",")
		t.Row(s.Name, src, strings.Join(outs, ","), codecs, s.Description)
	}
	return t.Write(w)
}

// benchProgress draws a bar per case on a terminal, and a line per finished case otherwise.
type benchProgress struct {
	w    io.Writer
	tty  bool
	last harness.Progress
	open bool
}

func newBenchProgress(w io.Writer) *benchProgress {
	_, tty := jobsTerminal(w)
	return &benchProgress{w: w, tty: tty}
}

func (b *benchProgress) update(p harness.Progress) {
	if p.Cases == 0 { // density steps
		b.endLine()
		fmt.Fprintf(b.w, "%s: %s\n", p.ID, p.Step)
		return
	}
	if b.tty {
		const width = 24
		n := int(p.Fraction * width)
		fmt.Fprintf(b.w, "\r\033[K[%d/%d] %-28s [%s%s] %s", p.Case, p.Cases, p.ID,
			strings.Repeat("#", n), strings.Repeat(".", width-n), p.Step)
		b.open = true
		if p.Step == "done" || p.Step == "skipped" {
			b.endLine()
		}
		return
	}
	if p.Step == "done" || p.Step == "skipped" {
		fmt.Fprintf(b.w, "[%d/%d] %s %s\n", p.Case, p.Cases, p.ID, p.Step)
	}
}

func (b *benchProgress) endLine() {
	if b.open {
		fmt.Fprintln(b.w)
		b.open = false
	}
}

func (b *benchProgress) finish() { b.endLine() }

// runFarmBench runs the scenarios on the farm's workers.
func runFarmBench(cmd *cobra.Command, f benchFlags, scs []harness.Scenario) error {
	c, err := connect(cmd)
	if err != nil {
		return err
	}
	var base *harness.Results
	if f.baseline != "" {
		if base, err = harness.ReadResults(f.baseline); err != nil {
			return usageError{err}
		}
	}
	f.farmOpts.Master = c.Master
	bar := newBenchProgress(cmd.ErrOrStderr())
	opts := harness.Options{Scenarios: scs, Duration: f.duration, Command: os.Args, Version: version.Version,
		Progress: bar.update}
	f.farmOpts.Runs = f.runs
	res, err := harness.RunFarm(cmd.Context(), c.Client, opts, f.farmOpts)
	bar.finish()
	if res == nil {
		return c.explain(err, "the farm")
	}
	if err := finishBench(cmd, f, res, base, err); err != nil {
		return err
	}
	writeFarmTable(cmd.OutOrStdout(), res.Farm)
	return nil
}

// writeFarmTable prints the nodes side by side.
func writeFarmTable(w io.Writer, fm *harness.Farm) {
	if fm == nil {
		return
	}
	t := table.New("NODE", "CASE", "STATUS", "ENCODER", "FPS (min-max)", "SPEED", "P95 MS")
	for _, n := range fm.Nodes {
		for _, c := range n.Cases {
			status := c.Status
			if status == "" {
				status = table.Fit(c.Error, 51)
			}
			t.Row(n.Name, c.Scenario, status, c.EncoderUsed, fmt.Sprintf("%.1f (%.1f-%.1f)", c.FPS, c.FPSMin, c.FPSMax),
				fmt.Sprintf("%.2fx", c.Speed), fmt.Sprintf("%.2f", c.P95ms))
		}
	}
	_ = t.Write(w)
	fmt.Fprintf(w, "farm: %d jobs (%d failed) in %.1f s, %.1f frames/s aggregate\n", fm.Jobs, fm.Failed, fm.Seconds, fm.FPS)
}
