package engine

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/asticode/go-astiav"
)

// libav's error words describe the C call that failed, not what is wrong with the file: a
// flipped bit in an AAC packet reads "Operation not permitted" (the decoder returns -1), a
// huge sample-table entry count "Cannot allocate memory", a truncated Matroska file
// "Input/output error". The functions here say what happened in the input and keep libav's
// words as the detail (wrapped, so errors.Is still sees them).

var errNoMemory = astiav.Error(-int(syscall.ENOMEM))

// libavDetail wraps a libav error as the detail of one of ours.
func libavDetail(err error) error { return fmt.Errorf("libav: %w", err) }

// openInputErr describes why a local input could not be opened or probed.
func openInputErr(err error) error {
	switch {
	case errors.Is(err, errNoMemory):
		return fmt.Errorf("a table in the file's header is too large to be real (damaged sample table or size field): %w", libavDetail(err))
	case errors.Is(err, astiav.ErrEio), errors.Is(err, astiav.ErrEof):
		return fmt.Errorf("input ends early (truncated file) while reading its header: %w", libavDetail(err))
	case errors.Is(err, astiav.ErrInvaliddata):
		return fmt.Errorf("not a media file this build can read, or its header is damaged: %w", libavDetail(err))
	}
	return err
}

// readInputErr describes a demuxer failure at media time at of a local input.
func readInputErr(err error, at time.Duration) error {
	switch {
	case errors.Is(err, errNoMemory):
		return fmt.Errorf("packet or table too large at %s (damaged size field): %w", clock(at), libavDetail(err))
	case errors.Is(err, astiav.ErrEio):
		return fmt.Errorf("input ends early (truncated file) at %s: %w", clock(at), libavDetail(err))
	case errors.Is(err, astiav.ErrInvaliddata):
		return fmt.Errorf("damaged container data at %s: %w", clock(at), libavDetail(err))
	}
	return fmt.Errorf("at %s: %w", clock(at), libavDetail(err))
}

// clock formats a media time as 00:00:03.2.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(100 * time.Millisecond)
	h := int(d / time.Hour)
	m := int(d % time.Hour / time.Minute)
	s := (d % time.Minute).Seconds()
	return fmt.Sprintf("%02d:%02d:%04.1f", h, m, s)
}

// mediaTime is where timestamp ts of stream st lies, from the stream's start (as players
// show it); 0 for a missing timestamp.
func mediaTime(st *astiav.Stream, ts int64) time.Duration {
	tb := st.TimeBase()
	if ts == astiav.NoPtsValue || tb.Den() == 0 {
		return 0
	}
	if start := st.StartTime(); start != astiav.NoPtsValue {
		ts -= start
	}
	return time.Duration(astiav.RescaleQ(ts, tb, astiav.NewRational(1, 1_000_000))) * time.Microsecond
}

// streamName names an input stream in messages: "stream 1 (audio, aac)".
func streamName(st *astiav.Stream) string {
	media := st.CodecParameters().MediaType().String()
	if codec := st.CodecParameters().CodecID().Name(); codec != "" && codec != "none" {
		return fmt.Sprintf("stream %d (%s, %s)", st.Index(), media, codec)
	}
	return fmt.Sprintf("stream %d (%s)", st.Index(), media)
}
