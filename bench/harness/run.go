package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/bench/enginebench"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/hw"
)

// Options configure a bench run. Zero values take the defaults named.
type Options struct {
	Scenarios []Scenario
	// Profile is recorded in the results ("full", "quick").
	Profile string
	// Runs measured per case [5], after Warmup unmeasured ones [1].
	Runs   int
	Warmup int
	// Duration, when set, replaces every synthetic source's duration (seconds).
	Duration float64
	// NoQuality skips PSNR/SSIM(/VMAF); VMAF asks for VMAF where the build has libvmaf.
	NoQuality bool
	VMAF      bool
	// VsFFmpeg also runs each software-encoder case through FFmpeg's ffmpeg program.
	VsFFmpeg bool
	// Density runs density mode on the scenarios marked for it.
	Density DensityOptions
	// WorkDir holds sources and outputs while the bench runs [a temporary directory].
	WorkDir string
	// Exe is the binary whose ChildArg subcommand runs each measured run [this one].
	Exe string
	// NVML, when set, is sampled during runs (GPU GPUIndex).
	NVML     *hw.NVML
	GPUIndex int
	// RAPLRoot is where CPU energy counters are read [/sys/class/powercap].
	RAPLRoot string
	// Progress hears what the run is doing; nil: nothing.
	Progress func(Progress)
	Logger   *slog.Logger
	Command  []string
	// Version is ffrtmp's version for the results.
	Version string

	gpuIdleWatts float64 // measured before the cases
}

// Progress is a step of a bench run, for a progress display.
type Progress struct {
	Case, Cases int    // 1-based case number, and how many
	ID          string // case ID
	Step        string // "warm-up", "run 2/5", "quality", "ffmpeg 1/5", "done", "skipped"
	Fraction    float64
}

