package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// stage is one output's filter+encode chain for one media type. It reads shared decoded
// frames, filters them through its own graph and encodes them, sending packets to its muxer.
type stage struct {
	media  string // "video" or "audio"
	out    *spec.Output
	mux    *muxer
	stream int // index in the muxer
	in     chan *sharedFrame

	srcTB, srcRate astiav.Rational // decoder time base and frame rate
	hw             *hwDevice       // device frames may live on
	obs            Observer
	latency        LatencyObserver // with arrivals: pipeline latency per video packet
	arrivals       *arrivals

	graph    *filterGraph
	enc      *astiav.CodecContext
	encName  string
	filtered *astiav.Frame
	pkt      *astiav.Packet

	// keyframe forcing
	firstT  float64
	haveT0  bool
	lastKey int64

	// counters (read by progress snapshots from another goroutine, hence atomic)
	framesIn  atomic.Int64 // frames into the filter
	framesOut atomic.Int64 // video frames into the encoder
	encoded   int64        // frames encoded, for FrameStats.Index (both media)

	width    int
	height   int
	frameDur int64 // one video frame in the encoder's time base
}

// run consumes frames until the decoder closes the queue, then flushes filter and encoder
// and tells the muxer the stream ended.
func (s *stage) run(ctx context.Context) (err error) {
	s.filtered = astiav.AllocFrame()
	s.pkt = astiav.AllocPacket()
	defer func() {
		for sf := range s.in {
			sf.release()
		}
	}()
	for sf := range s.in {
		// Checked per frame: an encoder still filling its lookahead sends no packets, so
		// nothing else notices a cancel while the queued frames are encoded one by one.
		if err := ctx.Err(); err != nil {
			sf.release()
			return err
		}
		err := s.push(ctx, sf)
		sf.release()
		if err != nil {
			return err
		}
	}
	if s.graph != nil {
		if err := s.graph.src.AddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
			return s.filterErr("flush filters", err)
		}
		if err := s.pull(ctx, 0, 0); err != nil {
			return err
		}
	}
	if s.enc != nil {
		if err := s.encode(ctx, nil); err != nil {
			return err
		}
	}
	return s.send(ctx, muxMsg{stream: s.stream, done: true})
}

// push feeds one decoded frame through the filter graph and encoder.
func (s *stage) push(ctx context.Context, sf *sharedFrame) error {
	f := sf.f
	if s.graph != nil && !s.graph.matches(f) {
		// The input changed size or format mid-stream: rebuild the graph for it.
		s.graph.close()
		s.graph = nil
	}
	if s.graph == nil {
		if err := s.buildGraph(ctx, f); err != nil {
			return err
		}
	}
	if s.media == "video" {
		s.framesIn.Add(1)
	}
	var t0 time.Time
	if s.obs != nil {
		t0 = time.Now()
	}
	// KEEP_REF: the graph takes its own reference; the decoded picture is shared, not copied.
	if err := s.graph.src.AddFrame(f, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return s.filterErr("filter", err)
	}
	var filterTime time.Duration
	if s.obs != nil {
		filterTime = time.Since(t0)
	}
	return s.pull(ctx, sf.decode, filterTime)
}

// pull takes every frame the graph has ready and encodes it.
func (s *stage) pull(ctx context.Context, decode, filterTime time.Duration) error {
	for {
		var t0 time.Time
		if s.obs != nil {
			t0 = time.Now()
		}
		err := s.graph.sink.GetFrame(s.filtered, astiav.NewBuffersinkFlags())
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return s.filterErr("filter", err)
		}
		if s.obs != nil {
			filterTime += time.Since(t0)
		}
		if s.enc == nil {
			if err := s.openEncoder(s.filtered); err != nil {
				s.filtered.Unref()
				return err
			}
			if err := s.announce(ctx); err != nil {
				s.filtered.Unref()
				return err
			}
		}
		if s.media == "video" {
			s.forceKeyframe(s.filtered)
			s.framesOut.Add(1)
		}
		err = s.encodeTimed(ctx, s.filtered, decode, filterTime)
		s.filtered.Unref()
		if err != nil {
			return err
		}
		filterTime = 0
	}
}

