package engine

/*
#cgo pkg-config: libavutil
#include <libavutil/frame.h>
static int64_t ffrtmp_best_effort_ts(AVFrame *f) { return f->best_effort_timestamp; }
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
)

// decoder decodes one input stream and fans its frames out to the outputs that use them.
type decoder struct {
	media  string // "video" or "audio"
	stream *astiav.Stream
	cc     *astiav.CodecContext
	name   string // decoder that runs
	input  string // the input, for messages
	hw     string // device kind frames are decoded on, "" in software
	in     chan *astiav.Packet
	outs   []chan *sharedFrame
	errs   int // decode errors tolerated so far
	maxErr int
	tl     *timeline // repairs timestamps that go backwards; nil leaves them alone

	// onFrame is called with every decoded frame (progress accounting).
	onFrame func(pts int64)
}

func newDecoder(media, input string, st *astiav.Stream, hw *hwDevice, maxErrors int) (*decoder, error) {
	cp := st.CodecParameters()
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, &Error{Kind: KindInput, Op: "open decoder", Subject: media,
			Err: fmt.Errorf("no decoder for codec %s", cp.CodecID().Name())}
	}
	d := &decoder{media: media, input: input, stream: st, name: codec.Name(), in: make(chan *astiav.Packet, 16), maxErr: maxErrors}
	if d.cc = astiav.AllocCodecContext(codec); d.cc == nil {
		return nil, errors.New("allocate decoder context")
	}
	if err := cp.ToCodecContext(d.cc); err != nil {
		d.close()
		return nil, wrap(KindInput, "open decoder", codec.Name(), err)
	}
	d.cc.SetTimeBase(st.TimeBase())
	d.cc.SetThreadCount(0)
	// Corrupt data is an error the caller sees, not silently concealed pictures.
	d.cc.SetErrorRecognitionFlags(astiav.NewErrorRecognitionFlags(astiav.ErrorRecognitionFlagExplode))
	if hw != nil && media == "video" && supportsHW(codec, hw) {
		// No get_format callback: libavcodec's default picks the device's format when
		// hw_device_ctx is set, and falls back to software when the hwaccel cannot start.
		// go-astiav looks its callbacks up by the AVCodecContext pointer, but frame
		// threads call get_format on their own copies of the context, so a Go callback
		// answers AV_PIX_FMT_NONE there and every slice fails to decode (seen on an H200).
		d.cc.SetHardwareDeviceContext(hw.ctx)
		d.hw = hw.kind
	}
	if err := d.cc.Open(codec, nil); err != nil {
		d.close()
		return nil, wrap(KindInput, "open decoder", codec.Name(), err)
	}
	return d, nil
}

func supportsHW(c *astiav.Codec, hw *hwDevice) bool {
	for _, cfg := range c.HardwareConfigs() {
		if cfg.HardwareDeviceType() == hw.device &&
			cfg.MethodFlags().Has(astiav.CodecHardwareConfigMethodFlagHwDeviceCtx) {
			return true
		}
	}
	return false
}

// run decodes until its packet queue closes, then flushes the decoder. It closes every
// output queue when it returns.
func (d *decoder) run(ctx context.Context, timed bool) error {
	defer func() {
		for _, o := range d.outs {
			close(o)
		}
	}()
	var spent time.Duration
	for pkt := range d.in {
		// A cancel stops decoding at the next packet, not after the queued ones.
		err := ctx.Err()
		if err == nil {
			err = d.decode(ctx, pkt, timed, &spent)
		}
		pkt.Free()
		if err != nil {
			drain(d.in)
			return err
		}
	}
	if err := d.decode(ctx, nil, timed, &spent); err != nil {
		return err
	}
	if d.tl == nil {
		return nil
	}
	if d.media == "audio" {
		d.tl.summary("frames retimed")
		return nil
	}
	if err := d.tl.check(); err != nil {
		return err
	}
	d.tl.summary("frames dropped")
	return nil
}

// decode sends one packet (nil flushes) and fans out every frame it yields.
func (d *decoder) decode(ctx context.Context, pkt *astiav.Packet, timed bool, spent *time.Duration) error {
	var t0 time.Time
	if timed {
		t0 = time.Now()
	}
	if err := d.cc.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) {
		if err := d.tolerate(pkt, err); err != nil {
			return err
		}
	}
	for {
		f := astiav.AllocFrame()
		err := d.cc.ReceiveFrame(f)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			f.Free()
			break
		}
		if err != nil {
			f.Free()
			if err := d.tolerate(pkt, err); err != nil {
				return err
			}
			continue
		}
		// Decoders leave pts unset on some inputs; the best-effort timestamp is what ffmpeg
		// uses too.
		f.SetPts(int64(C.ffrtmp_best_effort_ts((*C.AVFrame)(f.UnsafePointer()))))
		if keep, err := d.repair(f); !keep || err != nil {
			f.Free()
			if err != nil {
				return err
			}
			continue
		}
		if timed {
			*spent += time.Since(t0)
		}
		if d.onFrame != nil {
			d.onFrame(f.Pts())
		}
		if len(d.outs) == 0 {
			f.Free()
		} else {
			sf := newSharedFrame(f, len(d.outs), *spent)
			for _, o := range d.outs {
				select {
				case o <- sf:
				case <-ctx.Done():
					sf.release()
					return ctx.Err()
				}
			}
		}
		*spent = 0
		if timed {
			t0 = time.Now()
		}
	}
	if timed {
		*spent += time.Since(t0)
	}
	return nil
}

// repair applies the stream's timeline to a decoded frame: false drops it.
func (d *decoder) repair(f *astiav.Frame) (bool, error) {
	if d.tl == nil {
		return true, nil
	}
	if d.media == "video" {
		return d.tl.videoFrame(f.Pts()), nil
	}
	var dur int64
	if sr := f.SampleRate(); sr > 0 {
		dur = astiav.RescaleQ(int64(f.NbSamples()), astiav.NewRational(1, sr), d.stream.TimeBase())
	}
	f.SetPts(d.tl.audioFrame(f.Pts(), dur))
	return true, nil
}

// tolerate counts a decode error and fails the run past input.max_decode_errors. The message
// says what happened, where ("corrupt audio packet at 00:00:03.2 in stream 1 (aac)"), with
// libav's words (often misleading on their own: "Operation not permitted") as the detail.
func (d *decoder) tolerate(pkt *astiav.Packet, err error) error {
	d.errs++
	if d.errs <= d.maxErr {
		return nil
	}
	var msg error
	switch {
	case pkt == nil:
		msg = fmt.Errorf("corrupt %s data at the end of stream %d (%s): %w", d.media, d.stream.Index(), d.name, libavDetail(err))
	case pkt.Pts() != astiav.NoPtsValue:
		msg = fmt.Errorf("corrupt %s packet at %s in stream %d (%s): %w", d.media, clock(mediaTime(d.stream, pkt.Pts())), d.stream.Index(), d.name, libavDetail(err))
	default:
		msg = fmt.Errorf("corrupt %s packet in stream %d (%s): %w", d.media, d.stream.Index(), d.name, libavDetail(err))
	}
	if d.maxErr > 0 {
		msg = fmt.Errorf("%d decode errors, more than input.max_decode_errors (%d); last: %w", d.errs, d.maxErr, msg)
	}
	return &Error{Kind: KindInput, Op: "decode", Subject: d.input, Err: msg}
}

func (d *decoder) close() {
	if d.cc != nil {
		d.cc.Free()
		d.cc = nil
	}
}

// drain frees whatever is left in a packet queue after a failure.
func drain(ch <-chan *astiav.Packet) {
	for p := range ch {
		p.Free()
	}
}
