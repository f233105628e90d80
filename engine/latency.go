package engine

import (
	"sync"
	"time"

	"github.com/asticode/go-astiav"
)

// LatencyObserver is an Observer that also hears each encoded video packet's pipeline
// latency: from the moment the input packet with the same timestamp was read (for a live
// input, the moment it arrived from the ingest) to the encoded packet leaving the encoder
// for the muxer. The engine keeps the read times only for observers that implement it.
type LatencyObserver interface {
	Observer
	OnLatency(output string, d time.Duration)
}

// arrivals remembers when the last input video packets were read, by timestamp, so the
// stages can tell how long ago the source of an encoded packet came in. Written by the
// demuxer, read by every video stage.
type arrivals struct {
	mu   sync.Mutex
	pts  [arrivalsKept]float64 // seconds
	at   [arrivalsKept]time.Time
	next int
	n    int
}

// arrivalsKept bounds the packets remembered: several seconds of video, more than any
// encoder holds in flight.
const arrivalsKept = 512

func (a *arrivals) note(pts int64, tb astiav.Rational, at time.Time) {
	if pts == astiav.NoPtsValue {
		return
	}
	a.mu.Lock()
	a.pts[a.next], a.at[a.next] = float64(pts)*tb.Float64(), at
	a.next = (a.next + 1) % arrivalsKept
	a.n = min(a.n+1, arrivalsKept)
	a.mu.Unlock()
}

// readAt is the read time of the input packet whose timestamp is nearest t (seconds),
// within tolerance (half a frame: a rate conversion moves timestamps); false when none is.
func (a *arrivals) readAt(t, tolerance float64) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	best, bestD := -1, tolerance
	for i := range a.n {
		d := a.pts[i] - t
		if d < 0 {
			d = -d
		}
		if d <= bestD {
			best, bestD = i, d
		}
	}
	if best < 0 {
		return time.Time{}, false
	}
	return a.at[best], true
}
