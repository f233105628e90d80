package rtmp

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Parameter sets of a small H.264 stream; graceAltPPS is another PPS for the same SPS.
var (
	graceSPS    = []byte{0x67, 0x64, 0x00, 0x0c, 0xac, 0x3b, 0x50, 0xb0, 0x4b, 0x42, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x3d, 0x08}
	gracePPS    = []byte{0x68, 0xee, 0x3c, 0x80}
	graceAltPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// graceTracks is an H.264 + AAC stream's tracks with the given PPS and audio sample rate.
func graceTracks(pps []byte, sampleRate int) []*gortmplib.Track {
	return []*gortmplib.Track{
		{Codec: &codecs.H264{SPS: graceSPS, PPS: pps}},
		{Codec: &codecs.MPEG4Audio{Config: &mpeg4audio.AudioSpecificConfig{Type: 2, SampleRate: sampleRate, ChannelCount: 2}}},
	}
}

// synthPublisher is a gortmplib publisher sending synthetic frames, as an encoder would.
type synthPublisher struct {
	c      *gortmplib.Client
	w      *gortmplib.Writer
	tracks []*gortmplib.Track
}

func dialPublisher(t *testing.T, ctx context.Context, addr, key string, tracks []*gortmplib.Track) *synthPublisher {
	t.Helper()
	u, err := url.Parse("rtmp://" + addr + "/live/" + key)
	if err != nil {
		t.Fatal(err)
	}
	c := &gortmplib.Client{URL: u, Publish: true}
	if err := c.Initialize(ctx); err != nil {
		t.Fatalf("publisher connect: %v", err)
	}
	w := &gortmplib.Writer{Conn: c, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		c.Close()
		t.Fatalf("publisher tracks: %v", err)
	}
	return &synthPublisher{c: c, w: w, tracks: tracks}
}

// graceFrame spaces synthetic frames; graceFrames of them (3 s) pass the 2 s of media the
// server reads to find a publisher's tracks.
const (
	graceFrame  = 40 * time.Millisecond
	graceFrames = 75
)

// send writes frames video frames from timestamp 0, one keyframe every 10 starting at frame
// firstKey, each followed by an audio frame.
func (p *synthPublisher) send(t *testing.T, frames, firstKey int) {
	t.Helper()
	for i := range frames {
		ts := time.Duration(i) * graceFrame
		nalu := []byte{0x41, 0x9a, byte(i)} // a non-IDR slice
		if i >= firstKey && (i-firstKey)%10 == 0 {
			nalu = []byte{0x65, 0x88, byte(i)} // an IDR slice
		}
		if err := p.w.WriteH264(p.tracks[0], ts, ts, [][]byte{nalu}); err != nil {
			t.Fatalf("publish video frame %d: %v", i, err)
		}
		if err := p.w.WriteMPEG4Audio(p.tracks[1], ts+graceFrame/2, []byte{0x21, byte(i)}); err != nil {
			t.Fatalf("publish audio frame %d: %v", i, err)
		}
	}
}

// graceFrameSeen is a frame a player received.
type graceFrameSeen struct {
	video bool
	ts    time.Duration
	nalus []byte // NAL unit types, video only
}

// graceRecord is what a player received over one connection, until it ended.
type graceRecord struct {
	mu     sync.Mutex
	frames []graceFrameSeen
	done   chan error
}

func (r *graceRecord) add(f graceFrameSeen) {
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
}

func (r *graceRecord) get() []graceFrameSeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]graceFrameSeen(nil), r.frames...)
}

