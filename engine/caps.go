package engine

import (
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
)

// The capability probes answer "does this really work here", not "is it in the build": a
// build has h264_nvenc on an H100, which has no NVENC. Each probe opens the real thing at a
// small size and releases it.

// DeviceKinds lists the hardware device kinds the engine can use.
func DeviceKinds() []string { return []string{"cuda", "qsv", "vaapi"} }

// DeviceFor names the device kind a video encoder or hardware decoder needs ("" for software).
func DeviceFor(codec string) string {
	if k := hardwareEncoderDevice(codec); k != "" {
		return k
	}
	for kind, decs := range hwDecoders {
		for _, d := range decs {
			if d == codec {
				return kind
			}
		}
	}
	return ""
}

// ProbeDevice opens a hardware device context of kind (deviceName picks one: a GPU index for
// cuda, a render node for vaapi; "" the default) and closes it. The error carries libav's
// own reason ("Cannot load libcuda.so.1").
func ProbeDevice(kind, deviceName string) error {
	d, err := probeDevice(kind, deviceName)
	d.close()
	return err
}

func probeDevice(kind, deviceName string) (*hwDevice, error) {
	installLibavLog() // libav's reasons end up in the error, not on stderr
	k, ok := hwKinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown device kind %q: want one of %v", kind, DeviceKinds())
	}
	t0 := time.Now()
	ctx, err := astiav.CreateHardwareDeviceContext(k.device, deviceName, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("no usable %s device%s: %w", kind, deviceLabel(deviceName), explain(err, t0, "AVHWDeviceContext"))
	}
	return &hwDevice{kind: kind, hwKind: k, ctx: ctx}, nil
}

// ProbeEncoder reports whether encoder name opens here: software encoders at a small size
// (video 256x144, audio 48 kHz stereo), hardware encoders on a device of their kind.
func ProbeEncoder(name, deviceName string) error {
	kind := hardwareEncoderDevice(name)
	if kind == "" {
		return openSoftwareEncoder(name)
	}
	d, err := probeDevice(kind, deviceName)
	if err != nil {
		return err
	}
	defer d.close()
	return d.encoderOpens(name)
}

// ProbeEncoderSessions opens hardware encoder name up to max times at once on one device and
// returns how many opened: consumer NVIDIA cards cap concurrent NVENC sessions.
func ProbeEncoderSessions(name, deviceName string, max int) (int, error) {
	kind := hardwareEncoderDevice(name)
	if kind == "" {
		return 0, fmt.Errorf("%s is not a hardware encoder", name)
	}
	d, err := probeDevice(kind, deviceName)
	if err != nil {
		return 0, err
	}
	defer d.close()
	var open []*astiav.CodecContext
	defer func() {
		for _, cc := range open {
			cc.Free()
		}
	}()
	var lastErr error
	for len(open) < max {
		cc, err := d.openEncoder(name)
		if err != nil {
			lastErr = err
			break
		}
		open = append(open, cc)
	}
	if len(open) == 0 {
		return 0, lastErr
	}
	return len(open), nil
}

// hwDecoders are the hardware decoders the probe tries per device kind. NVDEC and QSV have
// decoders of their own whose open really initialises the hardware decoder.
var hwDecoders = map[string][]string{
	"cuda": {"h264_cuvid", "hevc_cuvid", "av1_cuvid", "vp9_cuvid"},
	"qsv":  {"h264_qsv", "hevc_qsv", "av1_qsv"},
}

// HardwareDecoders lists the hardware decoders the probe knows for device kind.
func HardwareDecoders(kind string) []string { return append([]string(nil), hwDecoders[kind]...) }

// ProbeDecoder reports whether hardware decoder name (h264_cuvid, hevc_qsv, ...) opens on a
// device of its kind.
func ProbeDecoder(name, deviceName string) error {
	kind := DeviceFor(name)
	if kind == "" {
		return fmt.Errorf("%s is not a hardware decoder the probe knows", name)
	}
	codec := astiav.FindDecoderByName(name)
	if codec == nil {
		return fmt.Errorf("this FFmpeg build has no %s decoder", name)
	}
	d, err := probeDevice(kind, deviceName)
	if err != nil {
		return err
	}
	defer d.close()
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("allocate %s context", name)
	}
	defer cc.Free()
	cc.SetWidth(1280)
	cc.SetHeight(720)
	cc.SetPixelFormat(astiav.PixelFormatNv12)
	cc.SetHardwareDeviceContext(d.ctx)
	t0 := time.Now()
	if err := cc.Open(codec, nil); err != nil {
		return explain(err, t0, name)
	}
	return nil
}

// openSoftwareEncoder opens a software encoder at a small size.
func openSoftwareEncoder(name string) error {
	installLibavLog()
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return fmt.Errorf("this FFmpeg build has no %s encoder", name)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("allocate %s context", name)
	}
	switch codec.ID().MediaType() {
	case astiav.MediaTypeVideo:
		cc.SetWidth(256)
		cc.SetHeight(144)
		cc.SetTimeBase(astiav.NewRational(1, 30))
		cc.SetFramerate(astiav.NewRational(30, 1))
		cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	case astiav.MediaTypeAudio:
		cc.SetSampleRate(48000)
		cc.SetTimeBase(astiav.NewRational(1, 48000))
		cc.SetChannelLayout(astiav.ChannelLayoutStereo)
		fmts := codec.SampleFormats()
		if len(fmts) == 0 {
			cc.Free()
			return fmt.Errorf("%s lists no sample formats", name)
		}
		cc.SetSampleFormat(fmts[0])
	default:
		cc.Free()
		return fmt.Errorf("%s is neither a video nor an audio encoder", name)
	}
	// x265 prints a banner of its settings to stderr unless told to keep to errors.
	var opts *astiav.Dictionary
	if name == "libx265" {
		opts = astiav.NewDictionary()
		defer opts.Free()
		if err := opts.Set("x265-params", "log-level=error", 0); err != nil {
			cc.Free()
			return err
		}
	}
	t0 := time.Now()
	if err := cc.Open(codec, opts); err != nil {
		cc.Free()
		return explain(err, t0, name)
	}
	freeEncoder(cc, name)
	return nil
}
