package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/asticode/go-astiav"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// muxMsg is what an output's stages send its muxer: a stream's codec parameters once its
// encoder opened, a packet (in time base tb), or that a stream ended.
type muxMsg struct {
	stream int
	params *astiav.CodecParameters
	pkt    *astiav.Packet
	tb     astiav.Rational
	done   bool
}

// muxer writes one output. Files are written under a temporary name and renamed into place
// only when the run succeeds; HLS renditions are built in a temporary folder.
type muxer struct {
	out     *spec.Output
	input   string // the run's input, for messages
	fc      *astiav.FormatContext
	pb      *astiav.IOContext
	ii      *astiav.IOInterrupter // must outlive fc and pb
	streams []*astiav.Stream
	copied  map[int]bool // streams whose packets come from the input unchanged
	in      chan muxMsg

	path     string // where libav writes (temporary for files)
	final    string // where the output ends up
	playlist string // hls: final media playlist path
	bytes    atomic.Int64
	firstPkt map[int][]byte // first packet of each stream (codec strings for HLS)
	lastDTS  map[int]int64  // last DTS written per stream, in the stream's time base
	wrote    bool
	closed   bool
	created  []string  // folders this muxer created, deepest last
	rs       *restream // set for outputs with Reconnect: connections are its own
}

// newMuxer allocates the output context and opens its target, so an unwritable target
// fails the run before any decoding.
func newMuxer(ctx context.Context, o *spec.Output, input string) (_ *muxer, err error) {
	m := &muxer{out: o, input: input, ii: astiav.NewIOInterrupter(), in: make(chan muxMsg, 64),
		firstPkt: map[int][]byte{}, copied: map[int]bool{}, lastDTS: map[int]int64{}}
	defer func() {
		if err != nil {
			m.close(false)
		}
	}()
	stop := context.AfterFunc(ctx, m.ii.Interrupt)
	defer stop()

	format, url := o.Container, o.Target
	if o.Reconnect != nil {
		// A restream connects when its streams are known, and again whenever it drops:
		// this context only holds the streams, each connection has its own.
		m.rs = newRestream(o)
		if m.fc, err = astiav.AllocOutputFormatContext(nil, "flv", url); err != nil || m.fc == nil {
			return nil, &Error{Kind: KindOutput, Op: "create muxer", Subject: o.Name, Err: fmt.Errorf("flv: %v", err)}
		}
		return m, nil
	}
	switch o.Container {
	case "mkv":
		format = "matroska"
	case "null":
		url = ""
	case "hls", "dash", "cmaf":
		// One HLS muxer per rendition writes the segments (and its media playlist, which
		// the manifests are made from); dash and cmaf always with fMP4 segments.
		format = "hls"
		dir := strings.TrimPrefix(o.Target, "file://")
		m.final = filepath.Join(dir, o.Name)
		m.playlist = filepath.Join(m.final, "index.m3u8")
		m.path = m.final
		if !isLive(o) {
			m.path = filepath.Join(dir, "."+o.Name+".partial-"+randSuffix())
		}
		if err := m.mkdirAll(m.path); err != nil {
			return nil, &Error{Kind: KindOutput, Op: "create output folder", Subject: o.Name, Err: err}
		}
		url = filepath.Join(m.path, "index.m3u8")
	}
	if !spec.Segmented(o.Container) && o.Container != "null" && !isNetworkURL(url) {
		m.final = strings.TrimPrefix(url, "file://")
		m.path = m.final + ".partial-" + randSuffix()
		// "file:" keeps a name like "concat:x" or "a:b.mp4" a plain file, not a protocol.
		url = "file:" + m.path
		if dir := filepath.Dir(m.final); dir != "" {
			if err := m.mkdirAll(dir); err != nil {
				return nil, &Error{Kind: KindOutput, Op: "create output folder", Subject: o.Name, Err: err}
			}
		}
	}
	if m.fc, err = astiav.AllocOutputFormatContext(nil, format, url); err != nil || m.fc == nil {
		return nil, &Error{Kind: KindOutput, Op: "create muxer", Subject: o.Name, Err: fmt.Errorf("%s: %v", format, err)}
	}
	m.fc.SetIOInterrupter(m.ii)
	if !m.fc.OutputFormat().Flags().Has(astiav.IOFormatFlagNofile) {
		if m.pb, err = astiav.OpenIOContext(url, astiav.NewIOContextFlags(astiav.IOContextFlagWrite), m.ii, nil); err != nil {
			kind := KindOutput
			if isNetworkURL(url) {
				kind = KindIO
			}
			return nil, &Error{Kind: kind, Op: "open output", Subject: o.Name, Err: fmt.Errorf("%s: %w", o.Target, err)}
		}
		m.fc.SetPb(m.pb)
	}
	return m, nil
}