// startGracePlayer plays stream id over one connection, recording what it receives; it
// returns once the server authorized it.
func startGracePlayer(t *testing.T, ctx context.Context, ts *testServer, auth *testAuth, id, token string) *graceRecord {
	t.Helper()
	rec := &graceRecord{done: make(chan error, 1)}
	u, err := url.Parse("rtmp://" + ts.addr + "/live/" + id + "?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	c := &gortmplib.Client{URL: u}
	go func() {
		if err := c.Initialize(ctx); err != nil {
			rec.done <- err
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, c.Close)
		defer stop()
		r := &gortmplib.Reader{Conn: c}
		if err := r.Initialize(); err != nil {
			rec.done <- err
			return
		}
		for _, tr := range r.Tracks() {
			switch tr.Codec.(type) {
			case *codecs.H264:
				r.OnDataH264(tr, func(_, dts time.Duration, au [][]byte) {
					if !h264HasPicture(au) {
						return // the parameter sets the reader reports on its own
					}
					var types []byte
					for _, n := range au {
						types = append(types, n[0]&0x1f)
					}
					rec.add(graceFrameSeen{video: true, ts: dts, nalus: types})
				})
			case *codecs.MPEG4Audio:
				r.OnDataMPEG4Audio(tr, func(pts time.Duration, _ []byte) { rec.add(graceFrameSeen{ts: pts}) })
			}
		}
		for {
			if err := r.Read(); err != nil {
				rec.done <- err
				return
			}
		}
	}()
	select {
	case <-auth.played:
	case err := <-rec.done:
		t.Fatalf("player ended before it was authorized: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("player never reached the server")
	}
	waitPlayerWaiting(t, ts, id)
	return rec
}

// waitFrames waits until rec holds at least n video frames.
func (r *graceRecord) waitFrames(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		got := 0
		for _, f := range r.get() {
			if f.video {
				got++
			}
		}
		if got >= n {
			return
		}
		select {
		case err := <-r.done:
			t.Fatalf("player ended with %d of %d video frames: %v", got, n, err)
		case <-deadline:
			t.Fatalf("player has %d of %d video frames", got, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitEnd waits for rec's connection to end.
func (r *graceRecord) waitEnd(t *testing.T, why string) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("player still connected: %s", why)
		return nil
	}
}

// waitUnpublished waits for the n-th Unpublished of the observer (counted from 1).
func (o *graceObserver) waitUnpublished(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		o.mu.Lock()
		got := o.unpublished
		o.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-o.changed:
		case <-deadline:
			t.Fatalf("%d Unpublished, want %d", got, n)
		}
	}
}

// graceObserver records every Published and counts Unpublished.
type graceObserver struct {
	mu          sync.Mutex
	published   []StreamInfo
	unpublished int
	changed     chan struct{}
}

func newGraceObserver() *graceObserver { return &graceObserver{changed: make(chan struct{}, 64)} }

func (o *graceObserver) Published(_ string, info StreamInfo) {
	o.mu.Lock()
	o.published = append(o.published, info)
	o.mu.Unlock()
	o.changed <- struct{}{}
}

func (o *graceObserver) Unpublished(string, StreamStats) {
	o.mu.Lock()
	o.unpublished++
	o.mu.Unlock()
	o.changed <- struct{}{}
}

func (o *graceObserver) infos() []StreamInfo {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]StreamInfo(nil), o.published...)
}

// TestReconnectWithinGraceContinues: a publisher sends frames and leaves; another publisher
// of the same stream comes back within the grace with the same tracks (a changed PPS) and
// sends frames from timestamp 0 again, starting with two frames before its first keyframe.
// The one player, over one connection, gets both publishers' frames, from the second
// publisher's first keyframe with its parameter sets in-band, with timestamps that increase
// on every track; after the second publisher leaves the player ends with the grace.
func TestReconnectWithinGraceContinues(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-g1", "key-g1", "stream-g1")
	obs := newGraceObserver()
	ts := startServer(t, Config{Auth: auth, Observer: obs, Grace: 3 * time.Second})
	ctx := testCtx(t)

	player := startGracePlayer(t, ctx, ts, auth, "stream-g1", "tok-g1")
	a := dialPublisher(t, ctx, ts.addr, "key-g1", graceTracks(gracePPS, 44100))
	const framesA, framesB, skipB = graceFrames, graceFrames, 2
	a.send(t, framesA, 0)
	player.waitFrames(t, framesA)
	a.c.Close()
	obs.waitUnpublished(t, 1)

	b := dialPublisher(t, ctx, ts.addr, "key-g1", graceTracks(graceAltPPS, 44100))
	b.send(t, framesB, skipB)
	player.waitFrames(t, framesA+framesB-skipB)
	if infos := obs.infos(); len(infos) != 2 || infos[0].Continued || !infos[1].Continued {
		t.Errorf("Published %+v, want a new stream then a continued one", infos)
	}
	b.c.Close()
	obs.waitUnpublished(t, 2)
	if _, _, live := ts.Live("stream-g1"); live {
		t.Error("the stream is live in its grace")
	}
	if err := player.waitEnd(t, "after the grace"); err == nil {
		t.Error("the player's read ended without an error")
	}

	frames := player.get()
	var videoTS []time.Duration
	last := map[bool]time.Duration{}
	for i, f := range frames {
		if prev, ok := last[f.video]; ok && f.ts <= prev {
			t.Fatalf("frame %d (video %t, %v) at %v after %v: timestamps go back; first %+v", i, f.video, f.nalus, f.ts, prev, frames[:min(6, len(frames))])
		}
		last[f.video] = f.ts
		if f.video {
			videoTS = append(videoTS, f.ts)
		}
	}
	if len(videoTS) != framesA+framesB-skipB {
		t.Fatalf("player got %d video frames, want %d (the second publisher's from its first keyframe)",
			len(videoTS), framesA+framesB-skipB)
	}
	for i := 1; i < len(videoTS); i++ {
		if d := videoTS[i] - videoTS[i-1]; d != graceFrame {
			t.Errorf("video frame %d follows the last by %v, want %v (one frame)", i, d, graceFrame)
		}
	}
	var first []byte
	for _, f := range frames {
		if f.video && f.ts == videoTS[framesA] {
			first = f.nalus
		}
	}
	if string(first) != string([]byte{7, 8, 5}) {
		t.Errorf("the continued stream starts with NAL units %v, want SPS, PPS, IDR", first)
	}
}

