package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"golang.org/x/sync/errgroup"

	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// snapshotEvery is how often the Observer gets a Progress snapshot.
const snapshotEvery = 500 * time.Millisecond

// abandonAfter is how long a canceled run may take to stop before Run gives up on it.
const abandonAfter = time.Second

// Run transcodes spec.Input into every spec.Outputs entry, decoding once. obs may be nil;
// without one the engine takes no per-frame timings. Cancelling ctx stops the run within about
// a second, also while blocked on network input; outputs of a failed or cancelled run are
// removed. The error, if any, is an *Error.
//
// A canceled run that libav does not let go of (a read or open(2) blocked in the kernel,
// where its interrupt callback is never called) is abandoned after a second: Run removes
// its temporary outputs and returns a KindCanceled error that says so. The goroutine stuck
// in libav keeps it and what it holds until libav returns, maybe never; a process that
// sees such an error should exit soon (the executor and the CLI do). Should libav return
// after all, the run cleans up after itself and tells obs nothing more.
func Run(ctx context.Context, spec spec.Spec, obs Observer) (Result, error) {
	installLibavLog()
	spec, err := normalize(spec)
	if err != nil {
		return Result{}, err
	}
	r := &runner{spec: spec, obs: obs, start: time.Now()}
	type ended struct {
		res Result
		err error
	}
	done := make(chan ended, 1)
	go func() {
		res, err := r.run(ctx)
		// Freed here, also should libav return after Run gave up on it.
		r.close()
		done <- ended{res, err}
	}()
	var e ended
	select {
	case e = <-done:
	case <-ctx.Done():
		select {
		case e = <-done:
		case <-time.After(abandonAfter):
			r.abandon()
			return Result{}, &Error{Kind: KindCanceled, Op: "transcode", Subject: inputSubject(spec.Input),
				Err: fmt.Errorf("%w; libav did not stop within %v (blocked in a system call) and the run was abandoned", ctx.Err(), abandonAfter)}
		}
	}
	res, err := e.res, e.err
	if err != nil && ctx.Err() != nil && KindOf(err) != KindCanceled {
		cause := ctx.Err()
		if !errors.Is(err, cause) {
			cause = fmt.Errorf("%w (%v)", cause, err)
		}
		err = &Error{Kind: KindCanceled, Op: "transcode", Subject: r.inputName(), Err: cause}
	}
	return res, err
}

type runner struct {
	spec     spec.Spec
	obs      Observer
	arrivals *arrivals // input video read times, for a LatencyObserver
	start    time.Time
	hw       *hwDevice
	fallback string
	in       *input
	vdec     *decoder
	adec     *decoder
	muxers   []*muxer
	stages   []*stage
	// per output: its stages (video, audio)
	outStages [][]*stage
	copies    []copyRoute
	masters   []string
	manifests []string // DASH
	// live HLS master playlists written at the start (writeLiveMasters)
	liveMasters []string

	// warnings and dropped tracks, for the Result (warn is called from every stage)
	wmu      sync.Mutex
	warnings []string
	dropped  []spec.DroppedTrack

	frames   atomic.Int64
	position atomic.Int64 // media time decoded, in microseconds from the first frame
	frameUS  int64        // one source frame, in microseconds
	firstPTS atomic.Int64
	havePTS  atomic.Bool

	// What abandon removes: temporary outputs and the folders created for them.
	partialMu sync.Mutex
	partials  []string
	madeDirs  []string
	abandoned atomic.Bool
}

func (r *runner) inputName() string {
	if r.in != nil {
		return r.in.url
	}
	return inputSubject(r.spec.Input)
}

// inputSubject names an input in messages before it is opened.
func inputSubject(in spec.Input) string {
	if s := in.Synthetic; s != nil {
		return fmt.Sprintf("synthetic %dx%d@%s %gs", s.Width, s.Height, s.FPS, s.Duration)
	}
	return in.URL
}