// mkdirAll creates dir and its missing parents, remembering which it created so that a
// failed run can remove them again.
func (m *muxer) mkdirAll(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		m.created = append(m.created, missing[i])
	}
	return nil
}

// removeCreated removes the folders mkdirAll created, deepest first, where they are empty.
func (m *muxer) removeCreated() {
	for i := len(m.created) - 1; i >= 0; i-- {
		os.Remove(m.created[i]) // fails, as it should, when something else is in there
	}
	m.created = nil
}

func randSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hvc1Tag is the MP4 sample entry 'hvc1' as a libav codec tag (little-endian fourcc).
const hvc1Tag = astiav.CodecTag('h') | astiav.CodecTag('v')<<8 | astiav.CodecTag('c')<<16 | astiav.CodecTag('1')<<24

// isLive reports whether o is a live (sliding-window) HLS output.
func isLive(o *spec.Output) bool { return o.HLS != nil && o.HLS.PlaylistSize > 0 }

// addStream adds an output stream; copy streams get their parameters from the input now.
func (m *muxer) addStream(from *astiav.CodecParameters) (int, error) {
	st := m.fc.NewStream(nil)
	if st == nil {
		return 0, errors.New("allocate output stream")
	}
	if from != nil {
		if err := from.Copy(st.CodecParameters()); err != nil {
			return 0, err
		}
		st.CodecParameters().SetCodecTag(0)
		m.copied[len(m.streams)] = true
	}
	m.streams = append(m.streams, st)
	return len(m.streams) - 1, nil
}

// headerOptions are the muxer options for WriteHeader.
func (m *muxer) headerOptions() map[string]string {
	opts := map[string]string{}
	if spec.Segmented(m.out.Container) {
		h := m.out.HLS
		opts["hls_time"] = strconv.FormatFloat(h.SegmentSeconds, 'f', -1, 64)
		opts["hls_list_size"] = strconv.Itoa(h.PlaylistSize)
		opts["hls_segment_filename"] = filepath.Join(m.path, "seg_%05d.ts")
		if h.SegmentType == spec.SegmentFMP4 {
			// CMAF: an init segment (EXT-X-MAP) beside fragmented MP4 segments.
			opts["hls_segment_type"] = "fmp4"
			opts["hls_fmp4_init_filename"] = "init.mp4"
			opts["hls_segment_filename"] = filepath.Join(m.path, "seg_%05d.m4s")
		}
		opts["hls_flags"] = "independent_segments"
		if !isLive(m.out) {
			opts["hls_playlist_type"] = "vod"
		} else {
			opts["hls_flags"] += "+delete_segments"
		}
	}
	for k, v := range m.out.Options {
		opts[k] = v
	}
	return opts
}

// streamsSeen tracks which of a muxer's streams have their parameters and which ended.
type streamsSeen struct {
	open, done   []bool
	nopen, ndone int
}

// newStreamsSeen starts with the copied streams open: their parameters are known at creation.
func (m *muxer) newStreamsSeen() *streamsSeen {
	s := &streamsSeen{open: make([]bool, len(m.streams)), done: make([]bool, len(m.streams))}
	for i := range s.open {
		if m.copied[i] {
			s.open[i] = true
			s.nopen++
		}
	}
	return s
}

// control applies a stream-parameters or end-of-stream message to the muxer and to seen;
// packets are left to the caller.
func (m *muxer) control(seen *streamsSeen, msg muxMsg) error {
	switch {
	case msg.params != nil:
		par := m.streams[msg.stream].CodecParameters()
		err := msg.params.Copy(par)
		msg.params.Free()
		if err != nil {
			return &Error{Kind: KindOutput, Op: "set stream parameters", Subject: m.out.Name, Err: err}
		}
		if par.CodecID() == astiav.CodecIDHevc && (m.out.Container == "mp4" || spec.Segmented(m.out.Container)) {
			// hvc1 (parameter sets in the sample entry only), not the muxer's default hev1:
			// Apple's players and browsers' MSE play only hvc1.
			par.SetCodecTag(hvc1Tag)
		}
		if !seen.open[msg.stream] {
			seen.open[msg.stream] = true
			seen.nopen++
		}
	case msg.done:
		if !seen.done[msg.stream] {
			seen.done[msg.stream] = true
			seen.ndone++
		}
	}
	return nil
}

