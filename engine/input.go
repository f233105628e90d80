package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// input is an opened, probed input.
type input struct {
	fc *astiav.FormatContext
	// ii must outlive fc: libav keeps a pointer into it (go-astiav v0.39 trap).
	ii       *astiav.IOInterrupter
	url      string // as the user named it, for messages
	video    *astiav.Stream
	audio    *astiav.Stream
	duration time.Duration // 0 when unknown
	network  bool

	// A network input that delivers nothing for stallAfter is interrupted: libav's
	// rw_timeout bounds connecting, but not every protocol passes it down to the socket it
	// reads a stream from (http over tcp does not), so a stalled stream would block forever.
	stallAfter time.Duration
	readSince  atomic.Int64 // unix nanoseconds when the pending read began, 0 when none
	stalled    atomic.Bool
}

// watchStall interrupts the input when one read blocks for more than stallAfter (time the
// demuxer spends waiting for the pipeline does not count), until stop is called. The read
// that fails then sees stalled set.
func (i *input) watchStall() (stop func()) {
	if !i.network || i.stallAfter <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	ii := i.ii
	go func() {
		t := time.NewTicker(min(i.stallAfter/4, 250*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				if since := i.readSince.Load(); since != 0 && now.Sub(time.Unix(0, since)) > i.stallAfter {
					i.stalled.Store(true)
					ii.Interrupt()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// isNetworkURL reports whether u is read over a network protocol (for rw_timeout and error
// classification).
func isNetworkURL(u string) bool {
	for _, p := range []string{"http://", "https://", "rtmp://", "rtmps://", "tcp://", "udp://", "srt://", "rtsp://"} {
		if strings.HasPrefix(strings.ToLower(u), p) {
			return true
		}
	}
	return false
}

// synthURL is the lavfi graph of a synthetic source.
func synthURL(s *spec.Synthetic) string {
	v := fmt.Sprintf("testsrc2=size=%dx%d:rate=%s:duration=%s,format=yuv420p[out0]",
		s.Width, s.Height, s.FPS, strconv.FormatFloat(s.Duration, 'f', -1, 64))
	if s.NoAudio {
		return v
	}
	return v + fmt.Sprintf(";sine=frequency=1000:sample_rate=48000:duration=%s,aformat=channel_layouts=stereo[out1]",
		strconv.FormatFloat(s.Duration, 'f', -1, 64))
}

// openInput opens and probes in. The caller closes the result.
func openInput(ctx context.Context, in spec.Input) (_ *input, err error) {
	i := &input{url: in.URL, ii: astiav.NewIOInterrupter()}
	defer func() {
		if err != nil {
			i.close()
		}
	}()
	stop := context.AfterFunc(ctx, i.ii.Interrupt)
	defer stop()

	url, ifmt, err := i.source(in)
	if err != nil {
		return nil, err
	}
	i.network = isNetworkURL(url)
	d, err := i.openOptions(in)
	if err != nil {
		return nil, err
	}
	defer d.Free()
	local, err := checkLocal(in, url, ifmt)
	if err != nil {
		return nil, err
	}
	if err := i.open(ctx, url, ifmt, d, local, in.Options["format_whitelist"]); err != nil {
		return nil, err
	}
	if err := i.pickStreams(); err != nil {
		return nil, err
	}
	if d := i.fc.Duration(); d > 0 {
		i.duration = time.Duration(d) * time.Microsecond
	} else if in.Synthetic != nil {
		i.duration = time.Duration(in.Synthetic.Duration * float64(time.Second))
	}
	return i, nil
}

// source is what libav opens for in: its URL (a lavfi graph for a synthetic source, which
// then gets a name for messages) and its input format (nil: libav guesses).
func (i *input) source(in spec.Input) (string, *astiav.InputFormat, error) {
	url := in.URL
	var ifmt *astiav.InputFormat
	if in.Synthetic != nil {
		url = synthURL(in.Synthetic)
		i.url = fmt.Sprintf("synthetic %dx%d@%s %gs", in.Synthetic.Width, in.Synthetic.Height, in.Synthetic.FPS, in.Synthetic.Duration)
		ifmt = astiav.FindInputFormat("lavfi")
		if ifmt == nil {
			return "", nil, wrap(KindInput, "open input", i.url, errors.New("this FFmpeg build has no lavfi input device"))
		}
	} else if in.Format != "" {
		if ifmt = astiav.FindInputFormat(in.Format); ifmt == nil {
			return "", nil, specErr("input.format", "unknown input format %q", in.Format)
		}
	}
	return strings.TrimPrefix(url, "file://"), ifmt, nil
}

// openOptions are libav's options for opening in: the user's and, for a network input, a
// timeout (which sets the input's stall limit too). The caller frees them.
func (i *input) openOptions(in spec.Input) (*astiav.Dictionary, error) {
	d := astiav.NewDictionary()
	if i.network {
		timeout := in.TimeoutSeconds
		if timeout == 0 {
			timeout = 10
		}
		// libav's own timeout is the backstop for connecting; once streaming, the engine's
		// stall watch (which fires first) tells a stall from the end of a live stream.
		_ = d.Set("rw_timeout", strconv.FormatInt(int64((timeout+1)*1e6), 10), 0)
		i.stallAfter = time.Duration(timeout * float64(time.Second))
	}
	for k, v := range in.Options {
		if err := d.Set(k, v, 0); err != nil {
			d.Free()
			return nil, specErr("input.options", "option %q: %v", k, err)
		}
	}
	return d, nil
}

// checkLocal reports whether url names a local file, which must then be a regular file.
//
// A demuxer that opens the name itself (a device, lavfi) reads no file; for the others,
// a local name must be a regular file: open(2) of a named pipe blocks in the kernel,
// where libav's interrupt callback cannot reach it.
func checkLocal(in spec.Input, url string, ifmt *astiav.InputFormat) (local bool, err error) {
	if in.Synthetic != nil || (ifmt != nil && ifmt.Flags().Has(astiav.IOFormatFlagNofile)) {
		return false, nil
	}
	path, local := localPath(url)
	if local {
		if err := CheckLocalInput(path); err != nil {
			return false, err
		}
	}
	return local, nil
}

// open opens url in format ifmt (nil: libav guesses) with options d and probes its
// streams. When libav refuses a local file, the error names the format it probed if that
// format is outside the input's format whitelist.
func (i *input) open(ctx context.Context, url string, ifmt *astiav.InputFormat, d *astiav.Dictionary, local bool, whitelist string) error {
	if i.fc = astiav.AllocFormatContext(); i.fc == nil {
		return errors.New("allocate format context")
	}
	i.fc.SetIOInterrupter(i.ii)
	if err := i.fc.OpenInput(url, ifmt, d); err != nil {
		// libav frees the context on failure.
		i.fc = nil
		if local && ctx.Err() == nil {
			if ferr := refusedFormat(url, whitelist, err); ferr != nil {
				return &Error{Kind: KindInput, Op: "open input", Subject: i.url, Err: ferr}
			}
		}
		return i.classify(ctx, "open input", err)
	}
	if err := i.fc.FindStreamInfo(nil); err != nil {
		return i.classify(ctx, "probe input", err)
	}
	return nil
}

// pickStreams picks the input's best video stream and the audio stream that goes with it;
// an input with neither is an error.
func (i *input) pickStreams() error {
	if s, _, err := i.fc.FindBestStream(astiav.MediaTypeVideo, -1, -1); err == nil {
		i.video = s
	}
	related := -1
	if i.video != nil {
		related = i.video.Index()
	}
	if s, _, err := i.fc.FindBestStream(astiav.MediaTypeAudio, -1, related); err == nil {
		i.audio = s
	}
	if i.video == nil && i.audio == nil {
		return wrap(KindInput, "open input", i.url, errors.New("no audio or video stream"))
	}
	return nil
}

// classify turns a libav error on opening the input into an engine error of the right kind.
func (i *input) classify(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return &Error{Kind: KindCanceled, Op: op, Subject: i.url, Err: ctx.Err()}
	}
	if i.network {
		return i.networkErr(op, err)
	}
	return &Error{Kind: KindInput, Op: op, Subject: i.url, Err: openInputErr(err)}
}

// readErr turns a libav error reading a packet at media time at into an engine error.
func (i *input) readErr(ctx context.Context, err error, at time.Duration) error {
	if ctx.Err() != nil {
		return &Error{Kind: KindCanceled, Op: "read input", Subject: i.url, Err: ctx.Err()}
	}
	if i.network {
		return i.networkErr("read input", err)
	}
	return &Error{Kind: KindInput, Op: "read input", Subject: i.url, Err: readInputErr(err, at)}
}

// networkErr: a network input's failures are transient (io), except data it did receive
// but cannot read.
func (i *input) networkErr(op string, err error) error {
	kind := KindIO
	if errors.Is(err, astiav.ErrInvaliddata) {
		kind = KindInput
	}
	return &Error{Kind: kind, Op: op, Subject: i.url, Err: err}
}

func (i *input) close() {
	if i.fc != nil {
		i.fc.CloseInput()
		i.fc.Free()
		i.fc = nil
	}
	if i.ii != nil {
		i.ii.Free()
		i.ii = nil
	}
}

// frameRate is the stream's nominal frame rate, 25 when the container does not say.
func frameRate(fc *astiav.FormatContext, s *astiav.Stream) astiav.Rational {
	if r := s.AvgFrameRate(); r.Num() > 0 && r.Den() > 0 {
		return r
	}
	if r := fc.GuessFrameRate(s, nil); r.Num() > 0 && r.Den() > 0 {
		return r
	}
	return astiav.NewRational(25, 1)
}

// info describes the input for a Result.
func (i *input) info() InputInfo {
	info := InputInfo{URL: i.url, Duration: i.duration}
	if f := i.fc.InputFormat(); f != nil {
		info.Format = f.Name()
	}
	if i.video != nil {
		cp := i.video.CodecParameters()
		info.VideoCodec, info.Width, info.Height = cp.CodecID().Name(), cp.Width(), cp.Height()
		info.FPS = frameRate(i.fc, i.video).Float64()
	}
	if i.audio != nil {
		info.AudioCodec = i.audio.CodecParameters().CodecID().Name()
	}
	return info
}