func (o *Options) defaults() {
	if o.Runs <= 0 {
		o.Runs = 5
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.RAPLRoot == "" {
		o.RAPLRoot = "/sys/class/powercap"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Progress == nil {
		o.Progress = func(Progress) {}
	}
	if o.Profile == "" {
		o.Profile = "full"
	}
}

// caseRun is one case to run: a scenario (with the sweep's bitrate) on one encoder.
type caseRun struct {
	id       string
	sc       Scenario
	encoder  string
	bitrate  spec.Bitrate // the sweep's, 0 when none
	skip     string
	srcPath  string
	srcRate  spec.Rate
	duration float64
}

// Run measures every case of opts.Scenarios and, when asked, density; it returns the results
// (also when a case failed: its Error says why). It fails only when nothing can run.
func Run(ctx context.Context, opts Options) (*Results, error) {
	opts.defaults()
	if opts.Exe == "" {
		exe, err := selfExe()
		if err != nil {
			return nil, fmt.Errorf("find the ffrtmp binary for the run processes: %w", err)
		}
		opts.Exe = exe
	}
	work := opts.WorkDir
	if work == "" {
		dir, err := os.MkdirTemp("", "ffrtmp-bench-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	r := &Results{Schema: SchemaVersion, Started: time.Now().UTC(), Profile: opts.Profile, Command: opts.Command,
		Machine: detectMachine(opts), Options: Settings{Runs: opts.Runs, Warmup: opts.Warmup, VsFFmpeg: opts.VsFFmpeg,
			Quality: !opts.NoQuality, Density: opts.Density.Enabled}}
	rp := openRAPL(opts.RAPLRoot)
	r.Machine.RAPL = rp != nil
	if opts.NVML != nil {
		// The GPU's draw with nothing running, so energy per frame can be read above it.
		gs := newGPUSampler(opts.NVML, opts.GPUIndex, 100*time.Millisecond)
		gs.start()
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		if g, ok := gs.finish(); ok {
			r.Machine.GPUIdleWatts, opts.gpuIdleWatts = g.watts, g.watts
		}
	}

	cases, err := planCases(opts)
	if err != nil {
		return nil, err
	}
	var ff *enginebench.FFmpeg
	if opts.VsFFmpeg {
		f, err := enginebench.FindFFmpeg(ctx)
		if err != nil {
			return nil, err
		}
		ff = &f
	}
	sources := newSourceCache(filepath.Join(work, "sources"))
	for i := range cases {
		c := &cases[i]
		step := func(s string, frac float64) {
			opts.Progress(Progress{Case: i + 1, Cases: len(cases), ID: c.id, Step: s, Fraction: frac})
		}
		if c.skip != "" {
			step("skipped", 1)
			r.Cases = append(r.Cases, c.result())
			continue
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		src, rate, dur, err := sources.get(ctx, c.sc.Source, opts.Duration)
		if err != nil {
			res := c.result()
			res.Error = err.Error()
			r.Cases = append(r.Cases, res)
			continue
		}
		c.srcPath, c.srcRate, c.duration = src, rate, dur
		res := runCase(ctx, c, opts, filepath.Join(work, "runs"), rp, ff, step)
		step("done", 1)
		r.Cases = append(r.Cases, res)
	}
	if opts.Density.Enabled {
		r.Density = runDensity(ctx, opts, cases, sources, work)
	}
	r.Finished = time.Now().UTC()
	return r, nil
}

// planCases expands the scenarios into cases, marking those whose encoder does not open
// here as skipped (with libav's reason).
func planCases(opts Options) ([]caseRun, error) {
	probed := map[string]string{}
	canOpen := func(enc string) string {
		if why, ok := probed[enc]; ok {
			return why
		}
		why := ""
		if err := engine.ProbeEncoder(enc, ""); err != nil {
			why = err.Error()
		}
		probed[enc] = why
		return why
	}
	out, err := expandCases(opts.Scenarios)
	if err != nil {
		return nil, err
	}
	devices := map[string]string{}
	for i := range out {
		c := &out[i]
		if d := c.sc.Hardware; d != "" {
			if _, ok := devices[d]; !ok {
				devices[d] = ""
				if err := engine.ProbeDevice(d, ""); err != nil {
					devices[d] = err.Error()
				}
			}
			if devices[d] != "" {
				c.skip = devices[d]
				continue
			}
		}
		c.skip = canOpen(c.encoder)
	}
	if len(out) == 0 {
		return nil, errNoCases
	}
	return out, nil
}

// expandCases turns scenarios into cases: each sweep bitrate (or none) on each encoder.
func expandCases(scs []Scenario) ([]caseRun, error) {
	var out []caseRun
	for _, sc := range scs {
		if err := sc.check(); err != nil {
			return nil, err
		}
		sweep := sc.Sweep
		if len(sweep) == 0 {
			sweep = []spec.Bitrate{0}
		}
		for _, b := range sweep {
			for _, enc := range sc.encoders() {
				id := sc.Name
				if b > 0 {
					id += "@" + b.String()
				}
				out = append(out, caseRun{id: id + "/" + enc, sc: sc, encoder: enc, bitrate: b})
			}
		}
	}
	return out, nil
}

// outputs are the engine outputs of c, written into dir.
func (c *caseRun) outputs(dir string) []spec.Output {
	fam, _ := family(c.encoder)
	preset, ok := c.sc.Presets[fam]
	if !ok {
		preset = DefaultPresets[fam]
	}
	var outs []spec.Output
	first := c.sc.Outputs[0].Bitrate
	for _, o := range c.sc.Outputs {
		v := &spec.Video{Codec: c.encoder, Width: o.Width, Height: o.Height, Preset: preset, CRF: o.CRF}
		if o.FPS > 0 {
			v.FPS = spec.Rate{Num: int(o.FPS * 1000), Den: 1000}
		}
		if b := o.Bitrate; b > 0 {
			if c.bitrate > 0 && first > 0 {
				b = spec.Bitrate(float64(c.bitrate) * float64(o.Bitrate) / float64(first))
			}
			// Capped VBR with a one-second buffer: what live and ABR ladders use.
			v.Bitrate, v.MaxRate, v.BufSize = b, b, b
		}
		outs = append(outs, spec.Output{Name: o.Name, Container: "mp4", Target: filepath.Join(dir, o.Name+".mp4"),
			Video: v, Audio: &spec.Audio{Codec: "none"}})
	}
	return outs
}

func (c *caseRun) spec(dir string) spec.Spec {
	s := spec.Spec{Input: spec.Input{URL: c.srcPath}, Outputs: c.outputs(dir)}
	dev := c.sc.Hardware
	if _, d := family(c.encoder); d != "" {
		dev = d
	}
	if dev != "" {
		// require: a hardware case that cannot run on the hardware fails rather than
		// measuring software under the hardware's name.
		s.Hardware = spec.Hardware{Mode: spec.HardwareRequire, Device: dev}
	}
	return s
}

// result is c's Case with what the scenario says, before any measurement.
func (c *caseRun) result() Case {
	fam, _ := family(c.encoder)
	preset, ok := c.sc.Presets[fam]
	if !ok {
		preset = DefaultPresets[fam]
	}
	res := Case{ID: c.id, Scenario: c.sc.Name, Encoder: c.encoder, Codec: CodecOf(c.encoder), Preset: preset, Skipped: c.skip,
		Hardware: c.sc.Hardware}
	src := c.sc.Source
	res.Source = Source{Kind: "synthetic", Width: src.Width, Height: src.Height, FPS: src.FPS, Duration: c.duration}
	if src.File != "" {
		res.Source.Kind, res.Source.File = "file", src.File
	}
	var rc []string
	for _, o := range c.outputs("") {
		v := o.Video
		res.Outputs = append(res.Outputs, Rendition{Name: o.Name, Width: v.Width, Height: v.Height, Bitrate: int64(v.Bitrate), CRF: v.CRF})
		if v.Bitrate > 0 {
			rc = append(rc, "vbr "+v.Bitrate.String())
		} else {
			rc = append(rc, fmt.Sprintf("crf %d", v.CRF))
		}
	}
	res.RateControl = strings.Join(rc, ", ")
	return res
}

// runCase warms up, measures opts.Runs runs, then measures the last run's quality. With
// ffmpeg, each round also runs the same work through the ffmpeg program, alternating which
// goes first, so machine noise hits both alike.
func runCase(ctx context.Context, c *caseRun, opts Options, runs string, rp *rapl, ff *enginebench.FFmpeg, step func(string, float64)) Case {
	res := c.result()
	var vs *ffmpegRuns
	if ff != nil {
		vs = newFFmpegRuns(c, *ff, filepath.Join(runs, safeName(c.id), "ffmpeg"))
		res.FFmpeg = &vs.VsFFmpeg
	}
	total := float64(opts.Warmup + opts.Runs + 1)
	var last string
	for i := range opts.Warmup + opts.Runs {
		warm := i < opts.Warmup
		if warm {
			step("warm-up", float64(i)/total)
		} else {
			step(fmt.Sprintf("run %d/%d", i-opts.Warmup+1, opts.Runs), float64(i)/total)
		}
		if vs != nil && i%2 == 1 {
			vs.run(ctx, warm)
		}
		dir := filepath.Join(runs, safeName(c.id), fmt.Sprint(i))
		if last != "" && last != dir {
			os.RemoveAll(last)
		}
		s, out, err := measureRun(ctx, opts, c.spec(dir), rp)
		last = dir
		if vs != nil && i%2 == 0 {
			vs.run(ctx, warm)
		}
		if err != nil {
			res.Error = err.Error()
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if warm {
			continue
		}
		res.Samples = append(res.Samples, s)
		res.Frames = out.Result.Frames
		res.Decoder, res.DecoderHardware = out.Result.Decoder.Video, out.Result.Decoder.Hardware
		if len(out.Result.Outputs) > 0 {
			res.EncoderUsed = out.Result.Outputs[0].VideoEncoder
		}
	}
	defer os.RemoveAll(filepath.Join(runs, safeName(c.id)))
	if len(res.Samples) == 0 {
		return res
	}
	if len(res.Samples) == opts.Runs {
		res.Error = "" // a warm-up hiccup is not the case's result when every run succeeded
	}
	res.Runs = len(res.Samples)
	summarize(&res, opts.gpuIdleWatts)
	if vs != nil {
		vs.finish(res)
	}
	if !opts.NoQuality {
		step("quality", float64(opts.Warmup+opts.Runs)/total)
		res.Quality = measureQuality(ctx, c, last, opts.VMAF)
	}
	return res
}

// measureRun runs spec in a process of its own and reads what it used.
func measureRun(ctx context.Context, opts Options, s spec.Spec, rp *rapl) (Sample, childResult, error) {
	if err := os.MkdirAll(filepath.Dir(s.Outputs[0].Target), 0o755); err != nil {
		return Sample{}, childResult{}, err
	}
	req, _ := json.Marshal(childRequest{Spec: s})
	cmd := exec.CommandContext(ctx, opts.Exe, ChildArg)
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var gs *gpuSampler
	if opts.NVML != nil {
		gs = newGPUSampler(opts.NVML, opts.GPUIndex, 100*time.Millisecond)
		gs.start()
	}
	var e0 []float64
	if rp != nil {
		e0 = rp.read()
	}
	t0 := time.Now()
	runErr := cmd.Run()
	wall := time.Since(t0)
	var out childResult
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil && runErr == nil {
		runErr = fmt.Errorf("run process answered %q: %w", truncate(stdout.String(), 200), err)
	}
	var g gpuRun
	var gok bool
	if gs != nil {
		g, gok = gs.finish()
	}
	if out.Error != "" {
		return Sample{}, out, errors.New(out.Error)
	}
	if runErr != nil {
		return Sample{}, out, fmt.Errorf("run process: %w: %s", runErr, truncate(strings.TrimSpace(stderr.String()), 500))
	}
	s2 := Sample{Seconds: wall.Seconds(), P50ms: out.P50ms, P95ms: out.P95ms, P99ms: out.P99ms}
	if wall > 0 {
		s2.FPS = float64(out.Result.Frames) / wall.Seconds()
		if out.Result.Speed > 0 && out.Result.Elapsed > 0 {
			// media seconds = engine speed × engine elapsed; over the process's wall time
			s2.Speed = out.Result.Speed * out.Result.Elapsed.Seconds() / wall.Seconds()
		}
	}
	for i, o := range out.Result.Outputs {
		if o.Frames == 0 || wall <= 0 || i >= len(s.Outputs) {
			continue
		}
		rate := out.Result.Input.FPS
		if v := s.Outputs[i].Video; v != nil && !v.FPS.IsZero() {
			rate = v.FPS.Float()
		}
		rs := RenditionSample{Name: o.Name, FPS: float64(o.Frames) / wall.Seconds()}
		if rate > 0 {
			rs.Speed = float64(o.Frames) / rate / wall.Seconds()
		}
		if l, ok := out.Outputs[o.Name]; ok {
			rs.P50ms, rs.P95ms, rs.P99ms = l.P50, l.P95, l.P99
		}
		s2.Outputs = append(s2.Outputs, rs)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s2.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
		s2.PeakRSS = ru.Maxrss * 1024 // KiB on Linux; an upper bound (see peakRSS)
	}
	if out.PeakRSS > 0 {
		s2.PeakRSS = out.PeakRSS
	}
	if rp != nil {
		j := rp.joules(e0, rp.read())
		s2.CPUJoules = &j
	}
	if gok {
		s2.GPUUtil, s2.GPUEncUtil, s2.GPUDecUtil, s2.GPUWatts, s2.GPUMemoryMB, s2.GPUJoules = &g.util, &g.enc, &g.dec, &g.watts, &g.memMB, &g.joules
	}
	return s2, out, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// summarize fills the case's stats from its samples; idleWatts is the GPU's idle draw.
func summarize(c *Case, idleWatts float64) {
	col := func(f func(Sample) float64) Stat {
		xs := make([]float64, len(c.Samples))
		for i, s := range c.Samples {
			xs[i] = f(s)
		}
		return stat(xs)
	}
	c.FPS = col(func(s Sample) float64 { return s.FPS })
	c.Speed = col(func(s Sample) float64 { return s.Speed })
	c.CPUSeconds = col(func(s Sample) float64 { return s.CPUSeconds })
	c.PeakRSS = col(func(s Sample) float64 { return float64(s.PeakRSS) })
	c.Latency = Latency{P50: col(func(s Sample) float64 { return s.P50ms }),
		P95: col(func(s Sample) float64 { return s.P95ms }), P99: col(func(s Sample) float64 { return s.P99ms })}
	for i := range c.Outputs {
		r := &c.Outputs[i]
		var fps, speed, p50, p95, p99 []float64
		for _, s := range c.Samples {
			for _, o := range s.Outputs {
				if o.Name == r.Name {
					fps, speed = append(fps, o.FPS), append(speed, o.Speed)
					p50, p95, p99 = append(p50, o.P50ms), append(p95, o.P95ms), append(p99, o.P99ms)
				}
			}
		}
		if len(fps) > 0 {
			f, sp := stat(fps), stat(speed)
			r.FPS, r.Speed, r.Latency = &f, &sp, &Latency{P50: stat(p50), P95: stat(p95), P99: stat(p99)}
		}
	}
	frames := float64(max(c.Frames, 1))
	optional := func(f func(Sample) *float64) *Stat {
		var xs []float64
		for _, s := range c.Samples {
			if v := f(s); v != nil {
				xs = append(xs, *v)
			}
		}
		if len(xs) == 0 {
			return nil
		}
		st := stat(xs)
		return &st
	}
	c.CPUJoulesPerFrame = optional(func(s Sample) *float64 {
		if s.CPUJoules == nil {
			return nil
		}
		v := *s.CPUJoules / frames
		return &v
	})
	if util := optional(func(s Sample) *float64 { return s.GPUUtil }); util != nil {
		c.GPU = &GPUUse{Utilization: *util,
			EncoderUtilization: *optional(func(s Sample) *float64 { return s.GPUEncUtil }),
			DecoderUtilization: *optional(func(s Sample) *float64 { return s.GPUDecUtil }),
			PowerWatts:         *optional(func(s Sample) *float64 { return s.GPUWatts }),
			MemoryUsedMB:       *optional(func(s Sample) *float64 { return s.GPUMemoryMB }),
			JoulesPerFrame: *optional(func(s Sample) *float64 {
				v := *s.GPUJoules / frames
				return &v
			}),
			ExcessJoulesPerFrame: *optional(func(s Sample) *float64 {
				v := max(0, *s.GPUJoules-idleWatts*s.Seconds) / frames
				return &v
			})}
	}
}

// measureQuality compares each output of the run in dir with the source.
func measureQuality(ctx context.Context, c *caseRun, dir string, vmaf bool) []Quality {
	var out []Quality
	for _, o := range c.outputs(dir) {
		q, err := engine.MeasureQuality(ctx, spec.Input{URL: o.Target}, spec.Input{URL: c.srcPath}, engine.QualityOptions{VMAF: vmaf})
		if err != nil {
			out = append(out, Quality{Output: o.Name, Error: err.Error()})
			continue
		}
		qq := Quality{Output: o.Name, PSNR: q.PSNR, PSNRY: q.PSNRY, SSIM: q.SSIM, VMAF: q.VMAF}
		if fi, err := os.Stat(o.Target); err == nil && c.duration > 0 {
			qq.Bitrate = float64(fi.Size()) * 8 / c.duration
		}
		out = append(out, qq)
	}
	return out
}

// ffmpegRuns runs a case's work through the ffmpeg program with the engine's settings.
type ffmpegRuns struct {
	VsFFmpeg
	ff       enginebench.FFmpeg
	args     []string
	wall     []float64
	cpu      []float64
	disabled bool
}

func newFFmpegRuns(c *caseRun, ff enginebench.FFmpeg, dir string) *ffmpegRuns {
	r := &ffmpegRuns{ff: ff}
	// The engine fills in defaults (the 2 s GOP...) when it normalizes a spec; ffmpeg must
	// get the same values.
	ns, err := c.spec(dir).Normalize()
	if err == nil && ns.Hardware.Mode == spec.HardwareRequire {
		err = fmt.Errorf("the ffmpeg comparison mirrors software cases only, not decoding or encoding on %s", ns.Hardware.Device)
	}
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		r.Error, r.disabled = err.Error(), true
		return r
	}
	outs := ns.Outputs
	targets := make([]string, len(outs))
	for i, o := range outs {
		targets[i] = o.Target
	}
	if len(outs) == 1 {
		r.args, err = enginebench.SingleOutputArgs(c.srcPath, outs[0], c.srcRate, targets[0])
	} else {
		r.args, err = enginebench.SplitArgs(c.srcPath, outs, c.srcRate, targets)
	}
	if err != nil {
		r.Error, r.disabled = err.Error(), true
		return r
	}
	r.Command = ff.CommandLine(r.args)
	return r
}

// run runs ffmpeg once; a warm-up run is not recorded. The first failure stops the
// comparison and is recorded.
func (r *ffmpegRuns) run(ctx context.Context, warm bool) {
	if r.disabled {
		return
	}
	cmd := exec.CommandContext(ctx, r.ff.Path, r.args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		r.Error = fmt.Sprintf("ffmpeg: %v: %s", err, truncate(strings.TrimSpace(stderr.String()), 500))
		r.disabled = true
		return
	}
	if warm {
		return
	}
	r.wall = append(r.wall, time.Since(t0).Seconds())
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = append(r.cpu, tv(ru.Utime)+tv(ru.Stime))
	}
}

// finish turns the runs into fps (the engine's frame count ÷ ffmpeg's wall time) and the
// ratio against the case's median fps.
func (r *ffmpegRuns) finish(c Case) {
	if len(r.wall) == 0 {
		return
	}
	fps := make([]float64, len(r.wall))
	for i, w := range r.wall {
		fps[i] = float64(c.Frames) / w
	}
	r.FPS, r.CPUSeconds = stat(fps), stat(r.cpu)
	if r.FPS.Median > 0 {
		r.Ratio = c.FPS.Median / r.FPS.Median
	}
}

// safeName is id as a file name that needs no quoting in a shell, a URL or a Markdown link:
// a rune other than an ASCII letter, digit, '.', '-' or '_' becomes '_'.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(".-_", r) {
			return r
		}
		return '_'
	}, id)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
