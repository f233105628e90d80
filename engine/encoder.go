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
	// SVT-AV1 caps only constant-quality rates (capped CRF): with a target bitrate (VBR) it
	// refuses a maximum, so a capped-VBR request runs as plain VBR with the buffer size.
	if v.MaxRate > 0 && (name != "libsvtav1" || v.CRF > 0) {
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
	opts := map[string]string{"keyint_min": strconv.Itoa(gop)}
	preset := v.Preset
	switch {
	case name == "libx264":
		opts["sc_threshold"] = "0" // libx264's own option, not libavcodec's
		opts["forced-idr"] = "1"
		if v.CRF > 0 {
			opts["crf"] = strconv.Itoa(v.CRF)
		}
	case name == "libx265":
		opts["forced-idr"] = "1"
		if v.CRF > 0 {
			opts["crf"] = strconv.Itoa(v.CRF)
		}
		// Closed GOPs without scene cuts: every keyframe is one the engine forced. x265
		// logs to stderr itself; errors only.
		opts["x265-params"] = joinParams("scenecut=0:open-gop=0:log-level=error", v.Options["x265-params"])
	case name == "libsvtav1":
		// SVT-AV1 cannot force a keyframe on request: its keyframes come every gop frames
		// (intra_period_length), closed, without scene detection, which lands them on the
		// same timestamps in every rendition of one frame rate.
		if v.CRF > 0 {
			opts["crf"] = strconv.Itoa(v.CRF)
		}
		opts["svtav1-params"] = joinParams("scd=0:irefresh-type=2", v.Options["svtav1-params"])
	case name == "libvpx-vp9":
		// libvpx-vp9 has no preset: our preset is its speed (cpu-used), at the good deadline.
		opts["deadline"] = "good"
		opts["row-mt"] = "1"
		if preset != "" {
			opts["cpu-used"], preset = preset, ""
		}
		if v.CRF > 0 {
			opts["crf"] = strconv.Itoa(v.CRF)
			if v.Bitrate == 0 {
				opts["b"] = "0" // constant quality, not a quality capped at the default rate
			}
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
	if preset != "" {
		opts["preset"] = preset
	}
	if v.Profile != "" {
		opts["profile"] = v.Profile
	}
	for k, val := range v.Options {
		if _, merged := opts[k]; merged && strings.HasSuffix(k, "-params") {
			continue // joined above, after the engine's own
		}
		opts[k] = val
	}
	return opts
}

// joinParams appends a user's key=value:key=value encoder parameters to the engine's, so a
// user's value of the same key wins (the encoders apply them in order).
func joinParams(ours, theirs string) string {
	if theirs == "" {
		return ours
	}
	return ours + ":" + theirs
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
		freeEncoder(cc, codec.Name())
		return fmt.Errorf("%s does not know option(s) %s", codec.Name(), strings.Join(unused, ", "))
	}
	return nil
}

// freeEncoder frees an opened encoder. SVT-AV1 1.4 hangs in its deinit when it never saw the
// end of the stream (an encoder closed on an error, a cancel, or a probe), and hangs waiting
// for the end of a stream it got no picture of: libsvtav1 gets one black picture (unless it
// ended already), the end of the stream, and is drained before it is freed.
func freeEncoder(cc *astiav.CodecContext, name string) {
	if name == "libsvtav1" {
		if f := astiav.AllocFrame(); f != nil {
			f.SetWidth(cc.Width())
			f.SetHeight(cc.Height())
			f.SetPixelFormat(cc.PixelFormat())
			if f.AllocBuffer(0) == nil && f.ImageFillBlack() == nil {
				f.SetPts(math.MaxInt32)
				_ = cc.SendFrame(f) // an encoder that ended refuses it: nothing to flush
			}
			f.Free()
		}
		if cc.SendFrame(nil) == nil {
			pkt := astiav.AllocPacket()
			for cc.ReceivePacket(pkt) == nil {
				pkt.Unref()
			}
			pkt.Free()
		}
	}
	cc.Free()
}
