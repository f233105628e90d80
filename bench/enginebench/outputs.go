package enginebench

import (
	"context"
	"os"
	"path/filepath"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// OutputInfo describes one file a variant wrote, so a reader can see that the engine and
// ffmpeg produced the same renditions.
type OutputInfo struct {
	File     string  `json:"file"`
	Bytes    int64   `json:"bytes"`
	Video    string  `json:"video_codec,omitempty"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	FPS      float64 `json:"fps,omitempty"`
	Audio    string  `json:"audio_codec,omitempty"`
	Duration float64 `json:"duration_seconds,omitempty"`
	BitRate  int64   `json:"bit_rate,omitempty"`
	Error    string  `json:"error,omitempty"`
}

func probeOutputs(ctx context.Context, dir string, files []string) []OutputInfo {
	var infos []OutputInfo
	for _, f := range files {
		path := filepath.Join(dir, f)
		info := OutputInfo{File: f}
		fi, err := os.Stat(path)
		if err != nil {
			info.Error = err.Error()
			infos = append(infos, info)
			continue
		}
		info.Bytes = fi.Size()
		p, err := engine.Probe(ctx, spec.Input{URL: path})
		if err != nil {
			info.Error = err.Error()
			infos = append(infos, info)
			continue
		}
		info.Duration, info.BitRate = p.Duration, p.BitRate
		for _, s := range p.Streams {
			switch s.Type {
			case "video":
				info.Video, info.Width, info.Height, info.FPS = s.Codec, s.Width, s.Height, s.FPS
			case "audio":
				info.Audio = s.Codec
			}
		}
		infos = append(infos, info)
	}
	return infos
}
