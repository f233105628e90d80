package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/internal/stats"
)

// Quality measurement for benchmarks: a distorted video (an encode) is decoded next to its
// reference and both go through one libavfilter graph whose psnr and ssim filters tag every
// frame with its scores; the engine averages them as ffmpeg's filters do in their summary.

// QualityOptions tunes MeasureQuality.
type QualityOptions struct {
	// VMAF asks for VMAF too; it needs libvmaf in the FFmpeg build (HasVMAF reports it). When
	// the build lacks it, Quality.VMAF stays nil and no error is returned.
	VMAF bool
	// VMAFModel is the libvmaf model: empty picks vmaf_v0.6.1, or vmaf_4k_v0.6.1 for a
	// reference taller than 1440 lines (the 4K model is trained for 4K viewing).
	VMAFModel string
	// MaxFrames bounds how many frames are compared (0: all).
	MaxFrames int
}

// VMAF models built into libvmaf that QualityOptions.VMAFModel may name.
const (
	VMAFModelHD = "vmaf_v0.6.1"
	VMAFModel4K = "vmaf_4k_v0.6.1"
)

// VMAFModelFor is the model a reference of the given height is scored with by default.
func VMAFModelFor(height int) string {
	if height > 1440 {
		return VMAFModel4K
	}
	return VMAFModelHD
}

// Quality is how close a distorted video is to its reference.
type Quality struct {
	// Frames is the number of frame pairs compared: frames are paired in decoding order, and
	// when the counts differ only the common prefix is compared.
	Frames int `json:"frames"`
	// PSNR is in dB, as ffmpeg's psnr filter reports its "average": the PSNR of the mean over
	// frames of the MSE of Y, U and V weighted by plane size. Identical pictures score
	// PSNRCap (not +Inf, which JSON cannot carry).
	PSNR float64 `json:"psnr"`
	// PSNRY is the PSNR of the luma plane alone, likewise.
	PSNRY float64 `json:"psnr_y"`
	// SSIM is ffmpeg's ssim filter's "All" score (0..1), the mean over frames.
	SSIM float64 `json:"ssim"`
	// VMAF is the mean VMAF score (0..100) over frames; nil when not asked for or when the
	// FFmpeg build has no libvmaf. VMAFP1 is the 1st percentile of the frames' scores (the
	// worst moments), VMAFHarmonic libvmaf's harmonic mean (which weighs bad frames more),
	// and VMAFModel the model that scored them.
	VMAF         *float64 `json:"vmaf,omitempty"`
	VMAFP1       *float64 `json:"vmaf_p1,omitempty"`
	VMAFHarmonic *float64 `json:"vmaf_harmonic_mean,omitempty"`
	VMAFModel    string   `json:"vmaf_model,omitempty"`
}

// PSNRCap is the PSNR reported for identical pictures, and the most any PSNR is reported as.
const PSNRCap = 100.0

// HasVMAF reports whether this FFmpeg build has the libvmaf filter.
func HasVMAF() bool { return astiav.FindFilterByName("libvmaf") != nil }

// MeasureQuality compares the video of distorted with the video of reference. A distorted
// video of another size (a ladder rendition) is scaled to the reference's size (bicubic)
// first; both are compared as 8-bit yuv420p. The error, if any, is an *Error.
func MeasureQuality(ctx context.Context, distorted, reference spec.Input, opt QualityOptions) (Quality, error) {
	installLibavLog()
	dist, err := openVideoSource(ctx, "distorted", distorted)
	if err != nil {
		return Quality{}, err
	}
	defer dist.close()
	ref, err := openVideoSource(ctx, "reference", reference)
	if err != nil {
		return Quality{}, err
	}
	defer ref.close()

	m := &qualityMeter{vmaf: opt.VMAF && HasVMAF(), fr: frameRate(ref.in.fc, ref.in.video)}
	if m.vmaf {
		m.vmafModel = opt.VMAFModel
		if m.vmafModel == "" {
			m.vmafModel = VMAFModelFor(ref.in.video.CodecParameters().Height())
		}
		if m.vmafModel != VMAFModelHD && m.vmafModel != VMAFModel4K {
			return Quality{}, &Error{Kind: KindInput, Op: "measure quality", Subject: "vmaf model",
				Err: fmt.Errorf("model %q: want %s or %s", m.vmafModel, VMAFModelHD, VMAFModel4K)}
		}
	}
	defer m.release()
	if err := compare(ctx, dist, ref, m, opt.MaxFrames); err != nil {
		if ctx.Err() != nil && KindOf(err) != KindCanceled {
			err = &Error{Kind: KindCanceled, Op: "measure quality", Subject: dist.in.url, Err: ctx.Err()}
		}
		return Quality{}, err
	}
	if m.frames == 0 {
		return Quality{}, &Error{Kind: KindInput, Op: "measure quality", Subject: dist.in.url + " against " + ref.in.url,
			Err: errors.New("no video frames to compare")}
	}
	return m.result()
}

