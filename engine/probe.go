package engine

import (
	"context"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// ProbeResult describes an input's container and streams.
type ProbeResult struct {
	URL      string        `json:"url"`
	Format   string        `json:"format"`
	Duration float64       `json:"duration_seconds,omitempty"`
	BitRate  int64         `json:"bit_rate,omitempty"`
	Streams  []StreamInfo  `json:"streams"`
	Elapsed  time.Duration `json:"-"`
}

// StreamInfo describes one stream of a probed input.
type StreamInfo struct {
	Index         int     `json:"index"`
	Type          string  `json:"type"`
	Codec         string  `json:"codec"`
	BitRate       int64   `json:"bit_rate,omitempty"`
	Duration      float64 `json:"duration_seconds,omitempty"`
	Width         int     `json:"width,omitempty"`
	Height        int     `json:"height,omitempty"`
	PixelFormat   string  `json:"pixel_format,omitempty"`
	FPS           float64 `json:"fps,omitempty"`
	SampleRate    int     `json:"sample_rate,omitempty"`
	Channels      int     `json:"channels,omitempty"`
	ChannelLayout string  `json:"channel_layout,omitempty"`
}

// Probe opens in and describes its streams without decoding them.
func Probe(ctx context.Context, in spec.Input) (ProbeResult, error) {
	installLibavLog()
	spec := spec.Spec{Input: in, Outputs: []spec.Output{{Container: "null"}}}
	n, err := normalize(spec)
	if err != nil {
		return ProbeResult{}, err
	}
	i, err := openInput(ctx, n.Input)
	if err != nil {
		return ProbeResult{}, err
	}
	defer i.close()
	res := ProbeResult{URL: i.url, BitRate: i.fc.BitRate(), Duration: i.duration.Seconds()}
	if f := i.fc.InputFormat(); f != nil {
		res.Format = f.Name()
	}
	for _, s := range i.fc.Streams() {
		cp := s.CodecParameters()
		si := StreamInfo{Index: s.Index(), Type: cp.MediaType().String(), Codec: cp.CodecID().Name(), BitRate: cp.BitRate()}
		if d := s.Duration(); d > 0 && d != astiav.NoPtsValue {
			si.Duration = float64(d) * s.TimeBase().Float64()
		}
		switch cp.MediaType() {
		case astiav.MediaTypeVideo:
			si.Width, si.Height = cp.Width(), cp.Height()
			si.PixelFormat = cp.PixelFormat().Name()
			si.FPS = frameRate(i.fc, s).Float64()
		case astiav.MediaTypeAudio:
			si.SampleRate = cp.SampleRate()
			si.Channels = cp.ChannelLayout().Channels()
			si.ChannelLayout = cp.ChannelLayout().String()
		}
		res.Streams = append(res.Streams, si)
	}
	return res, nil
}
