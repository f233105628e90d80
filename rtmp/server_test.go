package rtmp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
)

// testAuth is the consumer-side Authorizer: a fixed set of keys, each mapping to a stream
// ID, and one play token. Every play authorization is signalled on played.
type testAuth struct {
	keys   map[string]string
	token  string
	played chan string
}

func newAuth(token string, keyToID ...string) *testAuth {
	a := &testAuth{keys: map[string]string{}, token: token, played: make(chan string, 64)}
	for i := 0; i+1 < len(keyToID); i += 2 {
		a.keys[keyToID[i]] = keyToID[i+1]
	}
	return a
}

func (a *testAuth) AuthorizePublish(_ context.Context, app, key string) (string, string, error) {
	if id, ok := a.keys[key]; ok && app == "live" {
		return id, "session-of-" + id, nil
	}
	// Echoing the key lets the test check that the server redacts it.
	return "", "", fmt.Errorf("unknown stream key %q", key)
}

func (a *testAuth) AuthorizePlay(_ context.Context, app, name, token string) error {
	if app != "live" || token != a.token {
		return errors.New("bad play token")
	}
	select {
	case a.played <- name:
	default:
	}
	return nil
}

// testObserver records what the server reports.
type testObserver struct {
	mu          sync.Mutex
	published   map[string]StreamInfo
	unpublished map[string]StreamStats
	ended       chan string
}

func newObserver() *testObserver {
	return &testObserver{published: map[string]StreamInfo{}, unpublished: map[string]StreamStats{}, ended: make(chan string, 64)}
}

func (o *testObserver) Published(id string, info StreamInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.published[id] = info
}

func (o *testObserver) Unpublished(id string, stats StreamStats) {
	o.mu.Lock()
	o.unpublished[id] = stats
	o.mu.Unlock()
	o.ended <- id
}

func (o *testObserver) get(id string) (StreamInfo, bool, StreamStats, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	info, p := o.published[id]
	stats, u := o.unpublished[id]
	return info, p, stats, u
}

// waitEnded waits for the Unpublished of id.
func (o *testObserver) waitEnded(t *testing.T, id string) StreamStats {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if _, _, stats, ok := o.get(id); ok {
			return stats
		}
		select {
		case <-o.ended:
		case <-deadline:
			t.Fatalf("stream %s never reported Unpublished", id)
		}
	}
}

type testServer struct {
	*Server
	addr string
	reg  *prometheus.Registry
	obs  *testObserver
	stop func() error
}

// startServer serves cfg on a loopback port; the test's cleanup stops it.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	return startServerOn(t, cfg, nil)
}

// startServerOn is startServer with the listener wrapped by wrap (when not nil).
func startServerOn(t *testing.T, cfg Config, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	ts := &testServer{reg: prometheus.NewRegistry(), obs: newObserver()}
	cfg.Registerer = ts.reg
	if cfg.Observer == nil {
		cfg.Observer = ts.obs
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(30 * time.Second):
				serveErr = errors.New("Serve did not return after its context ended")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Error(err)
		}
	})
	ts.Server, ts.addr = s, addr
	return ts
}

// testWriter sends the server's log to the test's log, where a leaked key would show.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func (ts *testServer) refused(reason string) float64 {
	return value(ts.m.refused.WithLabelValues(reason))
}

// publishSpec pushes a synthetic source (unpaced) to rtmp://addr/live/key as FLV. One GOP
// for the whole source, so a player joining while it is live starts from its first frame.
func publishSpec(scheme, addr, key string, w, h int, seconds float64) spec.Spec {
	return spec.Spec{
		Input: spec.Input{Synthetic: &spec.Synthetic{Width: w, Height: h, Duration: seconds}},
		Outputs: []spec.Output{{
			Container: "flv", Target: scheme + "://" + addr + "/live/" + key,
			Video: &spec.Video{Preset: "ultrafast", GOP: seconds + 1},
			Audio: &spec.Audio{Codec: "aac"},
		}},
	}
}