// videoSource is one side of a comparison: an input whose video is decoded into frames.
type videoSource struct {
	in     *input
	dec    *decoder
	frames chan *sharedFrame
}

// openVideoSource opens in for its video; role ("distorted", "reference") goes into errors.
func openVideoSource(ctx context.Context, role string, in spec.Input) (*videoSource, error) {
	n, err := normalize(spec.Spec{Input: in, Outputs: []spec.Output{{Container: "null"}}})
	if err != nil {
		return nil, forRole(err, role)
	}
	in = n.Input
	if in.Synthetic != nil {
		syn := *in.Synthetic
		syn.NoAudio = true // only the picture is compared
		in.Synthetic = &syn
	}
	i, err := openInput(ctx, in)
	if err != nil {
		return nil, forRole(err, role)
	}
	if i.video == nil {
		i.close()
		return nil, &Error{Kind: KindInput, Op: "measure quality", Subject: i.url,
			Err: fmt.Errorf("the %s input has no video stream", role)}
	}
	dec, err := newDecoder("video", i.url, i.video, nil, in.MaxDecodeErrors)
	if err != nil {
		i.close()
		return nil, forRole(err, role)
	}
	s := &videoSource{in: i, dec: dec, frames: make(chan *sharedFrame, 4)}
	dec.outs = []chan *sharedFrame{s.frames}
	return s, nil
}

// forRole says in an engine error which of the two inputs it is about.
func forRole(err error, role string) error {
	var e *Error
	if errors.As(err, &e) {
		if e.Op == "" {
			e.Op = role + " input"
		} else {
			e.Op = strings.Replace(e.Op, "input", role+" input", 1)
		}
	}
	return err
}

func (s *videoSource) close() {
	s.dec.close()
	s.in.close()
}

// read feeds the input's video packets to the decoder until the input ends or stopped is
// done. A read blocked in libav is interrupted when aborted is done. It closes the decoder's
// queue when it returns.
func (s *videoSource) read(stopped, aborted context.Context) error {
	defer close(s.dec.in)
	// An interrupted read makes the demuxer return a truncated packet, which its parser logs
	// errors about. A local read returns soon anyway, so it is interrupted only on a cancel or
	// a failure, not when the comparison just has enough frames.
	interrupt := aborted
	if s.in.network {
		interrupt = stopped
	}
	stop := context.AfterFunc(interrupt, s.in.ii.Interrupt)
	defer stop()
	defer s.in.watchStall()()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	last := astiav.NoPtsValue // the last video packet's timestamp, for messages
	for {
		s.in.readSince.Store(time.Now().UnixNano())
		err := s.in.fc.ReadFrame(pkt)
		s.in.readSince.Store(0)
		if errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			if s.in.stalled.Load() {
				return &Error{Kind: KindIO, Op: "read input", Subject: s.in.url,
					Err: fmt.Errorf("no data for %s (input.timeout_seconds)", s.in.stallAfter)}
			}
			return s.in.readErr(interrupt, err, mediaTime(s.in.video, last))
		}
		if pkt.StreamIndex() != s.in.video.Index() {
			pkt.Unref()
			continue
		}
		if pkt.Pts() != astiav.NoPtsValue {
			last = pkt.Pts()
		}
		p := astiav.AllocPacket()
		p.MoveRef(pkt)
		select {
		case s.dec.in <- p:
		case <-stopped.Done():
			p.Free()
			return stopped.Err()
		}
	}
}

