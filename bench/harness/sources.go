package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/bench/benchio"
	"github.com/ffrtmp/ffrtmp/engine"
)

// sourceCache renders each synthetic source once per bench run into a file that every case
// using it reads: cases then measure decoding and encoding, not testsrc2's drawing, and the
// file is the reference quality is measured against.
type sourceCache struct {
	dir  string
	done map[string]sourceFile
}

type sourceFile struct {
	path     string
	rate     spec.Rate
	duration float64
}

func newSourceCache(dir string) *sourceCache {
	return &sourceCache{dir: dir, done: map[string]sourceFile{}}
}

// get returns the file for src (rendered on first use), its frame rate and duration.
// duration, when set, replaces a synthetic source's.
func (c *sourceCache) get(ctx context.Context, src ScenarioSource, duration float64) (string, spec.Rate, float64, error) {
	if src.File != "" {
		p, err := engine.Probe(ctx, spec.Input{URL: src.File})
		if err != nil {
			return "", spec.Rate{}, 0, fmt.Errorf("source %s: %w", src.File, err)
		}
		for _, st := range p.Streams {
			if st.Type == "video" {
				return src.File, spec.Rate{Num: int(st.FPS*1000 + 0.5), Den: 1000}, p.Duration, nil
			}
		}
		return "", spec.Rate{}, 0, fmt.Errorf("source %s has no video", src.File)
	}
	if duration > 0 {
		src.Duration = duration
	}
	key := fmt.Sprintf("%dx%d@%g-%gs", src.Width, src.Height, src.FPS, src.Duration)
	if f, ok := c.done[key]; ok {
		return f.path, f.rate, f.duration, nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return "", spec.Rate{}, 0, err
	}
	rate := spec.Rate{Num: int(src.FPS*1000 + 0.5), Den: 1000}
	if src.FPS == float64(int(src.FPS)) {
		rate = spec.Rate{Num: int(src.FPS), Den: 1}
	}
	path := filepath.Join(c.dir, key+".mp4")
	// Near-lossless (CRF 4) so the reference is the picture itself, with a keyframe every
	// second so density mode can cut it into segments.
	_, err := engine.Run(ctx, spec.Spec{
		Input: spec.Input{Synthetic: &spec.Synthetic{Width: src.Width, Height: src.Height, FPS: rate, Duration: src.Duration, NoAudio: true}},
		Outputs: []spec.Output{{Name: "source", Container: "mp4", Target: path,
			Video: &spec.Video{Codec: "libx264", CRF: 4, Preset: "ultrafast", GOP: 1}, Audio: &spec.Audio{Codec: "none"}}},
	}, nil)
	if err != nil {
		return "", spec.Rate{}, 0, fmt.Errorf("render the %s source: %w", key, err)
	}
	c.done[key] = sourceFile{path: path, rate: rate, duration: src.Duration}
	return path, rate, src.Duration, nil
}

// detectMachine describes this machine for the results.
func detectMachine(opts Options) Machine {
	h := benchio.DetectHost()
	m := Machine{Hostname: h.Hostname, CPU: h.CPU, Cores: h.Cores, MemoryBytes: h.MemoryBytes, OS: h.OS, Arch: h.Arch,
		Kernel: h.Kernel, LoadAverage: h.LoadAverage, GoVersion: runtime.Version(), Ffrtmp: opts.Version}
	b := engine.Build()
	m.FFmpeg, m.GoAstiav = b.FFmpeg, b.GoAstiav
	if opts.NVML != nil {
		if gpus, err := opts.NVML.GPUs(); err == nil {
			for _, g := range gpus {
				m.GPUs = append(m.GPUs, GPU{Index: g.Index, Name: g.Name, UUID: g.UUID, MemoryMB: g.MemoryTotalMB})
				m.Driver = g.DriverVersion
			}
		}
	}
	m.CPU = strings.TrimSpace(m.CPU)
	return m
}
