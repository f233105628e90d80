package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/internal/backoff"
)

// The restream: an rtmp push that survives its destination. A restream output is one
// muxer whose target reconnects with backoff while the ladder goes on.

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