// run writes packets until every stream ended. The header is written once every stream's
// parameters are known (copies: at creation; encoded streams: when their encoder opened).
func (m *muxer) run(ctx context.Context) error {
	if m.rs != nil {
		return m.runRestream(ctx)
	}
	seen := m.newStreamsSeen()
	var pending []muxMsg
	defer func() {
		for _, p := range pending {
			p.pkt.Free()
		}
	}()
	for seen.ndone < len(m.streams) {
		var msg muxMsg
		select {
		case msg = <-m.in:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := m.control(seen, msg); err != nil {
			return err
		}
		if msg.pkt != nil {
			if m.wrote {
				if err := m.write(msg); err != nil {
					return err
				}
			} else {
				pending = append(pending, msg)
			}
		}
		if !m.wrote && seen.nopen == len(m.streams) {
			if err := m.writeHeader(); err != nil {
				return err
			}
			for len(pending) > 0 {
				p := pending[0]
				pending = pending[1:]
				if err := m.write(p); err != nil {
					return err
				}
			}
		}
	}
	if !m.wrote {
		// The input is at fault (empty, or nothing in it decoded), so the error names it.
		return &Error{Kind: KindInput, Op: "read input", Subject: m.input, Err: fmt.Errorf("it produced no frames for output %q", m.out.Name)}
	}
	if err := m.fc.WriteTrailer(); err != nil {
		return m.writeErr("finish output", err)
	}
	return nil
}

func (m *muxer) writeHeader() error {
	d := astiav.NewDictionary()
	defer d.Free()
	for k, v := range m.headerOptions() {
		if err := d.Set(k, v, 0); err != nil {
			return &Error{Kind: KindSpec, Op: "set muxer option", Subject: m.out.Name, Err: fmt.Errorf("%s: %w", k, err)}
		}
	}
	if err := m.fc.WriteHeader(d); err != nil {
		return m.writeErr("write header", err)
	}
	m.wrote = true
	return nil
}

func (m *muxer) write(msg muxMsg) error {
	defer msg.pkt.Free()
	st := m.streams[msg.stream]
	if _, ok := m.firstPkt[msg.stream]; !ok {
		m.firstPkt[msg.stream] = append([]byte(nil), msg.pkt.Data()...)
	}
	m.bytes.Add(int64(msg.pkt.Size()))
	msg.pkt.SetStreamIndex(st.Index())
	msg.pkt.RescaleTs(msg.tb, st.TimeBase())
	msg.pkt.SetPos(-1)
	m.keepMonotonic(msg.stream, msg.pkt)
	if err := m.fc.WriteInterleavedFrame(msg.pkt); err != nil {
		return m.writeErr("write packet", err)
	}
	return nil
}

// keepMonotonic bumps a DTS that does not move forward, as the ffmpeg program's muxing does.
// Timestamps going backwards in the input are repaired (and reported) where they enter the
// run (timeline); what is left here are collisions from rescaling to a coarser time base,
// which would otherwise fail the write with "Invalid argument".
func (m *muxer) keepMonotonic(stream int, pkt *astiav.Packet) {
	dts := pkt.Dts()
	if dts == astiav.NoPtsValue {
		return
	}
	last, ok := m.lastDTS[stream]
	if ok {
		floor := last + 1
		if m.fc.OutputFormat().Flags().Has(astiav.IOFormatFlagTsNonstrict) {
			floor = last
		}
		if dts < floor {
			if pts := pkt.Pts(); pts != astiav.NoPtsValue && pts >= dts {
				pkt.SetPts(max(pts, floor))
			}
			pkt.SetDts(floor)
			dts = floor
		}
	}
	m.lastDTS[stream] = dts
}

func (m *muxer) writeErr(op string, err error) error {
	kind := KindOutput
	if isNetworkURL(m.out.Target) {
		kind = KindIO
	}
	return &Error{Kind: kind, Op: op, Subject: m.out.Name, Err: err}
}

func (msg muxMsg) free() {
	if msg.pkt != nil {
		msg.pkt.Free()
	}
	if msg.params != nil {
		msg.params.Free()
	}
}

// close releases libav objects and, when ok, moves the output into place; otherwise it removes
// what was written.
func (m *muxer) close(ok bool) error {
	if m.closed {
		return nil
	}
	m.closed = true
	// Senders stop on cancel without waiting for us; free what they left queued.
	for {
		select {
		case msg := <-m.in:
			msg.free()
			continue
		default:
		}
		break
	}
	var err error
	if m.pb != nil {
		if cerr := m.pb.Close(); cerr != nil && ok {
			err = m.writeErr("close output", cerr)
		}
		m.pb = nil
	}
	if m.fc != nil {
		m.fc.Free()
		m.fc = nil
	}
	if m.ii != nil {
		m.ii.Free()
		m.ii = nil
	}
	temporary := m.path != "" && m.path != m.final
	if !ok || err != nil {
		if temporary {
			os.RemoveAll(m.path)
		}
		m.removeCreated()
		return err
	}
	if !temporary {
		return nil
	}
	if spec.Segmented(m.out.Container) {
		if rerr := os.RemoveAll(m.final); rerr != nil {
			return &Error{Kind: KindOutput, Op: "replace output", Subject: m.out.Name, Err: rerr}
		}
	}
	if rerr := os.Rename(m.path, m.final); rerr != nil {
		os.RemoveAll(m.path)
		return &Error{Kind: KindOutput, Op: "move output into place", Subject: m.out.Name, Err: rerr}
	}
	m.path = m.final
	return nil
}