// compare decodes both sources and feeds their frames, paired in order, to m until one of
// them ends or maxFrames pairs are in (0: no bound). It returns once every goroutine it
// started has, and every frame is freed.
func compare(ctx context.Context, dist, ref *videoSource, m *qualityMeter, maxFrames int) error {
	aborted, abort := context.WithCancel(ctx) // a cancel or a failure: interrupt everything
	defer abort()
	stopped, stop := context.WithCancel(aborted) // no more frames wanted
	defer stop()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		failure error
	)
	fail := func(err error) {
		if err == nil || isContextErr(err) {
			return // a stop or a cancel ended the producer, not a failure
		}
		mu.Lock()
		if failure == nil {
			failure = err
		}
		mu.Unlock()
		abort()
	}
	for _, s := range []*videoSource{dist, ref} {
		wg.Go(func() { fail(s.read(stopped, aborted)) })
		wg.Go(func() { fail(s.dec.run(stopped, false)) })
	}
	err := m.run(stopped, dist.frames, ref.frames, maxFrames)
	stop()
	for _, s := range []*videoSource{dist, ref} {
		for sf := range s.frames {
			sf.release()
		}
	}
	wg.Wait()
	switch {
	case failure != nil:
		return failure // a queue it closed may have looked like the end of its input
	case err != nil && !isContextErr(err):
		return err
	}
	return ctx.Err()
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// qualityMeter is the comparison graph and the scores summed from the frames it tags.
type qualityMeter struct {
	vmaf bool
	fr   astiav.Rational // the reference's frame rate, for the buffersrc time base

	g                        *astiav.FilterGraph
	dsrc, rsrc               *astiav.BuffersrcFilterContext
	psnrOut, ssimOut, vmOut  *astiav.BuffersinkFilterContext
	vmafDir                  string // holds libvmaf's log, written when the graph is freed
	vmafModel                string
	out                      *astiav.Frame
	frames, ssimFrames       int
	mseSum, mseYSum, ssimSum float64
}

// run pushes frame pairs until a queue closes or maxFrames pairs are in, then flushes the graph.
func (m *qualityMeter) run(ctx context.Context, dist, ref <-chan *sharedFrame, maxFrames int) error {
	for n := int64(0); maxFrames <= 0 || n < int64(maxFrames); n++ {
		d, err := next(ctx, dist)
		if err != nil {
			return err
		}
		if d == nil {
			break
		}
		r, err := next(ctx, ref)
		if err != nil || r == nil {
			d.release()
			if err != nil {
				return err
			}
			break
		}
		err = m.push(d.f, r.f, n)
		d.release()
		r.release()
		if err != nil {
			return err
		}
	}
	if m.g == nil {
		return nil
	}
	for _, src := range []*astiav.BuffersrcFilterContext{m.dsrc, m.rsrc} {
		if err := src.AddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
			return m.filterErr("flush filters", err)
		}
	}
	return m.pull()
}

