package engine

import (
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
)

// sharedFrame is one decoded frame handed to every output that uses it. Outputs take their
// own libav reference (buffersrc KEEP_REF) and release; the last release frees the frame, so
// picture data is never copied between renditions.
type sharedFrame struct {
	f      *astiav.Frame
	refs   atomic.Int32
	decode time.Duration // decoder time spent producing it
}

func newSharedFrame(f *astiav.Frame, users int, decode time.Duration) *sharedFrame {
	s := &sharedFrame{f: f, decode: decode}
	s.refs.Store(int32(users))
	return s
}

func (s *sharedFrame) release() {
	if s.refs.Add(-1) == 0 {
		s.f.Free()
	}
}