func (s *stage) encodeTimed(ctx context.Context, f *astiav.Frame, decode, filterTime time.Duration) error {
	if s.obs == nil {
		return s.encode(ctx, f)
	}
	t0 := time.Now()
	pts := f.Pts()
	tb := s.graph.sink.TimeBase()
	err := s.encode(ctx, f)
	enc := time.Since(t0)
	n := s.encoded
	s.encoded++
	s.obs.OnFrame(FrameStats{Output: s.out.Name, Media: s.media, Index: n,
		PTS:    time.Duration(float64(pts) * tb.Float64() * float64(time.Second)),
		Decode: decode, Filter: filterTime, Encode: enc})
	return err
}

// noteLatency tells the latency observer how long ago the source of pkt was read.
func (s *stage) noteLatency(pkt *astiav.Packet) {
	if pkt.Pts() == astiav.NoPtsValue {
		return
	}
	tb := s.enc.TimeBase()
	t := float64(pkt.Pts()) * tb.Float64()
	tolerance := 0.02
	if s.frameDur > 0 {
		tolerance = float64(s.frameDur) * tb.Float64() / 2
	}
	if at, ok := s.arrivals.readAt(t, tolerance); ok {
		s.latency.OnLatency(s.out.Name, time.Since(at))
	}
}

// forceKeyframe marks f as a keyframe when it is the first frame at or after a GOP boundary,
// counted from the first frame. Every output counts from the same first decoded frame, so
// all renditions have keyframes at the same timestamps.
func (s *stage) forceKeyframe(f *astiav.Frame) {
	t := float64(f.Pts()) * s.graph.sink.TimeBase().Float64()
	if !s.haveT0 {
		s.firstT, s.haveT0, s.lastKey = t, true, -1
	}
	k := int64(math.Floor((t-s.firstT)/s.out.Video.GOP + 1e-6))
	if k > s.lastKey {
		s.lastKey = k
		f.SetPictureType(astiav.PictureTypeI)
	} else {
		f.SetPictureType(astiav.PictureTypeNone)
	}
}

// encode sends f (nil flushes) and forwards every packet to the muxer.
func (s *stage) encode(ctx context.Context, f *astiav.Frame) error {
	if err := s.enc.SendFrame(f); err != nil && !errors.Is(err, astiav.ErrEof) {
		return &Error{Kind: KindEncode, Op: "encode", Subject: s.encName, Err: err}
	}
	for {
		err := s.enc.ReceivePacket(s.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return &Error{Kind: KindEncode, Op: "encode", Subject: s.encName, Err: err}
		}
		if s.pkt.Duration() <= 0 && s.frameDur > 0 {
			// libx264 leaves packet durations unset; muxers (HLS segment timing, mp4 last
			// sample) need them.
			s.pkt.SetDuration(s.frameDur)
		}
		if s.latency != nil {
			s.noteLatency(s.pkt)
		}
		out := astiav.AllocPacket()
		out.MoveRef(s.pkt)
		if err := s.send(ctx, muxMsg{stream: s.stream, pkt: out, tb: s.enc.TimeBase()}); err != nil {
			return err
		}
	}
}

// announce sends the muxer the opened encoder's parameters for this stage's stream.
func (s *stage) announce(ctx context.Context) error {
	params := astiav.AllocCodecParameters()
	if err := params.FromCodecContext(s.enc); err != nil {
		params.Free()
		return &Error{Kind: KindEncode, Op: "read encoder parameters", Subject: s.encName, Err: err}
	}
	return s.send(ctx, muxMsg{stream: s.stream, params: params})
}

func (s *stage) send(ctx context.Context, msg muxMsg) error {
	select {
	case s.mux.in <- msg:
		return nil
	case <-ctx.Done():
		msg.free()
		return ctx.Err()
	}
}

// buildGraph creates the filter graph for frames like f.
func (s *stage) buildGraph(ctx context.Context, f *astiav.Frame) error {
	var desc string
	var hw *hwDevice
	if s.media == "audio" {
		if s.enc == nil {
			enc, err := openAudioEncoder(s.out.Audio, s.globalHeader())
			if err != nil {
				return &Error{Kind: KindEncode, Op: "open encoder", Subject: encoderName(s.out.Audio.Codec), Err: err}
			}
			s.enc, s.encName = enc, encoderName(s.out.Audio.Codec)
			if err := s.announce(ctx); err != nil {
				return err
			}
		}
		desc = audioFilters(s.enc)
	} else {
		desc, hw = videoFilters(s.out.Video, f, s.srcRate, s.hw)
	}
	g, err := newFilterGraph(s.media, f, s.srcTB, s.srcRate, desc, hw)
	if err != nil {
		return &Error{Kind: KindFilter, Op: "build filters", Subject: s.out.Name, Err: err}
	}
	s.graph = g
	return nil
}

