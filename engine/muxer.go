package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/engine/spec"
	"github.com/ffrtmp/ffrtmp/internal/backoff"
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
	case "hls":
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
	if o.Container != "hls" && o.Container != "null" && !isNetworkURL(url) {
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
	if m.out.Container == "hls" {
		h := m.out.HLS
		opts["hls_time"] = strconv.FormatFloat(h.SegmentSeconds, 'f', -1, 64)
		opts["hls_list_size"] = strconv.Itoa(h.PlaylistSize)
		opts["hls_segment_filename"] = filepath.Join(m.path, "seg_%05d.ts")
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
		err := msg.params.Copy(m.streams[msg.stream].CodecParameters())
		msg.params.Free()
		if err != nil {
			return &Error{Kind: KindOutput, Op: "set stream parameters", Subject: m.out.Name, Err: err}
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
	if m.out.Container == "hls" {
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

// ---- restream: an rtmp push that survives its destination ----

// Restream bounds. A restream output buffers, while it is not connected, the packets since
// the last video keyframe, so that a (re)connection starts at a keyframe; a GOP longer than
// the bounds is dropped whole and the output waits for the next keyframe.
const (
	restreamBufPackets = 1024
	restreamBufBytes   = 64 << 20
	// restreamIOTimeout bounds one blocking connect or write to a destination (libav's
	// rw_timeout): a destination that stops reading holds the muxer, and through the
	// bounded queues the whole run, at most this long before it counts as dropped.
	restreamIOTimeout = 5 * time.Second
)

var microseconds = astiav.NewRational(1, 1_000_000)

// restream is the reconnection state of an output with Reconnect set. Its fields are the
// muxer goroutine's, except the counters (read by progress snapshots).
type restream struct {
	backoff  backoff.Policy
	failures int  // failed attempts since the last connection
	video    int  // the muxer stream that is video, -1 when none (known once all opened)
	started  bool // the first attempt was made

	conn    *restreamConn // connected, nil otherwise
	pending *restreamConn // an attempt in flight, its result due on result
	result  chan error
	retry   *time.Timer
	buf     []muxMsg // packets since the last video keyframe, while not connected
	bufSize int
	nextUS  int64 // where the destination's timeline goes on, in microseconds

	connected   atomic.Bool // conn != nil, for progress snapshots
	connections atomic.Int64
	reconnects  atomic.Int64
	dropped     atomic.Int64
	lastErr     atomic.Pointer[string]
}

// restreamConn is one connection to the destination: a fresh muxer each time, since the
// flv muxer writes its header once.
type restreamConn struct {
	fc      *astiav.FormatContext
	pb      *astiav.IOContext
	ii      *astiav.IOInterrupter // must outlive fc and pb
	streams []*astiav.Stream
	stop    func() bool // ends the interrupt-on-cancel hook
	mu      sync.Mutex  // Interrupt from the cancel hook against Free
	freed   bool

	based   bool
	offset  int64 // microseconds subtracted from the run's timestamps
	startUS int64
	lastDTS map[int]int64 // per stream, rebased, in microseconds
}

func newRestream(o *spec.Output) *restream {
	// 1 s doubling to the configured maximum, plus up to a quarter of jitter so that many
	// restreams of one failed destination do not reconnect in step: a ceiling of 1.25 s
	// doubling, drawn from its top fifth. (At the maximum the wait is now up to a fifth
	// under it, where it used to be the maximum itself.)
	maxWait := max(time.Duration(o.Reconnect.MaxBackoffSeconds*float64(time.Second)), time.Second)
	return &restream{backoff: backoff.Policy{Base: 1250 * time.Millisecond, Max: maxWait, Jitter: 0.2},
		video: -1, result: make(chan error, 1)}
}

// runRestream is run for a restream output: it never fails on the destination's account.
// Packets are written while connected and dropped (but for the current GOP) while not;
// connection attempts run in their own goroutine so the run never waits on them.
func (m *muxer) runRestream(ctx context.Context) error {
	rs := m.rs
	seen := m.newStreamsSeen()
	defer m.restreamStop()
	for seen.ndone < len(m.streams) {
		var retry <-chan time.Time
		if rs.retry != nil {
			retry = rs.retry.C
		}
		var msg muxMsg
		select {
		case msg = <-m.in:
		case err := <-rs.result:
			m.restreamConnected(ctx, err)
			continue
		case <-retry:
			rs.retry = nil
			m.restreamConnect(ctx)
			continue
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := m.control(seen, msg); err != nil {
			return err
		}
		if msg.pkt != nil {
			m.restreamPacket(ctx, msg)
		}
		if !rs.started && seen.nopen == len(m.streams) {
			rs.started = true
			for i, st := range m.streams {
				if st.CodecParameters().MediaType() == astiav.MediaTypeVideo {
					rs.video = i
					break
				}
			}
			m.restreamConnect(ctx)
		}
	}
	if c := rs.conn; c != nil {
		if err := c.fc.WriteTrailer(); err != nil {
			m.restreamLost(ctx, "finish stream", err)
		}
	}
	return nil
}

// restreamConnect starts a connection attempt.
func (m *muxer) restreamConnect(ctx context.Context) {
	rs := m.rs
	if rs.pending != nil || rs.conn != nil {
		return
	}
	if rs.connections.Load() > 0 || rs.lastErr.Load() != nil {
		rs.reconnects.Add(1)
	}
	c, err := m.newRestreamConn(ctx)
	if err != nil {
		rs.result <- err // handled like a refused connection, on the next loop
		return
	}
	rs.pending = c
	opts := m.headerOptions()
	go func() { rs.result <- c.open(m.out.Target, opts) }()
}

// newRestreamConn allocates a muxer with the output's streams; open connects it.
func (m *muxer) newRestreamConn(ctx context.Context) (*restreamConn, error) {
	c := &restreamConn{ii: astiav.NewIOInterrupter(), lastDTS: map[int]int64{}}
	fc, err := astiav.AllocOutputFormatContext(nil, "flv", m.out.Target)
	if err != nil || fc == nil {
		c.ii.Free()
		return nil, fmt.Errorf("create muxer: %v", err)
	}
	c.fc = fc
	c.fc.SetIOInterrupter(c.ii)
	c.stop = context.AfterFunc(ctx, c.interrupt)
	for _, tmpl := range m.streams {
		st := c.fc.NewStream(nil)
		if st == nil {
			c.close()
			return nil, errors.New("allocate output stream")
		}
		if err := tmpl.CodecParameters().Copy(st.CodecParameters()); err != nil {
			c.close()
			return nil, fmt.Errorf("copy stream parameters: %w", err)
		}
		st.CodecParameters().SetCodecTag(0)
		c.streams = append(c.streams, st)
	}
	return c, nil
}

// open connects to url and writes the header. It runs in its own goroutine and touches
// nothing but c.
func (c *restreamConn) open(url string, opts map[string]string) error {
	d := astiav.NewDictionary()
	defer d.Free()
	_ = d.Set("rw_timeout", strconv.FormatInt(restreamIOTimeout.Microseconds(), 10), 0)
	pb, err := astiav.OpenIOContext(url, astiav.NewIOContextFlags(astiav.IOContextFlagWrite), c.ii, d)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	c.pb = pb
	c.fc.SetPb(pb)
	h := astiav.NewDictionary()
	defer h.Free()
	for k, v := range opts {
		if err := h.Set(k, v, 0); err != nil {
			return fmt.Errorf("muxer option %s: %w", k, err)
		}
	}
	if err := c.fc.WriteHeader(h); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	return nil
}

func (c *restreamConn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.freed {
		c.ii.Interrupt()
	}
}

// close releases the connection's libav objects (without a trailer).
func (c *restreamConn) close() {
	if c.stop != nil {
		c.stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.freed {
		return
	}
	c.freed = true
	if c.pb != nil {
		_ = c.pb.Close()
	}
	if c.fc != nil {
		c.fc.Free()
	}
	c.ii.Free()
}

// restreamConnected takes the result of the attempt in flight.
func (m *muxer) restreamConnected(ctx context.Context, err error) {
	rs := m.rs
	c := rs.pending
	rs.pending = nil
	log := slog.With("output", m.out.Name, "target", redact.URL(m.out.Target))
	if err != nil {
		if c != nil {
			c.close()
		}
		m.restreamRetry(ctx, err, log, "restream destination not reachable; retrying")
		return
	}
	rs.conn = c
	rs.connected.Store(true)
	rs.failures = 0
	rs.connections.Add(1)
	log.Info("restream connected", "connections", rs.connections.Load())
	// Resume at the buffered keyframe, dropping what came before it.
	buf := rs.buf
	rs.buf, rs.bufSize = nil, 0
	start, startUS := -1, int64(0)
	for i, p := range buf {
		if rs.video < 0 || (p.stream == rs.video && p.pkt.Flags().Has(astiav.PacketFlagKey)) {
			start, startUS = i, packetUS(p)
			break
		}
	}
	for i, p := range buf {
		if start < 0 || i < start || (i > start && packetUS(p) < startUS) || rs.conn == nil {
			rs.dropped.Add(1)
			p.pkt.Free()
			continue
		}
		m.restreamWrite(ctx, p)
	}
}

// restreamRetry notes a failure and schedules the next attempt after rs.backoff.
func (m *muxer) restreamRetry(ctx context.Context, err error, log *slog.Logger, msg string) {
	rs := m.rs
	e := redact.Text(err.Error()) // libav's words may quote the destination with its key
	rs.lastErr.Store(&e)
	rs.failures++
	wait := rs.backoff.Delay(rs.failures)
	if ctx.Err() != nil {
		return
	}
	log.Warn(msg, "err", e, "retry_in", wait.Round(time.Millisecond))
	rs.retry = time.NewTimer(wait)
}

// restreamLost drops the connection after a failed write.
func (m *muxer) restreamLost(ctx context.Context, op string, err error) {
	rs := m.rs
	rs.conn.close()
	rs.conn = nil
	rs.connected.Store(false)
	log := slog.With("output", m.out.Name, "target", redact.URL(m.out.Target))
	m.restreamRetry(ctx, fmt.Errorf("%s: %w", op, err), log, "restream destination dropped; reconnecting")
}

// restreamPacket writes msg when connected, and otherwise keeps it in the bounded buffer
// of the current GOP.
func (m *muxer) restreamPacket(ctx context.Context, msg muxMsg) {
	rs := m.rs
	if rs.conn != nil {
		m.restreamWrite(ctx, msg)
		return
	}
	key := rs.video >= 0 && msg.stream == rs.video && msg.pkt.Flags().Has(astiav.PacketFlagKey)
	if key {
		m.restreamDropBuffer()
	}
	if rs.video >= 0 && len(rs.buf) == 0 && !key {
		// Nothing to resume from before the next keyframe.
		rs.dropped.Add(1)
		msg.pkt.Free()
		return
	}
	rs.buf = append(rs.buf, msg)
	rs.bufSize += msg.pkt.Size()
	if len(rs.buf) > restreamBufPackets || rs.bufSize > restreamBufBytes {
		m.restreamDropBuffer()
	}
}

func (m *muxer) restreamDropBuffer() {
	rs := m.rs
	for _, p := range rs.buf {
		rs.dropped.Add(1)
		p.pkt.Free()
	}
	rs.buf, rs.bufSize = nil, 0
}

// packetUS is msg's decoding time (its presentation time when it has none) in microseconds.
func packetUS(msg muxMsg) int64 {
	ts := msg.pkt.Dts()
	if ts == astiav.NoPtsValue {
		ts = msg.pkt.Pts()
	}
	if ts == astiav.NoPtsValue {
		return 0
	}
	return astiav.RescaleQ(ts, msg.tb, microseconds)
}

// restreamWrite writes msg to the connection, its timestamps rebased so that the
// destination's timeline goes on from where the previous connection left it (a first
// connection starts at zero), monotonic per stream.
func (m *muxer) restreamWrite(ctx context.Context, msg muxMsg) {
	rs, c := m.rs, m.rs.conn
	defer msg.pkt.Free()
	us := packetUS(msg)
	if !c.based {
		c.based, c.offset, c.startUS = true, us-rs.nextUS, rs.nextUS
	}
	dts := us - c.offset
	if last, ok := c.lastDTS[msg.stream]; dts < c.startUS || (ok && dts <= last) {
		rs.dropped.Add(1) // from before the resume point
		return
	}
	c.lastDTS[msg.stream] = dts
	pkt := msg.pkt
	off := astiav.RescaleQ(c.offset, microseconds, msg.tb)
	if pkt.Pts() != astiav.NoPtsValue {
		pkt.SetPts(pkt.Pts() - off)
	}
	if pkt.Dts() != astiav.NoPtsValue {
		pkt.SetDts(pkt.Dts() - off)
	}
	st := c.streams[msg.stream]
	pkt.SetStreamIndex(st.Index())
	pkt.RescaleTs(msg.tb, st.TimeBase())
	pkt.SetPos(-1)
	size := int64(pkt.Size())
	end := dts + astiav.RescaleQ(pkt.Duration(), st.TimeBase(), microseconds)
	if err := c.fc.WriteInterleavedFrame(pkt); err != nil {
		m.restreamLost(ctx, "write packet", err)
		return
	}
	m.bytes.Add(size)
	rs.nextUS = max(rs.nextUS, end)
}

// restreamStop ends the connection and any attempt in flight (interrupting it), and frees
// the buffer. It runs when runRestream returns.
func (m *muxer) restreamStop() {
	rs := m.rs
	if rs.pending != nil {
		rs.pending.interrupt()
		<-rs.result
		rs.pending.close()
		rs.pending = nil
	}
	if rs.conn != nil {
		rs.conn.close()
		rs.conn = nil
		rs.connected.Store(false)
	}
	if rs.retry != nil {
		rs.retry.Stop()
		rs.retry = nil
	}
	m.restreamDropBuffer()
}

// restreamReport fills in a restream output's counters.
func (m *muxer) restreamReport(or *OutputResult) {
	rs := m.rs
	if rs == nil {
		return
	}
	or.Connections, or.Reconnects, or.DroppedPackets = rs.connections.Load(), rs.reconnects.Load(), rs.dropped.Load()
	if e := rs.lastErr.Load(); e != nil {
		or.LastError = *e
	}
	or.Unreached = or.Connections == 0
}