// pacedSpec pushes a lavfi source slowed to realtime, so the stream stays live for seconds.
func pacedSpec(addr, key string, w, h int, seconds float64, video *spec.Video) spec.Spec {
	graph := fmt.Sprintf("testsrc2=size=%dx%d:rate=30:duration=%g,format=yuv420p,realtime[out0];"+
		"sine=frequency=1000:sample_rate=48000:duration=%g,aformat=channel_layouts=stereo,arealtime[out1]", w, h, seconds, seconds)
	return spec.Spec{
		Input:   spec.Input{URL: graph, Format: "lavfi"},
		Outputs: []spec.Output{{Container: "flv", Target: "rtmp://" + addr + "/live/" + key, Video: video, Audio: &spec.Audio{Codec: "aac"}}},
	}
}

// frameCounter counts the frames a reader's run encoded, by media.
type frameCounter struct{ video, audio atomic.Int64 }

func (c *frameCounter) OnFrame(f engine.FrameStats) {
	if f.Media == "audio" {
		c.audio.Add(1)
	} else {
		c.video.Add(1)
	}
}
func (c *frameCounter) OnProgress(engine.Progress) {}

type readResult struct {
	res    engine.Result
	frames *frameCounter
	err    error
}

// read plays scheme://addr/live/id?token=token through the engine into a null output.
func read(ctx context.Context, scheme, addr, id, token string) readResult {
	fc := &frameCounter{}
	res, err := engine.Run(ctx, spec.Spec{
		Input:   spec.Input{URL: scheme + "://" + addr + "/live/" + id + "?token=" + token, TimeoutSeconds: 15},
		Outputs: []spec.Output{{Container: "null", Video: &spec.Video{Width: 160, Height: 120, Preset: "ultrafast"}}},
	}, fc)
	return readResult{res, fc, err}
}

