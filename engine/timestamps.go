package engine

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// Timestamps that go backwards are the input's fault (a damaged or spliced file, shuffled
// chunks), but left alone they surface far away: an encoder fed frames out of order emits
// packets whose DTS goes backwards, and the muxer of whichever rendition gets one first
// fails with "Invalid argument". The engine repairs them where they enter, per input stream,
// as the ffmpeg program does, and says so in a warning:
//
//   - stream copies: a packet's DTS that does not move forward is bumped to the previous one
//     plus one (and its PTS with it), ffmpeg's "Non-monotonic DTS" fix;
//   - decoded audio: a frame that starts before the previous one ended is moved to follow it
//     (no sample is lost; sync drifts by the amount repaired);
//   - decoded video: a frame whose PTS does not move forward is dropped.
//
// Dropping is the one repair that loses content: when most of a video stream went, the run
// fails at its end, naming the input and the stream.

// minDropsToFail is how many video frames must be dropped, besides most of the stream,
// for the run to fail rather than go on repaired.
const minDropsToFail = 10

// timeline repairs one input stream's timestamps. It is used by one goroutine.
type timeline struct {
	input string
	st    *astiav.Stream
	warn  func(string)

	last     int64 // last timestamp let through (PTS for frames, DTS for packets)
	next     int64 // audio: where the last frame let through ends
	seen     int64
	repaired int64
	first    int64 // where the first repair was
}

func newTimeline(input string, st *astiav.Stream, warn func(string)) *timeline {
	return &timeline{input: input, st: st, warn: warn, last: astiav.NoPtsValue, next: astiav.NoPtsValue}
}

// noted warns about the first repair of the stream.
func (t *timeline) noted(at, after int64, what string) {
	t.repaired++
	if t.repaired == 1 {
		t.first = at
		t.warn(fmt.Sprintf("input %s %s: timestamps go backwards at %s (after %s); %s",
			t.input, streamName(t.st), clock(mediaTime(t.st, at)), clock(mediaTime(t.st, after)), what))
	}
}

// videoFrame reports whether a decoded video frame at pts goes on.
func (t *timeline) videoFrame(pts int64) bool {
	t.seen++
	if pts == astiav.NoPtsValue {
		return true
	}
	if t.last != astiav.NoPtsValue && pts <= t.last {
		t.noted(pts, t.last, "frames dropped until the timestamps move forward again")
		return false
	}
	t.last = pts
	return true
}

// audioFrame returns the PTS a decoded audio frame at pts lasting dur goes on with.
func (t *timeline) audioFrame(pts, dur int64) int64 {
	t.seen++
	switch {
	case pts == astiav.NoPtsValue:
		pts = t.next
	case t.next != astiav.NoPtsValue && pts < t.next-max(dur/2, 1):
		t.noted(pts, t.next, "audio moved to follow on (sync may drift by the amount repaired)")
		pts = t.next
	}
	if pts != astiav.NoPtsValue {
		t.next = pts + dur
	}
	return pts
}

// packet bumps a copied packet's DTS (and PTS) that does not move forward.
func (t *timeline) packet(pkt *astiav.Packet) {
	t.seen++
	dts := pkt.Dts()
	if dts == astiav.NoPtsValue {
		return
	}
	if t.last != astiav.NoPtsValue && dts <= t.last {
		t.noted(dts, t.last, "packet timestamps bumped past the previous ones (as ffmpeg does)")
		bumped := t.last + 1
		if pts := pkt.Pts(); pts != astiav.NoPtsValue && pts >= dts {
			pkt.SetPts(max(pts, bumped))
		}
		pkt.SetDts(bumped)
		dts = bumped
	}
	t.last = dts
}

// check fails the run, at the end of a video stream, when most of it was dropped.
func (t *timeline) check() error {
	if t.repaired <= minDropsToFail || t.repaired*2 <= t.seen {
		return nil
	}
	return &Error{Kind: KindInput, Op: "read input", Subject: t.input,
		Err: fmt.Errorf("%s: timestamps go backwards at %s and too often to repair (%d of %d frames dropped)",
			streamName(t.st), clock(mediaTime(t.st, t.first)), t.repaired, t.seen)}
}

// summary warns, at the end of the stream, how much was repaired when it was more than once.
func (t *timeline) summary(what string) {
	if t.repaired > 1 {
		t.warn(fmt.Sprintf("input %s %s: %d %s in all (timestamps going backwards)",
			t.input, streamName(t.st), t.repaired, what))
	}
}
