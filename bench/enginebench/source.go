package enginebench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// Source is the benchmark's input file.
type Source struct {
	Path     string    `json:"path"`
	Bytes    int64     `json:"bytes"`
	Width    int       `json:"width"`
	Height   int       `json:"height"`
	FPS      spec.Rate `json:"fps"`
	Duration float64   `json:"duration_seconds"`
	Video    string    `json:"video_codec"`
	Audio    string    `json:"audio_codec"`
	BitRate  int64     `json:"bit_rate"`
	// Generated is true when this run made the file rather than reusing a cached one.
	Generated bool `json:"generated"`
}

// sourceSpec makes the input: 10 s of synthetic 1080p30 with a tone, encoded at a high
// quality (a mezzanine file, the kind a farm is handed) into H.264 + AAC in mp4.
func sourceSpec(path string) spec.Spec {
	return spec.Spec{
		Input: spec.Input{Synthetic: &spec.Synthetic{Width: 1920, Height: 1080, Duration: 10}},
		Outputs: []spec.Output{{
			Name: "source", Container: "mp4", Target: path,
			Video: &spec.Video{Codec: "libx264", Preset: "medium", CRF: 16},
			Audio: &spec.Audio{Codec: "aac", Bitrate: 192_000},
		}},
	}
}

// EnsureSource returns the input file under dir, generating it with the engine unless a
// valid one is already there.
func EnsureSource(ctx context.Context, dir string) (Source, error) {
	path := filepath.Join(dir, "source-1080p30-10s-h264-aac.mp4")
	if src, err := probeSource(ctx, path); err == nil {
		return src, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Source{}, err
	}
	if _, err := engine.Run(ctx, sourceSpec(path), nil); err != nil {
		return Source{}, fmt.Errorf("generate the input %s: %w", path, err)
	}
	src, err := probeSource(ctx, path)
	if err != nil {
		return Source{}, fmt.Errorf("the generated input: %w", err)
	}
	src.Generated = true
	return src, nil
}

// probeSource checks that path is the expected input.
func probeSource(ctx context.Context, path string) (Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Source{}, err
	}
	p, err := engine.Probe(ctx, spec.Input{URL: path})
	if err != nil {
		return Source{}, err
	}
	src := Source{Path: path, Bytes: fi.Size(), Duration: p.Duration, BitRate: p.BitRate}
	for _, s := range p.Streams {
		switch s.Type {
		case "video":
			src.Video, src.Width, src.Height = s.Codec, s.Width, s.Height
			src.FPS, err = spec.ParseRate(strconv.FormatFloat(s.FPS, 'f', -1, 64))
			if err != nil {
				return Source{}, err
			}
		case "audio":
			src.Audio = s.Codec
		}
	}
	if src.Video != "h264" || src.Audio != "aac" || src.Width != 1920 || src.Height != 1080 ||
		src.FPS.Float() != 30 || src.Duration < 9.9 {
		return Source{}, fmt.Errorf("%s is not 10 s of 1080p30 H.264+AAC", path)
	}
	return src, nil
}