// addPartial records a muxer's temporary output (file or folder) and the folders created
// for it, for abandon.
func (r *runner) addPartial(m *muxer) {
	r.partialMu.Lock()
	defer r.partialMu.Unlock()
	if m.path != "" && m.path != m.final {
		r.partials = append(r.partials, m.path)
	}
	r.madeDirs = append(r.madeDirs, m.created...)
}

// abandon gives up on a run stuck in libav: it removes the temporary outputs, then the
// folders made for them (deepest first, where empty), and keeps the run from moving
// anything into place or telling the observer more should libav return after all.
func (r *runner) abandon() {
	r.abandoned.Store(true)
	r.partialMu.Lock()
	defer r.partialMu.Unlock()
	for _, p := range r.partials {
		os.RemoveAll(p)
	}
	for i := len(r.madeDirs) - 1; i >= 0; i-- {
		os.Remove(r.madeDirs[i])
	}
}

// run opens everything, runs the stages until the input ends or one fails, then closes the
// outputs (or removes them) and reports.
func (r *runner) run(ctx context.Context) (Result, error) {
	if err := r.open(ctx); err != nil {
		return Result{}, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	ints := r.interruptOn(gctx)
	defer ints.stop()

	r.startStages(gctx, g)
	snapDone := r.startSnapshots(gctx)
	err := r.stallError(g.Wait())
	// Wait cancels gctx even on success; outputs still have to be closed (flushed) then, so a
	// successful run takes back any interrupt that raced with its end.
	ints.release(err == nil)
	cancel()
	<-snapDone
	return r.conclude(err)
}

// open opens the hardware, the input and every stage and output, and writes the master
// playlists of live HLS ladders.
func (r *runner) open(ctx context.Context) error {
	if err := r.openHardware(); err != nil {
		return err
	}
	in, err := openInput(ctx, r.spec.Input)
	if err != nil {
		return err
	}
	r.in = in
	if err := r.setup(ctx); err != nil {
		return err
	}
	return r.writeLiveMasters()
}

// interrupts interrupts the run's blocking libav reads and writes, until released.
type interrupts struct {
	iis  []*astiav.IOInterrupter
	stop func() bool // stops the interrupting on ctx's end

	mu       sync.Mutex
	released bool
}

// interruptOn makes blocking libav reads and writes return when ctx ends: on cancel, and
// when one stage fails (a demuxer waiting on a network input must not hold the run until its
// timeout). The interrupters are taken now, as the muxers clear their fields when closed.
func (r *runner) interruptOn(ctx context.Context) *interrupts {
	i := &interrupts{iis: []*astiav.IOInterrupter{r.in.ii}}
	for _, m := range r.muxers {
		i.iis = append(i.iis, m.ii)
	}
	i.stop = context.AfterFunc(ctx, func() {
		i.mu.Lock()
		defer i.mu.Unlock()
		if !i.released {
			for _, ii := range i.iis {
				ii.Interrupt()
			}
		}
	})
	return i
}

// release ends the interrupting; with resume it takes back an interrupt already made, so
// the outputs can still be closed (flushed).
func (i *interrupts) release(resume bool) {
	i.stop()
	i.mu.Lock()
	defer i.mu.Unlock()
	i.released = true
	if resume {
		for _, ii := range i.iis {
			ii.Resume()
		}
	}
}

// startStages runs the demuxer, the decoders, the filter+encode stages and the muxers in g.
func (r *runner) startStages(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return r.demux(ctx) })
	timed := r.obs != nil
	for _, d := range []*decoder{r.vdec, r.adec} {
		if d != nil {
			g.Go(func() error { return d.run(ctx, timed) })
		}
	}
	for _, s := range r.stages {
		g.Go(func() error { return s.run(ctx) })
	}
	for _, m := range r.muxers {
		g.Go(func() error { return m.run(ctx) })
	}
}

// startSnapshots sends the Observer progress snapshots until ctx ends; the returned channel
// closes when they stopped (at once without an Observer).
func (r *runner) startSnapshots(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if r.obs != nil {
		go r.snapshots(ctx, done)
	} else {
		close(done)
	}
	return done
}