// TestGraceEndsPlayers: past the grace a held stream's players end, and a publisher that
// comes later starts a new stream; with other tracks within the grace the players end at
// once and the publisher starts a new stream too.
func TestGraceEndsPlayers(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-g2", "key-g2", "stream-g2")
	obs := newGraceObserver()
	ts := startServer(t, Config{Auth: auth, Observer: obs, Grace: 100 * time.Millisecond})
	ctx := testCtx(t)

	player := startGracePlayer(t, ctx, ts, auth, "stream-g2", "tok-g2")
	a := dialPublisher(t, ctx, ts.addr, "key-g2", graceTracks(gracePPS, 44100))
	a.send(t, graceFrames, 0)
	player.waitFrames(t, graceFrames)
	a.c.Close()
	if err := player.waitEnd(t, "past the grace"); err == nil {
		t.Error("the player's read ended without an error")
	}
	obs.waitUnpublished(t, 1)

	player = startGracePlayer(t, ctx, ts, auth, "stream-g2", "tok-g2")
	b := dialPublisher(t, ctx, ts.addr, "key-g2", graceTracks(gracePPS, 44100))
	defer b.c.Close()
	b.send(t, graceFrames, 0)
	player.waitFrames(t, graceFrames)
	if infos := obs.infos(); len(infos) != 2 || infos[1].Continued {
		t.Errorf("Published %+v, want two new streams", infos)
	}
}

// TestReconnectOtherTracksEndsPlayers: a publisher coming back within the grace with another
// audio configuration does not continue the stream: its players end at once.
func TestReconnectOtherTracksEndsPlayers(t *testing.T) {
	t.Parallel()
	auth := newAuth("tok-g3", "key-g3", "stream-g3")
	obs := newGraceObserver()
	ts := startServer(t, Config{Auth: auth, Observer: obs, Grace: time.Hour})
	ctx := testCtx(t)

	player := startGracePlayer(t, ctx, ts, auth, "stream-g3", "tok-g3")
	a := dialPublisher(t, ctx, ts.addr, "key-g3", graceTracks(gracePPS, 44100))
	a.send(t, graceFrames, 0)
	player.waitFrames(t, graceFrames)
	a.c.Close()
	obs.waitUnpublished(t, 1)

	b := dialPublisher(t, ctx, ts.addr, "key-g3", graceTracks(gracePPS, 48000))
	defer b.c.Close()
	b.send(t, graceFrames, 0)
	if err := player.waitEnd(t, "the publisher came back with other tracks"); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("the player's read ended with %v", err)
	}
	waitLive(t, ts, "stream-g3", nil)
	if infos := obs.infos(); len(infos) != 2 || infos[1].Continued || infos[1].SampleRate != 48000 {
		t.Errorf("Published %+v, want two new streams, the second at 48 kHz", infos)
	}
}
