package engine

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// encoderName maps a Spec codec to the libav encoder that implements it.
func encoderName(codec string) string {
	switch codec {
	case "opus":
		return "libopus"
	}
	return codec
}

// openVideoEncoder opens a video encoder for frames like f (the first frame out of the
// output's filter graph) in time base tb at frame rate fr.
func openVideoEncoder(v *spec.Video, f *astiav.Frame, tb, fr astiav.Rational, globalHeader bool) (*astiav.CodecContext, error) {
	name := encoderName(v.Codec)
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return nil, fmt.Errorf("this FFmpeg build has no %s encoder", name)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, fmt.Errorf("allocate %s context", name)
	}
	cc.SetWidth(f.Width())
	cc.SetHeight(f.Height())
	cc.SetPixelFormat(f.PixelFormat())
	cc.SetSampleAspectRatio(f.SampleAspectRatio())
	cc.SetTimeBase(tb)
	cc.SetFramerate(fr)
	cc.SetColorRange(f.ColorRange())
	cc.SetColorSpace(f.ColorSpace())
	cc.SetThreadCount(0)
	if hfc := f.HardwareFramesContext(); hfc != nil {
		cc.SetHardwareFramesContext(hfc)
	}
	if globalHeader {
		cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	if v.Bitrate > 0 {
		cc.SetBitRate(int64(v.Bitrate))
	}
	if v.MaxRate > 0 {
		cc.SetRateControlMaxRate(int64(v.MaxRate))
	}
	if v.BufSize > 0 {
		cc.SetRateControlBufferSize(int(v.BufSize))
	}
	gop := int(math.Round(v.GOP * fr.Float64()))
	if gop < 1 {
		gop = 1
	}
	cc.SetGopSize(gop)

	if err := openCodec(cc, codec, videoEncoderOptions(name, v, gop)); err != nil {
		return nil, err
	}
	return cc, nil
}

// videoEncoderOptions are the options of the libav encoder name for v, with a keyframe every
// gop frames.
func videoEncoderOptions(name string, v *spec.Video, gop int) map[string]string {
	// Keyframes come only where the engine forces them (every GOP seconds, same timestamps in
	// every rendition): no scene-cut keyframes, and forced frames are IDR.
	opts := map[string]string{"keyint_min": strconv.Itoa(gop), "sc_threshold": "0"}
	switch {
	case name == "libx264":
		opts["forced-idr"] = "1"
		if v.CRF > 0 {
			opts["crf"] = strconv.Itoa(v.CRF)
		}
	case strings.HasSuffix(name, "_nvenc"):
		opts["forced-idr"] = "1"
		opts["no-scenecut"] = "1"
		if v.CRF > 0 {
			opts["rc"], opts["cq"] = "vbr", strconv.Itoa(v.CRF)
		}
	case strings.HasSuffix(name, "_qsv"):
		opts["forced_idr"] = "1"
		if v.CRF > 0 {
			opts["global_quality"] = strconv.Itoa(v.CRF)
		}
	case strings.HasSuffix(name, "_vaapi"):
		if v.CRF > 0 {
			opts["rc_mode"], opts["qp"] = "CQP", strconv.Itoa(v.CRF)
		}
	}
	if v.Preset != "" {
		opts["preset"] = v.Preset
	}
	if v.Profile != "" {
		opts["profile"] = v.Profile
	}
	for k, val := range v.Options {
		opts[k] = val
	}
	return opts
}

// openAudioEncoder opens an audio encoder for a.
func openAudioEncoder(a *spec.Audio, globalHeader bool) (*astiav.CodecContext, error) {
	name := encoderName(a.Codec)
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return nil, fmt.Errorf("this FFmpeg build has no %s encoder", name)
	}
	layout, ok := channelLayouts[a.Channels]
	if !ok {
		return nil, fmt.Errorf("%d channels: supported are 1, 2, 6 and 8", a.Channels)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, fmt.Errorf("allocate %s context", name)
	}
	fmts := codec.SampleFormats()
	if len(fmts) == 0 {
		cc.Free()
		return nil, fmt.Errorf("%s lists no sample formats", name)
	}
	cc.SetSampleFormat(fmts[0])
	cc.SetSampleRate(a.SampleRate)
	cc.SetChannelLayout(layout)
	cc.SetTimeBase(astiav.NewRational(1, a.SampleRate))
	cc.SetBitRate(int64(a.Bitrate))
	if globalHeader {
		cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	if err := openCodec(cc, codec, nil); err != nil {
		return nil, err
	}
	return cc, nil
}

var channelLayouts = map[int]astiav.ChannelLayout{
	1: astiav.ChannelLayoutMono,
	2: astiav.ChannelLayoutStereo,
	6: astiav.ChannelLayout5Point1,
	8: astiav.ChannelLayout7Point1,
}

// openCodec opens cc with opts; an option the encoder does not know is an error naming it,
// not a silently ignored setting. On error cc is freed.
func openCodec(cc *astiav.CodecContext, codec *astiav.Codec, opts map[string]string) error {
	d := astiav.NewDictionary()
	defer d.Free()
	for k, v := range opts {
		if err := d.Set(k, v, 0); err != nil {
			cc.Free()
			return fmt.Errorf("option %s=%s: %w", k, v, err)
		}
	}
	t0 := time.Now()
	if err := cc.Open(codec, d); err != nil {
		cc.Free()
		return explain(err, t0, codec.Name())
	}
	var unused []string
	var e *astiav.DictionaryEntry
	for {
		if e = d.Get("", e, astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)); e == nil {
			break
		}
		unused = append(unused, e.Key())
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		cc.Free()
		return fmt.Errorf("%s does not know option(s) %s", codec.Name(), strings.Join(unused, ", "))
	}
	return nil
}