// stallError names a stalled input as the run's failure. Interrupting a stalled read makes
// demuxers flush what they hold, truncated; a decoder may fail on that first, but the stall
// is what went wrong.
func (r *runner) stallError(err error) error {
	if err != nil && r.in.stalled.Load() {
		return &Error{Kind: KindIO, Op: "read input", Subject: r.in.url,
			Err: fmt.Errorf("no data for %s (input.timeout_seconds)", r.in.stallAfter)}
	}
	return err
}

// conclude ends a run whose stages returned err: it closes the outputs of a successful run,
// removes those of a failed one, and sends the Observer the final progress.
func (r *runner) conclude(err error) (Result, error) {
	if err == nil && r.abandoned.Load() {
		err = &Error{Kind: KindCanceled, Op: "transcode", Subject: r.in.url, Err: errors.New("abandoned")}
	}
	if err == nil {
		err = r.finish()
	}
	res := r.result()
	if r.obs != nil && !r.abandoned.Load() {
		p := r.progress()
		p.Final = true
		r.obs.OnProgress(p)
	}
	if err != nil {
		r.discard()
		return res, err
	}
	return res, nil
}

func (r *runner) openHardware() error {
	if r.spec.Hardware.Mode == spec.HardwareNone {
		return nil
	}
	var needs []string
	for _, o := range r.spec.Outputs {
		if hardwareEncoderDevice(o.Video.Codec) != "" {
			needs = append(needs, o.Video.Codec)
		}
	}
	what := "decoding and scaling"
	if len(needs) > 0 {
		what = strings.Join(needs, ", ")
	}
	hw, reason, err := openHardware(r.spec.Hardware, what)
	if err != nil {
		return err
	}
	r.hw = hw
	if reason != "" {
		// auto without the device: everything in software.
		r.fallback = reason
		for i := range r.spec.Outputs {
			if hardwareEncoderDevice(r.spec.Outputs[i].Video.Codec) != "" {
				r.softwareEncoder(i, "")
			}
		}
		return nil
	}
	opens := map[string]error{}
	for i, o := range r.spec.Outputs {
		codec := o.Video.Codec
		dev := hardwareEncoderDevice(codec)
		if dev == "" {
			continue
		}
		if dev != r.hw.kind {
			return specErr(fmt.Sprintf("outputs[%d].video.codec", i), "output %q uses %s, which needs a %s device, but hardware.device is %s",
				o.Name, codec, dev, r.hw.kind)
		}
		err, seen := opens[codec]
		if !seen {
			err = r.hw.encoderOpens(codec)
			opens[codec] = err
		}
		if err == nil {
			continue
		}
		if r.spec.Hardware.Mode == spec.HardwareRequire {
			return &Error{Kind: KindHardware, Op: "open encoder", Subject: codec,
				Err: fmt.Errorf("%s does not open on this %s device: %w", codec, dev, err)}
		}
		r.softwareEncoder(i, fmt.Sprintf("%s does not open on this %s device (%v)", codec, dev, err))
	}
	return nil
}

// softwareEncoder replaces output i's hardware encoder by libx264 (auto mode), keeping what
// libx264 understands of its settings, and says so in the Result.
func (r *runner) softwareEncoder(i int, why string) {
	o := &r.spec.Outputs[i]
	v := *o.Video
	note := fmt.Sprintf("%s: %s replaced by libx264", o.Name, v.Codec)
	if why != "" {
		note = why + "; " + note
	}
	if r.fallback != "" {
		r.fallback += "; "
	}
	r.fallback += note
	v.Codec, v.Preset, v.Options = "libx264", x264Preset(v.Preset), nil
	switch v.Profile {
	case "baseline", "main", "high":
	default:
		v.Profile = ""
	}
	o.Video = &v
}

// x264Preset keeps a preset that libx264 knows, else its default.
func x264Preset(p string) string {
	switch p {
	case "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo":
		return p
	}
	return ""
}

