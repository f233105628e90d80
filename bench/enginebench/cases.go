package enginebench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"golang.org/x/sync/errgroup"
)

// dirPlaceholder stands for a run's output folder in the command lines of the report.
const dirPlaceholder = "$DIR"

// knownCases lists the cases Cases knows, with their names.
var knownCases = []struct{ ID, Name string }{
	{"1", "720p"},
	{"2", "ladder"},
	{"3", "metrics"},
}

// CaseID returns the number of the case named by id (a number or a name: 1 720p, 2 ladder, 3 metrics).
func CaseID(id string) (string, error) {
	id = strings.TrimSpace(id)
	var known []string
	for _, k := range knownCases {
		if id == k.ID || id == k.Name {
			return k.ID, nil
		}
		known = append(known, k.ID+" ("+k.Name+")")
	}
	return "", fmt.Errorf("unknown case %q: known are %s", id, strings.Join(known, ", "))
}

// Cases returns the cases named in ids (numbers or names, see CaseID), in that order.
func Cases(ids []string, src Source, ff FFmpeg) ([]Case, error) {
	var cases []Case
	for _, id := range ids {
		n, err := CaseID(id)
		if err != nil {
			return nil, err
		}
		var c Case
		switch n {
		case "1":
			c, err = transcodeCase(src, ff)
		case "2":
			c, err = ladderCase(src, ff)
		case "3":
			c = metricsCase(src)
		}
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// Rendition720p is case 1's output: 720p libx264 veryfast at 3 Mb/s, AAC 128k, in mp4. The
// engine's defaults (2 s GOP, 48 kHz stereo) are spelled out so the ffmpeg side reads them
// from the same values.
func Rendition720p(target string) spec.Output {
	return spec.Output{
		Name: "720p", Container: "mp4", Target: target,
		Video: &spec.Video{Codec: "libx264", Width: 1280, Height: 720, Preset: "veryfast", Bitrate: 3_000_000, GOP: 2},
		Audio: &spec.Audio{Codec: "aac", Bitrate: 128_000, Channels: 2, SampleRate: 48000},
	}
}

// ladder is case 2's outputs: the project's 1080p, 720p and 480p rungs (capped VBR) with
// libx264 veryfast, each into its own mp4 in dir.
func ladder(dir string) ([]spec.Output, error) {
	return spec.LadderOutputs("1080p,720p,480p", spec.Output{
		Container: "mp4", Target: dir,
		Video: &spec.Video{Codec: "libx264", Preset: "veryfast", GOP: 2},
		Audio: &spec.Audio{Codec: "aac", Channels: 2, SampleRate: 48000},
	})
}

// engineVariant runs the outputs through one engine.Run; with metrics, an Observer records
// every frame's stats.
func engineVariant(name string, src Source, outputs func(dir string) ([]spec.Output, error), metrics bool) Variant {
	// An error here recurs, and is reported, when Run builds the outputs.
	outs, _ := outputs(dirPlaceholder)
	var names []string
	var files []string
	for _, o := range outs {
		size := fmt.Sprintf("%dx%d", o.Video.Width, o.Video.Height)
		if o.Video.Width == 0 {
			size = fmt.Sprintf("height %d", o.Video.Height)
		}
		rate := o.Video.Bitrate.String()
		if o.Video.MaxRate > 0 {
			rate += fmt.Sprintf(" (max %s, buffer %s)", o.Video.MaxRate, o.Video.BufSize)
		}
		names = append(names, fmt.Sprintf("%s: %s %s %s %s + aac %s, %s", o.Name, size,
			o.Video.Codec, o.Video.Preset, rate, o.Audio.Bitrate, o.Container))
		files = append(files, filepath.Base(o.Target))
	}
	cmd := fmt.Sprintf("engine.Run(%s -> %s)", src.Path, strings.Join(names, "; "))
	if metrics {
		cmd += " with an Observer recording every FrameStats"
	}
	return Variant{
		Name: name, Command: cmd, Outputs: files,
		Run: func(ctx context.Context, dir string) error {
			outs, err := outputs(dir)
			if err != nil {
				return err
			}
			var obs engine.Observer
			rec := &frameRecorder{}
			if metrics {
				obs = rec
			}
			res, err := engine.Run(ctx, spec.Spec{Input: spec.Input{URL: src.Path}, Outputs: outs}, obs)
			if err != nil {
				return err
			}
			for _, or := range res.Outputs {
				if or.Frames == 0 {
					return fmt.Errorf("engine output %s has no video frames", or.Name)
				}
			}
			if metrics && rec.frames() == 0 {
				return fmt.Errorf("the Observer saw no frames")
			}
			return nil
		},
	}
}

func transcodeCase(src Source, ff FFmpeg) (Case, error) {
	one := func(dir string) ([]spec.Output, error) {
		return []spec.Output{Rendition720p(filepath.Join(dir, "720p.mp4"))}, nil
	}
	args := func(dir string) ([]string, error) {
		o := Rendition720p(filepath.Join(dir, "720p.mp4"))
		return SingleOutputArgs(src.Path, o, src.FPS, o.Target)
	}
	shown, err := args(dirPlaceholder)
	if err != nil {
		return Case{}, err
	}
	return Case{
		ID: "1", Name: "720p",
		Description: "1080p30 H.264+AAC -> 720p libx264 veryfast 3 Mb/s + AAC 128k in mp4: engine.Run vs one ffmpeg process",
		Variants: []Variant{
			engineVariant("engine", src, one, false),
			{
				Name: "ffmpeg", Command: ff.CommandLine(shown), Outputs: []string{"720p.mp4"},
				Run: func(ctx context.Context, dir string) error {
					a, err := args(dir)
					if err != nil {
						return err
					}
					return ff.Run(ctx, a)
				},
			},
		},
		Comparisons: []Comparison{
			{ID: "1", Label: "1080p->720p veryfast vs ffmpeg", Candidate: "engine", Baseline: "ffmpeg", Target: 1.00},
		},
	}, nil
}

func ladderCase(src Source, ff FFmpeg) (Case, error) {
	targets := func(dir string, outs []spec.Output) []string {
		var t []string
		for _, o := range outs {
			t = append(t, filepath.Join(dir, o.Name+".mp4"))
		}
		return t
	}
	splitArgs := func(dir string) ([]string, error) {
		outs, err := ladder(dir)
		if err != nil {
			return nil, err
		}
		return SplitArgs(src.Path, outs, src.FPS, targets(dir, outs))
	}
	farmArgs := func(dir string) ([][]string, error) {
		outs, err := ladder(dir)
		if err != nil {
			return nil, err
		}
		var all [][]string
		for _, o := range outs {
			a, err := SingleOutputArgs(src.Path, o, src.FPS, filepath.Join(dir, o.Name+".mp4"))
			if err != nil {
				return nil, err
			}
			all = append(all, a)
		}
		return all, nil
	}
	shownSplit, err := splitArgs(dirPlaceholder)
	if err != nil {
		return Case{}, err
	}
	shownFarm, err := farmArgs(dirPlaceholder)
	if err != nil {
		return Case{}, err
	}
	var farmLines []string
	for _, a := range shownFarm {
		farmLines = append(farmLines, ff.CommandLine(a)+" &")
	}
	files := []string{"1080p.mp4", "720p.mp4", "480p.mp4"}
	return Case{
		ID: "2", Name: "ladder",
		Description: "1080p30 H.264+AAC -> 1080p/720p/480p libx264 veryfast ladder in mp4: one engine.Run (one decode) " +
			"vs (a) one ffmpeg process with split in -filter_complex, (b) three ffmpeg processes at once, one per rendition",
		Variants: []Variant{
			engineVariant("engine", src, ladder, false),
			{
				Name: "ffmpeg-split", Command: ff.CommandLine(shownSplit), Outputs: files,
				Run: func(ctx context.Context, dir string) error {
					a, err := splitArgs(dir)
					if err != nil {
						return err
					}
					return ff.Run(ctx, a)
				},
			},
			{
				Name: "ffmpeg-x3", Command: strings.Join(farmLines, "\n") + "\nwait", Outputs: files,
				Run: func(ctx context.Context, dir string) error {
					all, err := farmArgs(dir)
					if err != nil {
						return err
					}
					g, gctx := errgroup.WithContext(ctx)
					for _, a := range all {
						g.Go(func() error { return ff.Run(gctx, a) })
					}
					return g.Wait()
				},
			},
		},
		Comparisons: []Comparison{
			{ID: "2a", Label: "ladder 1080/720/480 vs ffmpeg split", Candidate: "engine", Baseline: "ffmpeg-split", Target: 1.00},
			{ID: "2b", Label: "ladder 1080/720/480 vs 3 ffmpeg procs", Candidate: "engine", Baseline: "ffmpeg-x3", Target: 1.30},
		},
	}, nil
}

func metricsCase(src Source) Case {
	one := func(dir string) ([]spec.Output, error) {
		return []spec.Output{Rendition720p(filepath.Join(dir, "720p.mp4"))}, nil
	}
	return Case{
		ID: "3", Name: "metrics",
		Description: "case 1's transcode through the engine with an Observer that records every FrameStats vs a nil Observer; " +
			"the ratio (off ÷ on) must stay within 1 %",
		Variants: []Variant{
			engineVariant("engine+metrics", src, one, true),
			engineVariant("engine", src, one, false),
		},
		Comparisons: []Comparison{
			{ID: "3", Label: "frame metrics on vs off", Candidate: "engine+metrics", Baseline: "engine", Target: 0.99},
		},
	}
}

// frameRecorder is the Observer of the metrics case: it keeps every FrameStats, as a worker
// that reports per-frame metrics would.
type frameRecorder struct {
	mu    sync.Mutex
	stats []engine.FrameStats
	last  engine.Progress
}

func (r *frameRecorder) OnFrame(s engine.FrameStats) {
	r.mu.Lock()
	r.stats = append(r.stats, s)
	r.mu.Unlock()
}

func (r *frameRecorder) OnProgress(p engine.Progress) {
	r.mu.Lock()
	r.last = p
	r.mu.Unlock()
}

func (r *frameRecorder) frames() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.stats)
}