// next takes the next frame from a queue: nil when it is closed.
func next(ctx context.Context, ch <-chan *sharedFrame) (*sharedFrame, error) {
	select {
	case sf := <-ch:
		return sf, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// push feeds one frame pair, the nth, and collects the scores of what comes out.
func (m *qualityMeter) push(d, r *astiav.Frame, n int64) error {
	if m.g == nil {
		if err := m.build(d, r); err != nil {
			return m.filterErr("build filters", err)
		}
	}
	// The psnr and ssim filters pair their inputs by timestamp; numbering the frames in one
	// time base pairs them by position, whatever the two files' timestamps are.
	d.SetPts(n)
	r.SetPts(n)
	// KEEP_REF: the graph takes its own reference; the decoded picture is not copied.
	if err := m.dsrc.AddFrame(d, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return m.filterErr("filter", err)
	}
	if err := m.rsrc.AddFrame(r, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return m.filterErr("filter", err)
	}
	return m.pull()
}

// build makes the comparison graph for frames like d and r.
func (m *qualityMeter) build(d, r *astiav.Frame) (err error) {
	if m.g = astiav.AllocFilterGraph(); m.g == nil {
		return errors.New("allocate filter graph")
	}
	if m.out = astiav.AllocFrame(); m.out == nil {
		return errors.New("allocate frame")
	}
	tb := astiav.NewRational(m.fr.Den(), m.fr.Num())
	if m.dsrc, err = m.newSource("distorted", d, tb); err != nil {
		return err
	}
	if m.rsrc, err = m.newSource("reference", r, tb); err != nil {
		return err
	}
	desc, err := m.describe(r.Width(), r.Height())
	if err != nil {
		return err
	}
	return m.link(desc)
}

// describe returns the graph between the sources and the sinks: the distorted picture scaled
// to the reference's w×h, both split to each metric.
func (m *qualityMeter) describe(w, h int) (string, error) {
	dsplit, rsplit := "split=2[d1][d2]", "split=2[r1][r2]"
	if m.vmaf {
		dsplit, rsplit = "split=3[d1][d2][d3]", "split=3[r1][r2][r3]"
	}
	desc := fmt.Sprintf("[distorted]scale=%d:%d:flags=bicubic,format=yuv420p,%s;[reference]format=yuv420p,%s;"+
		"[d1][r1]psnr[psnr];[d2][r2]ssim[ssim]", w, h, dsplit, rsplit)
	if m.vmaf {
		dir, err := os.MkdirTemp("", "ffrtmp-vmaf-")
		if err != nil {
			return "", err
		}
		m.vmafDir = dir
		desc += fmt.Sprintf(";[d3][r3]libvmaf=model=version=%s:log_fmt=json:n_threads=%d:log_path=%s[vmaf]",
			m.vmafModel, runtime.NumCPU(), filterArg(filepath.Join(dir, "vmaf.json")))
	}
	return desc, nil
}

// link adds the sinks, and parses and configures desc between the sources and them.
func (m *qualityMeter) link(desc string) error {
	// The graph's open outputs are our sources, its open inputs our sinks. Parse frees the
	// entries it links: only the heads of the lists are ours to free.
	var outputs, inputs *astiav.FilterInOut
	defer func() {
		for _, l := range []*astiav.FilterInOut{outputs, inputs} {
			if l != nil {
				l.Free()
			}
		}
	}()
	outputs = inOut("distorted", m.dsrc.FilterContext(), inOut("reference", m.rsrc.FilterContext(), nil))
	sinks := map[string]**astiav.BuffersinkFilterContext{"psnr": &m.psnrOut, "ssim": &m.ssimOut}
	if m.vmaf {
		sinks["vmaf"] = &m.vmOut
	}
	for name, sink := range sinks {
		var err error
		if *sink, err = m.g.NewBuffersinkFilterContext(astiav.FindFilterByName("buffersink"), name); err != nil {
			return fmt.Errorf("create buffersink: %w", err)
		}
		inputs = inOut(name, (*sink).FilterContext(), inputs)
	}
	if err := m.g.Parse(desc, inputs, outputs); err != nil {
		return fmt.Errorf("parse filters %q: %w", desc, err)
	}
	if err := m.g.Configure(); err != nil {
		return fmt.Errorf("configure filters %q: %w", desc, err)
	}
	return nil
}

// inOut is one entry of a list of open pads, named as in the graph description.
func inOut(name string, fc *astiav.FilterContext, next *astiav.FilterInOut) *astiav.FilterInOut {
	io := astiav.AllocFilterInOut()
	io.SetName(name)
	io.SetFilterContext(fc)
	io.SetPadIdx(0)
	io.SetNext(next)
	return io
}

// newSource adds a buffersrc for frames like f to the graph.
func (m *qualityMeter) newSource(name string, f *astiav.Frame, tb astiav.Rational) (*astiav.BuffersrcFilterContext, error) {
	src, err := m.g.NewBuffersrcFilterContext(astiav.FindFilterByName("buffer"), name)
	if err != nil {
		return nil, fmt.Errorf("create buffer: %w", err)
	}
	params := astiav.AllocBuffersrcFilterContextParameters()
	defer params.Free()
	params.SetWidth(f.Width())
	params.SetHeight(f.Height())
	params.SetPixelFormat(f.PixelFormat())
	params.SetSampleAspectRatio(f.SampleAspectRatio())
	params.SetTimeBase(tb)
	params.SetFramerate(m.fr)
	params.SetColorRange(f.ColorRange())
	params.SetColorSpace(f.ColorSpace())
	if err := src.SetParameters(params); err != nil {
		return nil, fmt.Errorf("set buffer parameters: %w", err)
	}
	if err := src.Initialize(nil); err != nil {
		return nil, fmt.Errorf("initialize buffer: %w", err)
	}
	return src, nil
}

// filterArg escapes s as a filter option value inside a graph description (both levels of
// FFmpeg's filtergraph escaping).
func filterArg(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `:`, `\:`).Replace(s)
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, `[`, `\[`, `]`, `\]`, `,`, `\,`, `;`, `\;`).Replace(s)
}

// pull takes every frame the sinks have ready and adds up the scores the filters tagged
// them with.
func (m *qualityMeter) pull() error {
	for _, sink := range []*astiav.BuffersinkFilterContext{m.psnrOut, m.ssimOut, m.vmOut} {
		if sink == nil {
			continue
		}
		for {
			err := sink.GetFrame(m.out, astiav.NewBuffersinkFlags())
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				break
			}
			if err != nil {
				return m.filterErr("filter", err)
			}
			err = m.score(sink, m.out.Metadata())
			m.out.Unref()
			if err != nil {
				return m.filterErr("read scores", err)
			}
		}
	}
	return nil
}