// setup opens the decoders the outputs need and, per output, its muxer and the route of
// each of its streams (a stream copy or an encoding stage).
func (r *runner) setup(ctx context.Context) error {
	if err := r.dropUndeclared(); err != nil {
		return err
	}
	if err := r.openDecoders(); err != nil {
		return err
	}
	r.outStages = make([][]*stage, len(r.spec.Outputs))
	for i := range r.spec.Outputs {
		if err := r.setupOutput(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// openDecoders opens a decoder for each input stream that an output encodes. A stream
// whose decoder does not open is dropped (with a note in the Result), or fails the run when
// it may not be.
func (r *runner) openDecoders() error {
	needVideo, needAudio := false, false
	for _, o := range r.spec.Outputs {
		needVideo = needVideo || (r.in.video != nil && o.Video.Codec != "none" && o.Video.Codec != "copy")
		needAudio = needAudio || (r.in.audio != nil && o.Audio.Codec != "none" && o.Audio.Codec != "copy")
	}
	if needVideo {
		d, err := r.openDecoder("video", r.in.video, r.hw)
		if err != nil {
			return err
		}
		if d == nil {
			r.in.video = nil
		} else {
			r.vdec = d
			r.vdec.onFrame = r.onVideoFrame
			r.vdec.tl = newTimeline(r.in.url, r.in.video, r.warn)
			r.frameUS = astiav.RescaleQ(1, frameRate(r.in.fc, r.in.video).Invert(), astiav.NewRational(1, 1_000_000))
		}
	}
	if needAudio {
		d, err := r.openDecoder("audio", r.in.audio, nil)
		if err != nil {
			return err
		}
		if d == nil {
			r.in.audio = nil
		} else {
			r.adec = d
			r.adec.tl = newTimeline(r.in.url, r.in.audio, r.warn)
			if r.vdec == nil {
				// Audio-only run: progress follows the audio.
				r.adec.onFrame = r.onAudioFrame
			}
		}
	}
	return nil
}

// openDecoder opens the decoder of the input's media stream st; nil (and no error) when the
// stream's input is unusable and it was dropped.
func (r *runner) openDecoder(media string, st *astiav.Stream, hw *hwDevice) (*decoder, error) {
	d, err := newDecoder(media, r.in.url, st, hw, r.spec.Input.MaxDecodeErrors)
	if err == nil {
		return d, nil
	}
	if KindOf(err) != KindInput {
		return nil, err
	}
	return nil, r.drop(media, st, err)
}

// setupOutput opens output i's muxer and routes the input's streams to it.
func (r *runner) setupOutput(ctx context.Context, i int) error {
	o := &r.spec.Outputs[i]
	m, err := newMuxer(ctx, o, r.in.url)
	if err != nil {
		return err
	}
	r.muxers = append(r.muxers, m)
	r.addPartial(m)
	if err := r.route(i, m, "video", r.in.video, o.Video.Codec, r.vdec); err != nil {
		return err
	}
	if err := r.route(i, m, "audio", r.in.audio, o.Audio.Codec, r.adec); err != nil {
		return err
	}
	if len(m.streams) == 0 && len(r.dropped) > 0 {
		return &Error{Kind: KindInput, Op: "open input", Subject: r.in.url,
			Err: fmt.Errorf("output %q would be empty: %s", o.Name, r.dropped[0].Reason)}
	}
	if len(m.streams) == 0 {
		return specErr(fmt.Sprintf("outputs[%d]", i), "output %q would be empty: the input has no stream it asks for", o.Name)
	}
	return nil
}

// route sends the input's media stream st to output i's muxer m: copied when codec is
// "copy", else through a stage that encodes what dec decodes; not at all when there is no
// such stream or codec is "none".
func (r *runner) route(i int, m *muxer, media string, st *astiav.Stream, codec string, dec *decoder) error {
	if st == nil || codec == "none" {
		return nil
	}
	o := &r.spec.Outputs[i]
	if codec == "copy" {
		idx, err := m.addStream(st.CodecParameters())
		if err != nil {
			return &Error{Kind: KindOutput, Op: "add stream", Subject: o.Name, Err: err}
		}
		r.copies = append(r.copies, copyRoute{from: st.Index(), mux: m, stream: idx, tb: st.TimeBase(),
			tl: newTimeline(r.in.url, st, r.warn)})
		return nil
	}
	idx, err := m.addStream(nil)
	if err != nil {
		return &Error{Kind: KindOutput, Op: "add stream", Subject: o.Name, Err: err}
	}
	s := &stage{media: media, out: o, mux: m, stream: idx, in: make(chan *sharedFrame, 4),
		srcTB: st.TimeBase(), srcRate: frameRate(r.in.fc, st), hw: r.hw, obs: r.obs}
	if lo, ok := r.obs.(LatencyObserver); ok && media == "video" {
		if r.arrivals == nil {
			r.arrivals = &arrivals{}
		}
		s.latency, s.arrivals = lo, r.arrivals
	}
	dec.outs = append(dec.outs, s.in)
	r.stages = append(r.stages, s)
	r.outStages[i] = append(r.outStages[i], s)
	return nil
}

// copyRoute sends an input stream's packets to a muxer unchanged, but for timestamps going
// backwards (tl).
type copyRoute struct {
	from   int
	mux    *muxer
	stream int
	tb     astiav.Rational
	tl     *timeline
}

// demux reads packets and routes them to decoders and stream copies. It closes the decoder
// queues when it returns.
func (r *runner) demux(ctx context.Context) error {
	defer r.closeDecoders()
	vidx, aidx := r.decodedStreams()
	streams := r.in.fc.Streams()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	defer r.in.watchStall()()
	var read int64
	var at time.Duration // media time of the last packet read, for messages
	for {
		r.in.readSince.Store(time.Now().UnixNano())
		err := r.in.fc.ReadFrame(pkt)
		r.in.readSince.Store(0)
		if err != nil {
			if r.inputEnded(ctx, err, read) {
				break
			}
			return r.in.readErr(ctx, err, at) // a stall is reported by run
		}
		read++
		idx := pkt.StreamIndex()
		if idx >= 0 && idx < len(streams) && pkt.Pts() != astiav.NoPtsValue {
			at = max(at, mediaTime(streams[idx], pkt.Pts()))
		}
		for _, c := range r.copies {
			if c.from != idx {
				continue
			}
			cp := astiav.AllocPacket()
			if err := cp.Ref(pkt); err != nil {
				cp.Free()
				pkt.Unref()
				return &Error{Kind: KindInput, Op: "read input", Subject: r.in.url, Err: err}
			}
			c.tl.packet(cp)
			if err := sendMux(ctx, c.mux, muxMsg{stream: c.stream, pkt: cp, tb: c.tb}); err != nil {
				pkt.Unref()
				return err
			}
		}
		var dec *decoder
		switch idx {
		case vidx:
			dec = r.vdec
			if r.arrivals != nil {
				r.arrivals.note(pkt.Pts(), dec.stream.TimeBase(), time.Now())
			}
		case aidx:
			dec = r.adec
		}
		if dec == nil {
			pkt.Unref()
			continue
		}
		p := astiav.AllocPacket()
		p.MoveRef(pkt)
		select {
		case dec.in <- p:
		case <-ctx.Done():
			p.Free()
			return ctx.Err()
		}
	}
	return r.endCopies(ctx)
}

// decodedStreams are the indexes of the input streams that are decoded, -1 for none.
func (r *runner) decodedStreams() (video, audio int) {
	video, audio = -1, -1
	if r.vdec != nil {
		video = r.vdec.stream.Index()
	}
	if r.adec != nil {
		audio = r.adec.stream.Index()
	}
	return video, audio
}

// closeDecoders closes the decoders' queues: the input has no more packets for them.
func (r *runner) closeDecoders() {
	if r.vdec != nil {
		close(r.vdec.in)
	}
	if r.adec != nil {
		close(r.adec.in)
	}
}

// inputEnded reports whether the error of a read, after read packets, is the input's end
// rather than a failure.
func (r *runner) inputEnded(ctx context.Context, err error, read int64) bool {
	if errors.Is(err, astiav.ErrEof) {
		return true
	}
	if ctx.Err() == nil && !r.in.stalled.Load() && !errors.Is(err, astiav.ErrEtimedout) && r.liveEnded(read) {
		// A live stream ends with the server closing the connection, which libav
		// reports as an I/O error, not EOF.
		slog.Info("network input closed; treating it as the end of the stream", "input", redact.URL(r.in.url), "err", redact.Text(err.Error()))
		return true
	}
	return false
}

// endCopies tells the muxers of the stream copies that their streams ended.
func (r *runner) endCopies(ctx context.Context) error {
	for _, c := range r.copies {
		c.tl.summary("packets bumped")
		if err := sendMux(ctx, c.mux, muxMsg{stream: c.stream, done: true}); err != nil {
			return err
		}
	}
	return nil
}

// liveEnded reports whether a read error on the input is how a live network stream ends: it
// delivered packets, and has no known duration that it fell short of (a VOD download cut
// halfway is an error, not an end).
func (r *runner) liveEnded(read int64) bool {
	if !r.in.network || read == 0 {
		return false
	}
	if r.in.duration <= 0 {
		return true
	}
	pos := time.Duration(r.position.Load()) * time.Microsecond
	return pos >= r.in.duration-time.Second
}

func sendMux(ctx context.Context, m *muxer, msg muxMsg) error {
	select {
	case m.in <- msg:
		return nil
	case <-ctx.Done():
		msg.free()
		return ctx.Err()
	}
}

// onVideoFrame accounts a decoded video frame for progress. The position is where the frame
// ends, so a finished run is at 100 %.
func (r *runner) onVideoFrame(pts int64) {
	r.frames.Add(1)
	r.advance(pts, r.vdec.stream.TimeBase(), r.frameUS)
}

// onAudioFrame accounts decoded audio in an audio-only run.
func (r *runner) onAudioFrame(pts int64) {
	r.advance(pts, r.adec.stream.TimeBase(), 0)
}

// advance moves the progress position to a frame at pts (in tb) lasting durUS.
func (r *runner) advance(pts int64, tb astiav.Rational, durUS int64) {
	if pts == astiav.NoPtsValue {
		return
	}
	us := astiav.RescaleQ(pts, tb, astiav.NewRational(1, 1_000_000))
	if !r.havePTS.Load() {
		r.firstPTS.Store(us)
		r.havePTS.Store(true)
	}
	if pos := us - r.firstPTS.Load() + durUS; pos > r.position.Load() {
		r.position.Store(pos)
	}
}

func (r *runner) snapshots(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(snapshotEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.obs.OnProgress(r.progress())
		}
	}
}

func (r *runner) progress() Progress {
	el := time.Since(r.start)
	p := Progress{Elapsed: el, Frames: r.frames.Load(), Percent: -1, ETA: -1,
		Position: time.Duration(r.position.Load()) * time.Microsecond}
	if r.in != nil {
		p.Duration = r.in.duration
	}
	if s := el.Seconds(); s > 0 {
		p.FPS = float64(p.Frames) / s
		p.Speed = p.Position.Seconds() / s
	}
	if p.Duration > 0 {
		p.Percent = min(100, 100*p.Position.Seconds()/p.Duration.Seconds())
		if p.Speed > 0 {
			p.ETA = max(0, time.Duration((p.Duration-p.Position).Seconds()/p.Speed*float64(time.Second)))
		}
	}
	for i, m := range r.muxers {
		op := OutputProgress{Name: r.spec.Outputs[i].Name, Bytes: m.bytes.Load()}
		for _, s := range r.outStages[i] {
			if s.media == "video" {
				op.FramesIn, op.FramesOut = s.framesIn.Load(), s.framesOut.Load()
				op.Dropped = max(0, op.FramesIn-op.FramesOut)
				op.Duplicated = max(0, op.FramesOut-op.FramesIn)
			}
		}
		if m.rs != nil {
			op.Connections, op.Reconnects = m.rs.connections.Load(), m.rs.reconnects.Load()
			op.Connected = m.rs.connected.Load()
			if e := m.rs.lastErr.Load(); e != nil {
				op.LastError = *e
			}
		}
		if pos := p.Position.Seconds(); pos > 0 {
			op.Bitrate = float64(op.Bytes) * 8 / pos
		}
		p.Outputs = append(p.Outputs, op)
	}
	return p
}

// finish writes HLS master playlists and moves outputs into place.
func (r *runner) finish() error {
	for _, m := range r.muxers {
		if err := m.close(true); err != nil {
			return err
		}
	}
	rs, err := measureRenditions(r.spec.Outputs, r.muxers, r.outStages)
	if err != nil {
		return err
	}
	if r.masters, err = writeMasterPlaylists(rs); err != nil {
		return err
	}
	r.manifests, err = writeDASHManifests(rs)
	return err
}

// discard removes the outputs of a failed run, last first: outputs sharing a folder that
// the first of them created leave it empty only once all are gone.
func (r *runner) discard() {
	r.removeLiveMasters()
	for i := len(r.muxers) - 1; i >= 0; i-- {
		r.muxers[i].close(false)
	}
}

func (r *runner) result() Result {
	p := r.progress()
	res := Result{Elapsed: p.Elapsed, Frames: p.Frames, FPS: p.FPS, Speed: p.Speed, Fallback: r.fallback,
		MasterPlaylists: r.masters, DASHManifests: r.manifests}
	r.wmu.Lock()
	res.Warnings, res.DroppedTracks = slices.Clone(r.warnings), slices.Clone(r.dropped)
	r.wmu.Unlock()
	if r.in != nil {
		res.Input = r.in.info()
	}
	if r.vdec != nil {
		res.Decoder.Video, res.Decoder.Hardware = r.vdec.name, r.vdec.hw
	}
	if r.adec != nil {
		res.Decoder.Audio = r.adec.name
	}
	for i, o := range r.spec.Outputs {
		or := OutputResult{Name: o.Name, Container: o.Container, Target: o.Target}
		if i < len(p.Outputs) {
			op := p.Outputs[i]
			or.Frames, or.Dropped, or.Duplicated, or.Bytes, or.Bitrate = op.FramesOut, op.Dropped, op.Duplicated, op.Bytes, op.Bitrate
		}
		if i < len(r.muxers) {
			if spec.WritesHLS(o.Container) {
				or.Playlist = r.muxers[i].playlist
			}
			r.muxers[i].restreamReport(&or)
			if or.Unreached {
				res.Unreached = append(res.Unreached, o.Name)
			}
		}
		if o.Video.Codec == "copy" {
			or.VideoEncoder = "copy"
		}
		if o.Audio.Codec == "copy" {
			or.AudioEncoder = "copy"
		}
		if i < len(r.outStages) {
			for _, s := range r.outStages[i] {
				if s.media == "video" {
					or.VideoEncoder, or.Width, or.Height = s.encName, s.width, s.height
					if d := hardwareEncoderDevice(s.encName); d != "" {
						or.Hardware = d
					} else if r.vdec != nil && r.vdec.hw != "" {
						or.Hardware = r.vdec.hw + " (decode)"
					}
				} else {
					or.AudioEncoder = s.encName
				}
			}
		}
		res.Outputs = append(res.Outputs, or)
	}
	return res
}

// close releases every libav object of the run; Run defers it once.
func (r *runner) close() {
	for _, s := range r.stages {
		s.close()
	}
	if r.vdec != nil {
		r.vdec.close()
	}
	if r.adec != nil {
		r.adec.close()
	}
	for _, m := range r.muxers {
		m.close(false)
	}
	if r.in != nil {
		r.in.close()
	}
	r.hw.close()
}