// startReader starts read and waits until the server has authorized it, so it is waiting
// for (or playing) the stream before the caller publishes.
func startReader(t *testing.T, ctx context.Context, ts *testServer, auth *testAuth, scheme, id, token string) <-chan readResult {
	t.Helper()
	out := make(chan readResult, 1)
	go func() { out <- read(ctx, scheme, ts.addr, id, token) }()
	select {
	case got := <-auth.played:
		if got != id {
			t.Fatalf("play authorized for %q, want %q", got, id)
		}
	case r := <-out:
		t.Fatalf("reader of %s ended before it was authorized: %v", id, r.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("reader of %s never reached the server", id)
	}
	waitPlayerWaiting(t, ts, id)
	return out
}

// waitPlayerWaiting waits until an authorized player of stream id waits for it to go live
// (or the stream is live already, and the player joins it as it is). Authorized is not yet
// waiting: a publisher going live in between sends its first frames before the player joins,
// which then gets only the cached GOP.
func waitPlayerWaiting(t *testing.T, ts *testServer, id string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ts.mu.Lock()
		n := len(ts.waiting[id])
		_, live := ts.streams[id]
		ts.mu.Unlock()
		if n > 0 || live {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the authorized player of %s never started waiting for it", id)
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// checkRead checks a reader got all of a 2 s, 30 fps source with its audio, as H.264 + AAC.
func checkRead(t *testing.T, id string, r readResult, w, h int, frames int64) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("reading %s: %v", id, r.err)
	}
	in := r.res.Input
	if in.VideoCodec != "h264" || in.AudioCodec != "aac" || in.Width != w || in.Height != h {
		t.Errorf("reader of %s saw %s %dx%d + %s, want h264 %dx%d + aac", id, in.VideoCodec, in.Width, in.Height, in.AudioCodec, w, h)
	}
	if r.res.Frames != frames {
		t.Errorf("reader of %s decoded %d video frames, want all %d", id, r.res.Frames, frames)
	}
	if r.frames.video.Load() == 0 {
		t.Errorf("reader of %s encoded no video frames", id)
	}
	if r.frames.audio.Load() == 0 {
		t.Errorf("reader of %s got no audio frames", id)
	}
}

func TestPublishAndPlay(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-1", "key-secret-1", "stream-a")
	ts := startServer(t, Config{Auth: auth})
	ctx := testCtx(t)

	reader := startReader(t, ctx, ts, auth, "rtmp", "stream-a", "tok-1")
	if _, err := engine.Run(ctx, publishSpec("rtmp", ts.addr, "key-secret-1", 320, 240, 2), nil); err != nil {
		t.Fatalf("publish: %v", err)
	}
	checkRead(t, "stream-a", <-reader, 320, 240, 60)

	stats := ts.obs.waitEnded(t, "stream-a")
	info, ok, _, _ := ts.obs.get("stream-a")
	if !ok {
		t.Fatal("no Published for stream-a")
	}
	want := StreamInfo{VideoCodec: "h264", Width: 320, Height: 240, FPS: 30, AudioCodec: "aac", SampleRate: 48000, Channels: 2,
		Session: "session-of-stream-a"}
	want.Remote = info.Remote
	if info != want || info.Remote == "" {
		t.Errorf("Published %+v, want %+v with a remote address", info, want)
	}
	if stats.VideoFrames != 60 || stats.AudioFrames == 0 || stats.Bytes == 0 || stats.Dropped != 0 ||
		!stats.Ended.After(stats.Started) || stats.BitrateBPS <= 0 {
		t.Errorf("Unpublished stats %+v: want 60 video frames, audio, bytes, no drops, a time span and a bitrate", stats)
	}
	if _, _, live := ts.Live("stream-a"); live {
		t.Error("stream-a is still live after its publisher left")
	}
	families, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stream" {
					t.Errorf("series %s{stream=%q} left after the stream ended", f.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-2", "key-secret-2", "stream-b")
	var logged syncbuf.Buffer
	ts := startServer(t, Config{Auth: auth, Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PlayWait: -1})
	ctx := testCtx(t)

	t.Run("wrong key", func(t *testing.T) {
		if _, err := engine.Run(ctx, publishSpec("rtmp", ts.addr, "wrong-key-xyz", 160, 120, 1), nil); err == nil {
			t.Fatal("publishing with a wrong key succeeded")
		}
		if got := ts.refused(ReasonAuth); got != 1 {
			t.Errorf("refused{auth} = %v, want 1", got)
		}
		ts.obs.mu.Lock()
		n := len(ts.obs.published)
		ts.obs.mu.Unlock()
		if n != 0 {
			t.Errorf("%d streams Published after a wrong key", n)
		}
		if logged.Contains("wrong-key-xyz") {
			t.Error("the server logged the stream key")
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		r := read(ctx, "rtmp", ts.addr, "stream-b", "bad-token-xyz")
		if r.err == nil {
			t.Fatal("playing with a wrong token succeeded")
		}
		if got := ts.refused(ReasonAuth); got != 2 {
			t.Errorf("refused{auth} = %v, want 2", got)
		}
		if logged.Contains("bad-token-xyz") {
			t.Error("the server logged the play token")
		}
	})
	t.Run("not live", func(t *testing.T) {
		if r := read(ctx, "rtmp", ts.addr, "stream-b", "tok-2"); r.err == nil {
			t.Fatal("playing a stream that is not live succeeded")
		}
		if got := ts.refused(ReasonNotLive); got != 1 {
			t.Errorf("refused{not_live} = %v, want 1", got)
		}
	})
}

// waitLive waits until id is live on ts.
func waitLive(t *testing.T, ts *testServer, id string, publisher <-chan error) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if _, _, ok := ts.Live(id); ok {
			return
		}
		select {
		case err := <-publisher:
			t.Fatalf("publisher of %s ended before it was live: %v", id, err)
		case <-deadline:
			t.Fatalf("%s never went live", id)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestDuplicatePublisherRefused(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-3", "key-secret-3", "stream-c")
	ts := startServer(t, Config{Auth: auth})
	ctx := testCtx(t)

	firstCtx, stopFirst := context.WithCancel(ctx)
	defer stopFirst()
	first := make(chan error, 1)
	go func() {
		_, err := engine.Run(firstCtx, pacedSpec(ts.addr, "key-secret-3", 160, 120, 30, &spec.Video{Preset: "ultrafast"}), nil)
		first <- err
	}()
	waitLive(t, ts, "stream-c", first)

	if _, err := engine.Run(ctx, publishSpec("rtmp", ts.addr, "key-secret-3", 160, 120, 1), nil); err == nil {
		t.Fatal("a second publisher on a live stream was accepted")
	}
	if got := ts.refused(ReasonDuplicate); got != 1 {
		t.Errorf("refused{duplicate} = %v, want 1", got)
	}
	info, _, ok := ts.Live("stream-c")
	if !ok {
		t.Fatal("the first publisher was cut off by the second")
	}
	if info.VideoCodec != "h264" || info.Width != 160 {
		t.Errorf("Live reports %+v", info)
	}
	if ids := ts.LiveStreams(); len(ids) != 1 || ids[0] != "stream-c" {
		t.Errorf("LiveStreams() = %v, want [stream-c]", ids)
	}
	stopFirst()
	<-first
	stats := ts.obs.waitEnded(t, "stream-c")
	if stats.VideoFrames == 0 {
		t.Errorf("first publisher's stats %+v: want frames", stats)
	}
	if ids := ts.LiveStreams(); len(ids) != 0 {
		t.Errorf("LiveStreams() after the publisher left = %v, want none", ids)
	}
}

func TestFourConcurrentStreams(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-4", "k1", "s1", "k2", "s2", "k3", "s3", "k4", "s4")
	ts := startServer(t, Config{Auth: auth})
	ctx := testCtx(t)

	readers := map[string]<-chan readResult{}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("s%d", i)
		readers[id] = startReader(t, ctx, ts, auth, "rtmp", id, "tok-4")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 1; i <= 4; i++ {
		wg.Go(func() {
			if _, err := engine.Run(ctx, publishSpec("rtmp", ts.addr, fmt.Sprintf("k%d", i), 160, 120, 2), nil); err != nil {
				errs <- fmt.Errorf("publisher k%d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for id, r := range readers {
		checkRead(t, id, <-r, 160, 120, 60)
	}
}

// dialSlowPlayer plays id as a client that never reads, with a small receive buffer so the
// server's writes back up quickly.
func dialSlowPlayer(ctx context.Context, addr, id, token string) (*gortmplib.Client, error) {
	u, err := url.Parse("rtmp://" + addr + "/live/" + id + "?token=" + token)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c := &gortmplib.Client{URL: u, DialContext: d.DialContext}
	if err := c.Initialize(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func TestSlowPlayerDisconnected(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-5", "key-secret-5", "stream-e")
	// Small server send buffers (no autotuning) so a player that does not read backs up
	// into its queue within a few frames rather than megabytes.
	ts := startServerOn(t, Config{Auth: auth, PlayerQueue: 256, WriteTimeout: 2 * time.Second}, func(ln net.Listener) net.Listener {
		return smallSendBuffers{ln}
	})
	ctx := testCtx(t)

	slow := make(chan *gortmplib.Client, 1)
	go func() {
		c, err := dialSlowPlayer(ctx, ts.addr, "stream-e", "tok-5")
		if err != nil {
			t.Errorf("slow player: %v", err)
		}
		slow <- c
	}()
	<-auth.played
	reader := startReader(t, ctx, ts, auth, "rtmp", "stream-e", "tok-5")

	// 6 s at realtime: about 460 frames, more than the slow player's queue (256) and socket
	// buffers hold; the 2 s the server reads to find the tracks arrive as one burst that the
	// queue must (and does) absorb.
	video := &spec.Video{Preset: "ultrafast", GOP: 1, Options: map[string]string{"qp": "0"}}
	if _, err := engine.Run(ctx, pacedSpec(ts.addr, "key-secret-5", 640, 360, 6, video), nil); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if c := <-slow; c != nil {
		defer c.Close()
	}
	checkRead(t, "stream-e", <-reader, 640, 360, 180)
	stats := ts.obs.waitEnded(t, "stream-e")
	if got := value(ts.m.slowPlayers); got != 1 {
		t.Errorf("slow players disconnected = %v, want 1", got)
	}
	if stats.Dropped == 0 {
		t.Errorf("stats %+v: want frames dropped for the slow player", stats)
	}
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// selfSigned makes a TLS server config for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ffrtmp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

func TestRTMPS(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-6", "key-secret-6", "stream-f")
	ts := startServer(t, Config{Auth: auth, TLS: selfSigned(t)})
	ctx := testCtx(t)

	reader := startReader(t, ctx, ts, auth, "rtmps", "stream-f", "tok-6")
	if _, err := engine.Run(ctx, publishSpec("rtmps", ts.addr, "key-secret-6", 160, 120, 2), nil); err != nil {
		t.Fatalf("publish over RTMPS: %v", err)
	}
	checkRead(t, "stream-f", <-reader, 160, 120, 60)

	// A plain RTMP client gets nowhere on the TLS port.
	if _, err := engine.Run(ctx, publishSpec("rtmp", ts.addr, "key-secret-6", 160, 120, 1), nil); err == nil {
		t.Error("plain RTMP publish on the RTMPS port succeeded")
	}
}

// closedSoon reports whether the server closes c (a read ends in EOF or a reset, not in the
// test's own generous deadline).
func closedSoon(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{Auth: newAuth("t"), MaxConns: 2, HandshakeTimeout: 2 * time.Second})
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// The third is over the limit; the first two are silent and time out in the handshake.
	for i, c := range conns {
		if !closedSoon(c) {
			t.Errorf("connection %d was not closed by the server", i)
		}
	}
	if got := ts.refused(ReasonLimit); got != 1 {
		t.Errorf("refused{limit} = %v, want 1", got)
	}
	if got := ts.refused(ReasonProtocol); got != 2 {
		t.Errorf("refused{protocol} = %v, want 2 (silent clients)", got)
	}
}

// Not parallel: it counts the process's goroutines.
func TestServeStopsAndClosesEverything(t *testing.T) {
	// A first run warms up whatever the engine keeps for the process's life.
	warm := newAuth("tok-7", "key-secret-7", "stream-g")
	ctx := testCtx(t)
	ts0 := startServer(t, Config{Auth: warm})
	if _, err := engine.Run(ctx, publishSpec("rtmp", ts0.addr, "key-secret-7", 160, 120, 0.5), nil); err != nil {
		t.Fatal(err)
	}
	if err := ts0.stop(); err != nil {
		t.Fatal(err)
	}
	before := settledGoroutines(0)

	auth := newAuth("tok-7", "key-secret-7", "stream-g")
	ts := startServer(t, Config{Auth: auth})
	publisher := make(chan error, 1)
	go func() {
		_, err := engine.Run(ctx, pacedSpec(ts.addr, "key-secret-7", 160, 120, 60, &spec.Video{Preset: "ultrafast"}), nil)
		publisher <- err
	}()
	waitLive(t, ts, "stream-g", publisher)
	reader := startReader(t, ctx, ts, auth, "rtmp", "stream-g", "tok-7")
	silent, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	if !closedSoon(silent) {
		t.Error("an idle connection stayed open after Serve returned")
	}
	select {
	case err := <-publisher:
		if err == nil {
			t.Error("the publisher's run succeeded although the server went away mid-stream")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the publisher was not disconnected when the server stopped")
	}
	select {
	case <-reader:
	case <-time.After(30 * time.Second):
		t.Fatal("the player was not disconnected when the server stopped")
	}
	stats := ts.obs.waitEnded(t, "stream-g")
	if stats.VideoFrames == 0 {
		t.Errorf("stats %+v", stats)
	}
	if after := settledGoroutines(before); after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after the server stopped:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// settledGoroutines waits (bounded) for the goroutine count to fall to target or stop
// changing, and returns it.
func settledGoroutines(target int) int {
	n := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m <= target || (target == 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}
