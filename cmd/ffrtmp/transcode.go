package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/spf13/cobra"
)

// transcodeFlags are the flags of `ffrtmp transcode`.
type transcodeFlags struct {
	input, output, synthetic, specFile            string
	duration                                      float64
	vcodec, acodec, size, preset, profile, pixFmt string
	bitrate, maxrate, bufsize, abitrate           string
	fps, format, ladder, hw, hwDevice             string
	crf                                           int
	gop, segment, inputTimeout                    float64
	hls, jsonOut, quiet                           bool
	maxDecodeErrors                               int
}

func newTranscodeCmd() *cobra.Command {
	var f transcodeFlags
	cmd := &cobra.Command{
		Use:   "transcode -i INPUT -o OUTPUT [flags]",
		Short: "Transcode one input into one output or an ABR ladder, locally (no master)",
		Long: `Transcode decodes the input once and encodes every output from it, in this process.

The output container follows the -o extension (.mp4 .mkv .ts .flv), rtmp:// pushes FLV, and a
path without an extension (or --hls) is a folder of HLS playlists. --ladder writes one rendition
per rung with keyframes at the same timestamps; with --hls the folder gets a master playlist.`,
		Example: `  ffrtmp transcode -i in.mp4 -o out.mp4 --vcodec libx264 --preset veryfast --bitrate 3M --size 1280x720
  ffrtmp transcode -i in.mp4 -o outdir --ladder 1080p,720p,480p --hls
  ffrtmp transcode --synthetic 1920x1080@30 --duration 10 -o demo --ladder 1080p,720p,480p --hls
  ffrtmp transcode --spec job.json --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := f.spec(cmd)
			if err != nil {
				return err
			}
			engine.TuneProcess()
			return transcode(cmd, spec, f.jsonOut, f.quiet)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.input, "input", "i", "", "input file or URL (file, http(s)://, rtmp://)")
	fl.StringVarP(&f.output, "output", "o", "", "output file, folder (HLS, ladders) or rtmp:// URL")
	fl.StringVar(&f.synthetic, "synthetic", "", "use a synthetic test source instead of -i: WxH[@FPS], e.g. 1920x1080@30")
	fl.Float64Var(&f.duration, "duration", 10, "length of the synthetic source in seconds")
	fl.StringVar(&f.specFile, "spec", "", "run the engine Spec in this JSON file (no other encoding flags)")
	fl.StringVar(&f.vcodec, "vcodec", "libx264", "video codec: "+strings.Join(spec.VideoCodecs(), ", "))
	fl.StringVar(&f.acodec, "acodec", "aac", "audio codec: aac, opus, copy, none")
	fl.StringVar(&f.size, "size", "", "output size WxH (W or H may be 0 to keep the aspect ratio)")
	fl.StringVar(&f.bitrate, "bitrate", "", "video bitrate, e.g. 3M or 800k")
	fl.StringVar(&f.maxrate, "maxrate", "", "video max bitrate (capped VBR)")
	fl.StringVar(&f.bufsize, "bufsize", "", "rate-control buffer size")
	fl.IntVar(&f.crf, "crf", 0, "constant quality instead of a bitrate (libx264/libx265 0..51, libsvtav1/libvpx-vp9 0..63, hardware CQ)")
	fl.StringVar(&f.preset, "preset", "", "encoder preset (libx264/libx265: ultrafast..placebo; libsvtav1: 0..13; libvpx-vp9: cpu-used 0..8; nvenc: p1..p7)")
	fl.StringVar(&f.profile, "profile", "", "encoder profile (baseline, main, high, main10...)")
	fl.StringVar(&f.pixFmt, "pix-fmt", "", "pixel format: yuv420p (8-bit) or yuv420p10le (10-bit: libx265, libsvtav1, libvpx-vp9)")
	fl.StringVar(&f.fps, "fps", "", "output frame rate (30, 29.97, 30000/1001); default: the source's")
	fl.Float64Var(&f.gop, "gop", 2, "keyframe interval in seconds, aligned across renditions")
	fl.StringVar(&f.abitrate, "abitrate", "", "audio bitrate (default 128k, or the ladder rung's)")
	fl.StringVarP(&f.format, "format", "f", "", "output container: "+strings.Join(spec.Containers(), ", ")+" (default from -o; dash and cmaf: CMAF segments with a DASH manifest, cmaf an HLS master playlist too)")
	fl.StringVar(&f.ladder, "ladder", "", "ABR ladder rungs, e.g. 1080p,720p,480p (known: "+strings.Join(spec.RungNames(), ", ")+")")
	fl.BoolVar(&f.hls, "hls", false, "write HLS (media playlists, segments and a master playlist) into the -o folder")
	fl.Float64Var(&f.segment, "segment", 0, "segment length in seconds for hls, dash and cmaf (default: the GOP)")
	fl.StringVar(&f.hw, "hw", "none", "hardware: none, auto (use --hw-device when it works) or require")
	fl.StringVar(&f.hwDevice, "hw-device", "cuda", "hardware device kind: cuda, qsv, vaapi")
	fl.IntVar(&f.maxDecodeErrors, "max-decode-errors", 0, "corrupt packets to tolerate before failing")
	fl.Float64Var(&f.inputTimeout, "input-timeout", 10, "seconds a network input may send nothing before the run fails")
	fl.BoolVar(&f.jsonOut, "json", false, "print progress and the result as JSON lines on stdout")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors")
	return cmd
}

// encodingFlags are the flags that describe the job and so cannot be combined with --spec.
var encodingFlags = []string{"input", "output", "synthetic", "duration", "vcodec", "acodec", "size",
	"bitrate", "maxrate", "bufsize", "crf", "preset", "profile", "pix-fmt", "fps", "gop", "abitrate", "format",
	"ladder", "hls", "segment", "hw", "hw-device", "max-decode-errors", "input-timeout"}

// spec builds the engine Spec from the flags (or the --spec file).
func (f *transcodeFlags) spec(cmd *cobra.Command) (spec.Spec, error) {
	if f.specFile != "" {
		for _, name := range encodingFlags {
			if cmd.Flags().Changed(name) {
				return spec.Spec{}, usagef("--spec cannot be combined with --%s: put it in the spec file", name)
			}
		}
		return readSpecFile(f.specFile)
	}
	var s spec.Spec
	switch {
	case f.input != "" && f.synthetic != "":
		return s, usagef("use either -i or --synthetic, not both")
	case f.synthetic != "":
		syn, err := parseSynthetic(f.synthetic, f.duration)
		if err != nil {
			return s, usageError{err}
		}
		s.Input.Synthetic = syn
	case f.input != "":
		s.Input.URL = f.input
	default:
		return s, usagef("no input: give -i INPUT or --synthetic WxH (see 'ffrtmp transcode --help')")
	}
	s.Input.MaxDecodeErrors = f.maxDecodeErrors
	if f.inputTimeout <= 0 {
		return s, usagef("--input-timeout %g: want a number of seconds above 0", f.inputTimeout)
	}
	s.Input.TimeoutSeconds = f.inputTimeout
	if f.output == "" {
		return s, usagef("no output: give -o OUTPUT")
	}
	v := &spec.Video{Codec: f.vcodec, CRF: f.crf, Preset: f.preset, Profile: f.profile, PixFmt: f.pixFmt, GOP: f.gop}
	var err error
	if f.size != "" {
		if v.Width, v.Height, err = parseSize(f.size); err != nil {
			return s, usageError{err}
		}
	}
	for _, b := range []struct {
		flag, val string
		dst       *spec.Bitrate
	}{{"bitrate", f.bitrate, &v.Bitrate}, {"maxrate", f.maxrate, &v.MaxRate}, {"bufsize", f.bufsize, &v.BufSize}} {
		if b.val == "" {
			continue
		}
		if *b.dst, err = spec.ParseBitrate(b.val); err != nil {
			return s, usagef("--%s: %v", b.flag, err)
		}
	}
	if f.fps != "" {
		if v.FPS, err = spec.ParseRate(f.fps); err != nil {
			return s, usagef("--fps: %v", err)
		}
	}
	a := &spec.Audio{Codec: f.acodec}
	if f.abitrate != "" {
		if a.Bitrate, err = spec.ParseBitrate(f.abitrate); err != nil {
			return s, usagef("--abitrate: %v", err)
		}
	}
	base := spec.Output{Target: f.output, Container: f.format, Video: v, Audio: a}
	if f.hls {
		if f.format != "" && f.format != "hls" {
			return s, usagef("--hls conflicts with --format %s", f.format)
		}
		base.Container = "hls"
	}
	if f.segment > 0 {
		base.HLS = &spec.HLS{SegmentSeconds: f.segment}
	}
	if f.ladder != "" {
		if f.size != "" || f.bitrate != "" {
			return s, usagef("--ladder sets each rung's size and bitrate: drop --size/--bitrate")
		}
		if base.Container == "" {
			base.Container = "mp4"
			if spec.ContainerFor(f.output) == "hls" && f.hls {
				base.Container = "hls"
			}
		}
		if s.Outputs, err = spec.LadderOutputs(f.ladder, base); err != nil {
			return s, usageError{err}
		}
	} else {
		if base.Container == "" && spec.ContainerFor(f.output) == "" {
			return s, usagef("cannot tell the container of %q: give --format (%s)", f.output, strings.Join(spec.Containers(), ", "))
		}
		s.Outputs = []spec.Output{base}
	}
	s.Hardware = spec.Hardware{Mode: f.hw, Device: f.hwDevice}
	if f.hw == "none" {
		s.Hardware.Device = ""
	}
	return s, nil
}

// readSpecFile decodes a Spec strictly: an unknown field is a mistake worth an error.
func readSpecFile(path string) (spec.Spec, error) {
	var s spec.Spec
	b, err := os.ReadFile(path)
	if err != nil {
		return s, usagef("--spec: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, usagef("--spec %s: %v", path, err)
	}
	if dec.More() {
		return s, usagef("--spec %s: more than one JSON value", path)
	}
	return s, nil
}

func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w < 0 || h < 0 || (w == 0 && h == 0) {
		return 0, 0, fmt.Errorf("size %q: want WxH, e.g. 1280x720 (0 for one side keeps the aspect ratio)", s)
	}
	return w, h, nil
}

func parseSynthetic(s string, duration float64) (*spec.Synthetic, error) {
	size, rate, hasRate := strings.Cut(s, "@")
	w, h, err := parseSize(size)
	if err != nil || w == 0 || h == 0 {
		return nil, fmt.Errorf("--synthetic %q: want WxH[@FPS], e.g. 1920x1080@30", s)
	}
	syn := &spec.Synthetic{Width: w, Height: h, Duration: duration}
	if hasRate {
		if syn.FPS, err = spec.ParseRate(rate); err != nil {
			return nil, fmt.Errorf("--synthetic: %w", err)
		}
	}
	return syn, nil
}

// transcode runs spec, reporting progress and the result.
func transcode(cmd *cobra.Command, spec spec.Spec, jsonOut, quiet bool) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var rep reporter
	switch {
	case jsonOut:
		rep = &jsonReporter{w: stdout}
	case quiet:
		rep = nopReporter{}
	default:
		rep = newTextReporter(stderr, stdout)
	}
	// A first Ctrl-C (or SIGTERM) cancels the run: the engine stops within about a second and
	// removes its partial outputs, also when libav is stuck in a system call. A second one
	// ends the process at once.
	ran := make(chan struct{})
	defer close(ran)
	stopWatch := context.AfterFunc(cmd.Context(), func() {
		forceStopOnSecondSignal(stderr, "second interrupt: stopping now (partial outputs may be left)", ran)
	})
	defer stopWatch()
	res, err := engine.Run(cmd.Context(), spec, rep)
	if err != nil {
		rep.failed(err)
		if engine.KindOf(err) == engine.KindSpec {
			return usageError{err}
		}
		if jsonOut {
			// The JSON error event said it; keep stderr to one line for scripts.
			return errors.New(firstLine(err.Error()))
		}
		return err
	}
	rep.done(res)
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// reporter is an engine.Observer that also reports how the run ended.
type reporter interface {
	engine.Observer
	done(engine.Result)
	failed(error)
}

type nopReporter struct{}

func (nopReporter) OnFrame(engine.FrameStats)  {}
func (nopReporter) OnProgress(engine.Progress) {}
func (nopReporter) done(engine.Result)         {}
func (nopReporter) failed(error)               {}
