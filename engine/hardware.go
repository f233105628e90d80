package engine

import (
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// hwKind is what the engine knows about one kind of hardware device.
type hwKind struct {
	device   astiav.HardwareDeviceType
	pixfmt   astiav.PixelFormat // frames living on the device
	scale    string             // the device's scaling filter
	encoders map[string]bool    // encoders that take the device's frames
	// uploadForEncoder: the device's encoders only take device frames (vaapi), so software
	// frames are uploaded before them.
	uploadForEncoder bool
}

var hwKinds = map[string]hwKind{
	"cuda": {
		device: astiav.HardwareDeviceTypeCUDA, pixfmt: astiav.PixelFormatCuda, scale: "scale_cuda",
		encoders: map[string]bool{"h264_nvenc": true, "hevc_nvenc": true, "av1_nvenc": true},
	},
	"qsv": {
		device: astiav.HardwareDeviceTypeQSV, pixfmt: astiav.PixelFormatQsv, scale: "scale_qsv",
		encoders: map[string]bool{"h264_qsv": true, "hevc_qsv": true},
	},
	"vaapi": {
		device: astiav.HardwareDeviceTypeVAAPI, pixfmt: astiav.PixelFormatVaapi, scale: "scale_vaapi",
		encoders:         map[string]bool{"h264_vaapi": true, "hevc_vaapi": true},
		uploadForEncoder: true,
	},
}

// hardwareEncoderDevice returns the device kind a hardware encoder needs, "" for software.
func hardwareEncoderDevice(codec string) string {
	for name, k := range hwKinds {
		if k.encoders[codec] {
			return name
		}
	}
	return ""
}

// hwDevice is an opened hardware device context.
type hwDevice struct {
	kind string
	hwKind
	ctx *astiav.HardwareDeviceContext
}

// openHardware opens the Spec's device. With mode none it returns nil. With auto, a device
// that does not open is a fallback (nil device, reason); with require it is an error that
// names the device and what needed it.
func openHardware(h spec.Hardware, needs string) (*hwDevice, string, error) {
	if h.Mode == spec.HardwareNone || h.Mode == "" {
		return nil, "", nil
	}
	k := hwKinds[h.Device]
	t0 := time.Now()
	ctx, err := astiav.CreateHardwareDeviceContext(k.device, h.DeviceName, nil, 0)
	if err != nil {
		err = explain(err, t0, "AVHWDeviceContext")
		reason := fmt.Sprintf("no usable %s device%s: %v", h.Device, deviceLabel(h.DeviceName), err)
		if h.Mode == spec.HardwareRequire {
			return nil, "", &Error{Kind: KindHardware, Op: "open hardware device", Subject: h.Device,
				Err: fmt.Errorf("%s (needed for %s)", reason, needs)}
		}
		return nil, reason, nil
	}
	return &hwDevice{kind: h.Device, hwKind: k, ctx: ctx}, "", nil
}

func deviceLabel(name string) string {
	if name == "" {
		return ""
	}
	return " " + name
}

func (d *hwDevice) close() {
	if d != nil && d.ctx != nil {
		d.ctx.Free()
		d.ctx = nil
	}
}

// encoderOpens checks that encoder name really opens on this device, at a small size. A
// build can contain h264_nvenc while the GPU has no NVENC (H100, A100): that is found out
// here, before any decoding, not at the first frame.
func (d *hwDevice) encoderOpens(name string) error {
	cc, err := d.openEncoder(name)
	if err != nil {
		return err
	}
	cc.Free()
	return nil
}

// openEncoder opens encoder name on the device at a small size; the caller frees it.
func (d *hwDevice) openEncoder(name string) (_ *astiav.CodecContext, err error) {
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return nil, fmt.Errorf("this FFmpeg build has no %s encoder", name)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, fmt.Errorf("allocate %s context", name)
	}
	defer func() {
		if err != nil {
			cc.Free()
		}
	}()
	const w, h = 256, 144
	cc.SetWidth(w)
	cc.SetHeight(h)
	cc.SetTimeBase(astiav.NewRational(1, 30))
	cc.SetFramerate(astiav.NewRational(30, 1))
	cc.SetPixelFormat(astiav.PixelFormatNv12)
	if d.uploadForEncoder {
		// vaapi encoders take only device frames: give the encoder a frames context.
		hfc := astiav.AllocHardwareFramesContext(d.ctx)
		if hfc == nil {
			return nil, fmt.Errorf("allocate %s frames context", d.kind)
		}
		defer hfc.Free() // the encoder keeps its own reference
		hfc.SetHardwarePixelFormat(d.pixfmt)
		hfc.SetSoftwarePixelFormat(astiav.PixelFormatNv12)
		hfc.SetWidth(w)
		hfc.SetHeight(h)
		hfc.SetInitialPoolSize(4)
		if err := hfc.Initialize(); err != nil {
			return nil, fmt.Errorf("%s frames context: %w", d.kind, err)
		}
		cc.SetHardwareFramesContext(hfc)
		cc.SetPixelFormat(d.pixfmt)
	} else {
		cc.SetHardwareDeviceContext(d.ctx)
	}
	t0 := time.Now()
	if err := cc.Open(codec, nil); err != nil {
		return nil, explain(err, t0, name)
	}
	return cc, nil
}
