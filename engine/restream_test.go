package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/rtmp"
)

// The restream destinations in these tests are the project's own RTMP server on loopback,
// accepting any key; what it received is read from its Observer and Live.

// anyKey admits every publisher under its key and refuses players.
type anyKey struct{}

func (anyKey) AuthorizePublish(_ context.Context, _, key string) (string, string, error) {
	return key, "", nil
}
func (anyKey) AuthorizePlay(context.Context, string, string, string) error {
	return errors.New("no players here")
}

// sinkLog records the publishes a sink saw, across restarts.
type sinkLog struct {
	mu        sync.Mutex
	published map[string]int
	ended     map[string][]rtmp.StreamStats
}

func (l *sinkLog) Published(id string, _ rtmp.StreamInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.published[id]++
}

func (l *sinkLog) Unpublished(id string, st rtmp.StreamStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended[id] = append(l.ended[id], st)
}

func (l *sinkLog) counts(id string) (published int, ended []rtmp.StreamStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.published[id], slices.Clone(l.ended[id])
}

// sink is an RTMP server taking restreams.
type sink struct {
	srv    *rtmp.Server
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func startSink(t *testing.T, addr string, log *sinkLog) *sink {
	t.Helper()
	srv, err := rtmp.NewServer(rtmp.Config{Auth: anyKey{}, Observer: log})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // a restart may race the old socket's release
		if ln, err = net.Listen("tcp", addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sink{srv: srv, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(s.stop)
	return s
}

// stop closes the server and every connection, and waits for it.
func (s *sink) stop() {
	s.cancel()
	<-s.done
	s.done <- nil // a second stop returns at once
}

// videoFrames is what the sink has received of stream id while it is live.
func (s *sink) videoFrames(id string) int64 {
	_, st, ok := s.srv.Live(id)
	if !ok {
		return 0
	}
	return st.VideoFrames
}

// waitFor polls cond, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// closedPort is a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// paced is a video-only lavfi source delivered at real time, like a live input.
func paced(seconds int) spec.Input {
	return spec.Input{Format: "lavfi", URL: fmt.Sprintf("testsrc2=size=320x240:rate=30:duration=%d,realtime", seconds)}
}

func restreamOutput(name, addr, key string) spec.Output {
	return spec.Output{Name: name, Target: "rtmp://" + addr + "/live/" + key, Video: fast(320, 240),
		Audio: &spec.Audio{Codec: "none"}, Reconnect: &spec.Reconnect{MaxBackoffSeconds: 2}}
}

func findOutput(t *testing.T, res engine.Result, name string) engine.OutputResult {
	t.Helper()
	for _, o := range res.Outputs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no output %q in the result", name)
	return engine.OutputResult{}
}

// A destination that refuses connections costs neither the file output nor a working
// destination: the run succeeds, retries are counted and the result names it unreached.
func TestRestreamRefusedDestination(t *testing.T) {
	log := &sinkLog{published: map[string]int{}, ended: map[string][]rtmp.StreamStats{}}
	good := startSink(t, "127.0.0.1:0", log)
	dir := t.TempDir()
	file := filepath.Join(dir, "out.mp4")
	res := run(t, spec.Spec{Input: paced(4), Outputs: []spec.Output{
		{Name: "file", Target: file, Video: fast(320, 240), Audio: &spec.Audio{Codec: "none"}},
		restreamOutput("dead", closedPort(t), "SECRETKEY"),
		restreamOutput("good", good.addr, "good"),
	}}, nil)

	if n := ffprobe(t, file).stream("video").frames(t); n < 100 {
		t.Errorf("file output has %d frames, want the input's 120", n)
	}
	dead := findOutput(t, res, "dead")
	if !dead.Unreached || dead.Connections != 0 || dead.Reconnects < 1 || dead.LastError == "" {
		t.Errorf("dead destination: unreached %v, connections %d, reconnects %d, last error %q; want unreached after retries with an error",
			dead.Unreached, dead.Connections, dead.Reconnects, dead.LastError)
	}
	if strings.Contains(dead.LastError, "SECRETKEY") {
		t.Errorf("dead destination's last error shows its stream key: %q", dead.LastError)
	}
	if !slices.Equal(res.Unreached, []string{"dead"}) {
		t.Errorf("result's unreached outputs %q, want [dead]", res.Unreached)
	}
	g := findOutput(t, res, "good")
	if g.Unreached || g.Connections != 1 || g.Bytes == 0 {
		t.Errorf("good destination: unreached %v, connections %d, bytes %d; want one connection that carried the stream",
			g.Unreached, g.Connections, g.Bytes)
	}
	var ended []rtmp.StreamStats
	waitFor(t, "the good destination's publish to end", func() bool {
		_, ended = log.counts("good")
		return len(ended) == 1
	})
	if ended[0].VideoFrames < 100 {
		t.Errorf("good destination received %d video frames, want about 120", ended[0].VideoFrames)
	}
}

// A destination that goes away mid-run and comes back on the same address is reconnected
// and receives frames again.
func TestRestreamDestinationDropsAndReturns(t *testing.T) {
	log := &sinkLog{published: map[string]int{}, ended: map[string][]rtmp.StreamStats{}}
	first := startSink(t, "127.0.0.1:0", log)
	addr := first.addr

	type outcome struct {
		res engine.Result
		err error
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan outcome, 1)
	go func() {
		res, err := engine.Run(ctx, spec.Spec{Input: paced(12), Outputs: []spec.Output{
			restreamOutput("flap", addr, "flap"),
		}}, nil)
		done <- outcome{res, err}
	}()

	waitFor(t, "frames at the first server", func() bool { return first.videoFrames("flap") >= 30 })
	first.stop()
	second := startSink(t, addr, log)
	waitFor(t, "the restream to come back", func() bool { n, _ := log.counts("flap"); return n >= 2 })
	waitFor(t, "frames at the second server", func() bool { return second.videoFrames("flap") >= 30 })

	var o outcome
	select {
	case o = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("run did not end")
	}
	if o.err != nil {
		t.Fatalf("Run: %v", o.err)
	}
	f := findOutput(t, o.res, "flap")
	if f.Unreached || f.Connections < 2 || f.Reconnects < 1 || f.LastError == "" {
		t.Errorf("flap: unreached %v, connections %d, reconnects %d, last error %q; want a reconnection after an error",
			f.Unreached, f.Connections, f.Reconnects, f.LastError)
	}
	if len(o.res.Unreached) != 0 {
		t.Errorf("result's unreached outputs %q, want none", o.res.Unreached)
	}
}
