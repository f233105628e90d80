package engine

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// filterGraph is one output's filter chain for one media type: buffersrc → description →
// buffersink. It is built from the first frame it will see, so it matches what the decoder
// really produces (pixel format, hardware frames, size).
type filterGraph struct {
	g    *astiav.FilterGraph
	src  *astiav.BuffersrcFilterContext
	sink *astiav.BuffersinkFilterContext
	// what the graph was built for; a frame that differs needs a new graph
	w, h   int
	pixfmt astiav.PixelFormat
	rate   int
	sfmt   astiav.SampleFormat
}

// newFilterGraph builds a graph for frames like f, in time base tb. For video, fr is the
// stream's frame rate and hw, when set, the device whose filters (hwupload) need it.
func newFilterGraph(media string, f *astiav.Frame, tb, fr astiav.Rational, desc string, hw *hwDevice) (_ *filterGraph, err error) {
	fg := &filterGraph{w: f.Width(), h: f.Height(), pixfmt: f.PixelFormat(), rate: f.SampleRate(), sfmt: f.SampleFormat()}
	if fg.g = astiav.AllocFilterGraph(); fg.g == nil {
		return nil, errors.New("allocate filter graph")
	}
	defer func() {
		if err != nil {
			fg.close()
		}
	}()
	params := astiav.AllocBuffersrcFilterContextParameters()
	defer params.Free()
	srcName, sinkName := "buffer", "buffersink"
	if media == "audio" {
		srcName, sinkName = "abuffer", "abuffersink"
		params.SetChannelLayout(f.ChannelLayout())
		params.SetSampleFormat(f.SampleFormat())
		params.SetSampleRate(f.SampleRate())
		params.SetTimeBase(tb)
	} else {
		params.SetWidth(f.Width())
		params.SetHeight(f.Height())
		params.SetPixelFormat(f.PixelFormat())
		params.SetSampleAspectRatio(f.SampleAspectRatio())
		params.SetTimeBase(tb)
		params.SetFramerate(fr)
		params.SetColorRange(f.ColorRange())
		params.SetColorSpace(f.ColorSpace())
		if hfc := f.HardwareFramesContext(); hfc != nil {
			params.SetHardwareFramesContext(hfc)
		}
	}
	if fg.src, err = fg.g.NewBuffersrcFilterContext(astiav.FindFilterByName(srcName), "in"); err != nil {
		return nil, fmt.Errorf("create %s: %w", srcName, err)
	}
	if err = fg.src.SetParameters(params); err != nil {
		return nil, fmt.Errorf("set %s parameters: %w", srcName, err)
	}
	if err = fg.src.Initialize(nil); err != nil {
		return nil, fmt.Errorf("initialize %s: %w", srcName, err)
	}
	if fg.sink, err = fg.g.NewBuffersinkFilterContext(astiav.FindFilterByName(sinkName), "out"); err != nil {
		return nil, fmt.Errorf("create %s: %w", sinkName, err)
	}
	outputs, inputs := astiav.AllocFilterInOut(), astiav.AllocFilterInOut()
	defer outputs.Free()
	defer inputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(fg.src.FilterContext())
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)
	inputs.SetName("out")
	inputs.SetFilterContext(fg.sink.FilterContext())
	inputs.SetPadIdx(0)
	inputs.SetNext(nil)
	if desc == "" {
		desc = map[string]string{"audio": "anull", "video": "null"}[media]
	}
	if err = fg.g.Parse(desc, inputs, outputs); err != nil {
		return nil, fmt.Errorf("parse filters %q: %w", desc, err)
	}
	if hw != nil {
		for _, fc := range fg.g.Filters() {
			fc.SetHardwareDeviceContext(hw.ctx)
		}
	}
	if err = fg.g.Configure(); err != nil {
		return nil, fmt.Errorf("configure filters %q: %w", desc, err)
	}
	return fg, nil
}

// matches reports whether f can go into this graph unchanged.
func (fg *filterGraph) matches(f *astiav.Frame) bool {
	return fg.w == f.Width() && fg.h == f.Height() && fg.pixfmt == f.PixelFormat() &&
		fg.rate == f.SampleRate() && fg.sfmt == f.SampleFormat()
}

func (fg *filterGraph) close() {
	if fg != nil && fg.g != nil {
		fg.g.Free()
		fg.g = nil
	}
}