func (s *stage) openEncoder(f *astiav.Frame) error {
	name := encoderName(s.out.Video.Codec)
	enc, err := openVideoEncoder(s.out.Video, f, s.graph.sink.TimeBase(), s.graph.sink.FrameRate(), s.globalHeader())
	if err != nil {
		kind := KindEncode
		if hardwareEncoderDevice(name) != "" {
			kind = KindHardware
		}
		return &Error{Kind: kind, Op: "open encoder", Subject: name, Err: err}
	}
	s.enc, s.encName = enc, name
	s.width, s.height = f.Width(), f.Height()
	if fr := s.graph.sink.FrameRate(); fr.Num() > 0 && fr.Den() > 0 {
		s.frameDur = astiav.RescaleQ(1, fr.Invert(), enc.TimeBase())
	}
	return nil
}

// globalHeader reports whether the encoder writes its parameter sets as extradata (mp4, mkv,
// and HLS with fMP4 segments, whose init segment holds them) rather than in the stream.
func (s *stage) globalHeader() bool {
	if h := s.out.HLS; spec.Segmented(s.out.Container) && h != nil && h.SegmentType == spec.SegmentFMP4 {
		return true
	}
	return s.mux.fc.OutputFormat().Flags().Has(astiav.IOFormatFlagGlobalheader)
}

func (s *stage) filterErr(op string, err error) error {
	return &Error{Kind: KindFilter, Op: op, Subject: s.out.Name, Err: err}
}

func (s *stage) close() {
	s.graph.close()
	if s.enc != nil {
		freeEncoder(s.enc, s.encName)
		s.enc = nil
	}
	if s.filtered != nil {
		s.filtered.Free()
		s.filtered = nil
	}
	if s.pkt != nil {
		s.pkt.Free()
		s.pkt = nil
	}
}

// videoFilters is the filter chain from decoded frames like f to what v's encoder takes:
// constant frame rate, size, pixel format, and hardware transfers. It returns the device the
// chain's filters need (for hwupload), if any.
func videoFilters(v *spec.Video, f *astiav.Frame, srcRate astiav.Rational, hw *hwDevice) (string, *hwDevice) {
	var chain []string
	rate := fmt.Sprintf("%d/%d", srcRate.Num(), srcRate.Den())
	if !v.FPS.IsZero() {
		rate = v.FPS.String()
	}
	chain = append(chain, "fps="+rate)
	w, h := v.Width, v.Height
	if w == 0 && h != 0 {
		w = -2
	}
	if h == 0 && w > 0 {
		h = -2
	}
	encDev := hardwareEncoderDevice(v.Codec)
	onDevice := hw != nil && f.PixelFormat() == hw.pixfmt
	switch {
	case onDevice:
		// Frames stay on the device: scale there, download only for a software encoder.
		if w != 0 || h != 0 {
			chain = append(chain, fmt.Sprintf("%s=w=%d:h=%d:format=nv12", hw.scale, w, h))
		}
		if encDev != hw.kind {
			chain = append(chain, "hwdownload", "format=nv12")
		}
		return strings.Join(chain, ","), nil
	default:
		if w != 0 || h != 0 {
			chain = append(chain, fmt.Sprintf("scale=%d:%d", w, h))
		}
		switch {
		case encDev == "":
			chain = append(chain, "format="+softwarePixFmt(v))
		case hw != nil && hw.uploadForEncoder && encDev == hw.kind:
			chain = append(chain, "format=nv12", "hwupload")
			return strings.Join(chain, ","), hw
		default:
			chain = append(chain, "format=nv12")
		}
	}
	return strings.Join(chain, ","), nil
}

// softwarePixFmt is the pixel format a software encoder of v takes: v's (10-bit when it
// asks), else 8-bit 4:2:0.
func softwarePixFmt(v *spec.Video) string {
	if v.PixFmt != "" {
		return v.PixFmt
	}
	return spec.PixFmt8Bit
}

// audioFilters converts decoded audio to what enc takes, in frames of its frame size.
func audioFilters(enc *astiav.CodecContext) string {
	desc := fmt.Sprintf("aresample=%d,aformat=sample_fmts=%s:channel_layouts=%s",
		enc.SampleRate(), enc.SampleFormat().Name(), enc.ChannelLayout().String())
	if n := enc.FrameSize(); n > 0 {
		desc += fmt.Sprintf(",asetnsamples=n=%d:p=0", n)
	}
	return desc
}