// score adds one frame's scores, read from the metadata its filter set.
func (m *qualityMeter) score(sink *astiav.BuffersinkFilterContext, md *astiav.Dictionary) error {
	get := func(key string) (float64, error) {
		var e *astiav.DictionaryEntry
		if md != nil {
			e = md.Get(key, nil, astiav.NewDictionaryFlags())
		}
		if e == nil {
			return 0, fmt.Errorf("frame has no %s", key)
		}
		return strconv.ParseFloat(e.Value(), 64)
	}
	switch sink {
	case m.psnrOut:
		// The per-frame MSEs, not PSNRs, add up to ffmpeg's average (and stay finite).
		mse, err := get("lavfi.psnr.mse_avg")
		if err != nil {
			return err
		}
		mseY, err := get("lavfi.psnr.mse.y")
		if err != nil {
			return err
		}
		m.mseSum, m.mseYSum = m.mseSum+mse, m.mseYSum+mseY
		m.frames++
	case m.ssimOut:
		all, err := get("lavfi.ssim.All")
		if err != nil {
			return err
		}
		m.ssimSum += all
		m.ssimFrames++
	}
	return nil
}

func (m *qualityMeter) filterErr(op string, err error) error {
	return &Error{Kind: KindFilter, Op: op, Subject: "quality measurement", Err: err}
}

// result frees the graph (libvmaf writes its log then) and returns the averages.
func (m *qualityMeter) result() (Quality, error) {
	m.close()
	q := Quality{
		Frames: m.frames,
		PSNR:   psnr(m.mseSum / float64(m.frames)),
		PSNRY:  psnr(m.mseYSum / float64(m.frames)),
	}
	if m.ssimFrames > 0 {
		q.SSIM = m.ssimSum / float64(m.ssimFrames)
	}
	if m.vmaf {
		v, err := readVMAF(filepath.Join(m.vmafDir, "vmaf.json"))
		if err != nil {
			return Quality{}, m.filterErr("read vmaf log", err)
		}
		q.VMAF, q.VMAFP1, q.VMAFHarmonic, q.VMAFModel = &v.mean, &v.p1, &v.harmonic, m.vmafModel
	}
	return q, nil
}

// psnr is the PSNR in dB of an 8-bit picture with the given mean squared error.
func psnr(mse float64) float64 {
	if mse <= 0 {
		return PSNRCap
	}
	return min(10*math.Log10(255*255/mse), PSNRCap)
}

// vmafScores are a libvmaf log's pooled scores.
type vmafScores struct{ mean, p1, harmonic float64 }

// readVMAF reads a libvmaf JSON log: the pooled mean and harmonic mean, and the 1st
// percentile of the frames' scores. libvmaf sets no per-frame metadata: its scores only go
// to the log, written when the filter is freed.
func readVMAF(path string) (vmafScores, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return vmafScores{}, err
	}
	var log struct {
		Frames []struct {
			Metrics struct {
				VMAF *float64 `json:"vmaf"`
			} `json:"metrics"`
		} `json:"frames"`
		Pooled map[string]struct {
			Mean     *float64 `json:"mean"`
			Harmonic *float64 `json:"harmonic_mean"`
		} `json:"pooled_metrics"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		return vmafScores{}, fmt.Errorf("%s: %w", path, err)
	}
	pooled := log.Pooled["vmaf"]
	if pooled.Mean == nil || pooled.Harmonic == nil {
		return vmafScores{}, fmt.Errorf("%s: no pooled vmaf mean", path)
	}
	frames := make([]float64, 0, len(log.Frames))
	for _, f := range log.Frames {
		if f.Metrics.VMAF != nil {
			frames = append(frames, *f.Metrics.VMAF)
		}
	}
	if len(frames) == 0 {
		return vmafScores{}, fmt.Errorf("%s: no frame scores", path)
	}
	return vmafScores{mean: *pooled.Mean, harmonic: *pooled.Harmonic, p1: stats.Percentile(slices.Sorted(slices.Values(frames)), 0.01)}, nil
}

// release frees everything, libvmaf's log included.
func (m *qualityMeter) release() {
	m.close()
	if m.vmafDir != "" {
		os.RemoveAll(m.vmafDir)
	}
}

// close frees the graph and the frame.
func (m *qualityMeter) close() {
	if m.g != nil {
		m.g.Free()
		m.g = nil
	}
	if m.out != nil {
		m.out.Free()
		m.out = nil
	}
}
