package livebench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
)

// Sink is the restream destination: an RTMP server on loopback that takes one publisher at a
// time and records when each video frame arrives.
type Sink struct {
	ln  net.Listener
	t0  time.Time
	max int

	mu       sync.Mutex
	frames   []Received
	first    time.Duration
	based    bool
	conns    int
	lastErr  error
	overflow int
}

// NewSink listens on 127.0.0.1 and keeps at most maxFrames frames; times are on the clock
// since t0.
func NewSink(t0 time.Time, maxFrames int) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Sink{ln: ln, t0: t0, max: maxFrames}, nil
}

// URL is where the stream's destination points.
func (s *Sink) URL() string { return "rtmp://" + s.ln.Addr().String() + "/live/sink" }

// Serve accepts publishers until ctx ends, one at a time, and closes them on return.
func (s *Sink) Serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		done := make(chan struct{})
		cstop := context.AfterFunc(ctx, func() { c.Close() })
		go func() { defer close(done); s.handle(c) }()
		<-done
		cstop()
		c.Close()
	}
}

func (s *Sink) handle(c net.Conn) {
	err := s.read(c)
	s.mu.Lock()
	s.conns++
	if err != nil && !errors.Is(err, net.ErrClosed) {
		s.lastErr = err
	}
	s.mu.Unlock()
}

func (s *Sink) read(c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	sc := &gortmplib.ServerConn{RW: c}
	if err := sc.Initialize(); err != nil {
		return fmt.Errorf("sink handshake: %w", err)
	}
	if err := sc.Accept(); err != nil {
		return fmt.Errorf("sink accept: %w", err)
	}
	if !sc.Publish {
		return errors.New("sink: a client wanted to play")
	}
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return fmt.Errorf("sink tracks: %w", err)
	}
	var video *gortmplib.Track
	for _, t := range r.Tracks() {
		switch t.Codec.(type) {
		case *codecs.H264:
			if video == nil {
				video = t
			}
		case *codecs.MPEG4Audio: // the reader needs a callback for every track it gets data on
			r.OnDataMPEG4Audio(t, func(time.Duration, []byte) {})
		default:
			return fmt.Errorf("sink: unexpected %T track in the restream", t.Codec)
		}
	}
	if video == nil {
		return errNoVideo
	}
	r.OnDataH264(video, func(pts, _ time.Duration, _ [][]byte) {
		at := time.Since(s.t0)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.based {
			s.first, s.based = pts, true
		}
		if len(s.frames) >= s.max {
			s.overflow++
			return
		}
		s.frames = append(s.frames, Received{PTS: pts - s.first, At: at})
	})
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := r.Read(); err != nil {
			return err
		}
	}
}

// Frames returns the frames received so far, how many connections ended and the last
// connection error other than a close.
func (s *Sink) Frames() ([]Received, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.frames...), s.conns, s.lastErr
}
