package livebench

import (
	"bufio"
	"math"
	"strconv"
	"strings"
	"time"
)

// Received is one restreamed video frame: its media timestamp, relative to the first frame
// the sink received, and when it arrived (relative to the benchmark's clock).
type Received struct {
	PTS time.Duration
	At  time.Duration
}

// Alignment maps the restream's frames onto the source's.
type Alignment struct {
	// Offset is the source frame the restream's first frame is: the live job joins the
	// ingest at a keyframe (the relay's cached GOP), and the restream starts its timeline at
	// zero there.
	Offset int
	// Latency is, per matched frame, its arrival minus the send time of its source frame.
	Latency []time.Duration
	// At is, per matched frame, when it arrived.
	At []time.Duration
	// Unmatched counts received frames with no sent source frame.
	Unmatched int
}

// Align finds which source keyframe the restream starts at and measures each frame's
// latency. sent[k] is when source frame k was sent (relative to the same clock as recv;
// negative: not sent); the restream's frame with timestamp pts is source frame
// offset+round(pts·fps). The candidates are the source keyframes; the right one is the
// latest that keeps every frame's latency positive: a later keyframe would have frames
// arrive before they were sent, and an earlier one adds a GOP's duration to every latency.
// That holds while the smallest true latency is below one GOP. It reports false when no
// keyframe fits.
func Align(sent []time.Duration, recv []Received, keyframes []int, fps float64) (Alignment, bool) {
	if len(recv) == 0 || fps <= 0 {
		return Alignment{}, false
	}
	best, found := 0, false
	for _, k0 := range keyframes {
		ok, matched := true, 0
		for _, r := range recv {
			k := k0 + int(math.Round(r.PTS.Seconds()*fps))
			if k < 0 || k >= len(sent) || sent[k] < 0 {
				continue
			}
			matched++
			if r.At < sent[k] {
				ok = false
				break
			}
		}
		if ok && matched > 0 && (!found || k0 > best) {
			best, found = k0, true
		}
	}
	if !found {
		return Alignment{}, false
	}
	a := Alignment{Offset: best}
	for _, r := range recv {
		k := best + int(math.Round(r.PTS.Seconds()*fps))
		if k < 0 || k >= len(sent) || sent[k] < 0 {
			a.Unmatched++
			continue
		}
		a.Latency = append(a.Latency, r.At-sent[k])
		a.At = append(a.At, r.At)
	}
	return a, true
}

// Segment is one media playlist entry.
type Segment struct {
	Seq      int64
	URI      string
	Duration time.Duration
}

// ParsePlaylist reads a live HLS media playlist's segments, numbered from its
// #EXT-X-MEDIA-SEQUENCE.
func ParsePlaylist(text string) []Segment {
	var segs []Segment
	var seq int64
	var dur time.Duration
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			if n, err := strconv.ParseInt(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64); err == nil {
				seq = n
			}
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
				dur = time.Duration(f * float64(time.Second))
			}
		case line != "" && !strings.HasPrefix(line, "#"):
			segs = append(segs, Segment{Seq: seq, URI: line, Duration: dur})
			seq++
			dur = 0
		}
	}
	return segs
}

// SegmentLatency measures HLS segment availability: for each segment, when its playlist
// entry appeared minus when its first source frame was sent. appeared maps a media sequence
// number to when it was first seen; durations maps it to its EXTINF. A segment's start is the
// sum of the durations before it, from sequence 0, so only the segments whose predecessors
// were all seen are measured. offset is the source frame the job's timeline starts at.
func SegmentLatency(sent []time.Duration, appeared map[int64]time.Duration, durations map[int64]time.Duration, offset int, fps float64) []time.Duration {
	var out []time.Duration
	var start time.Duration
	for seq := int64(0); ; seq++ {
		at, ok := appeared[seq]
		d, dok := durations[seq]
		if !ok || !dok {
			return out
		}
		k := offset + int(math.Round(start.Seconds()*fps))
		if k >= 0 && k < len(sent) && sent[k] >= 0 {
			out = append(out, at-sent[k])
		}
		start += d
	}
}

// Since returns the latencies of the frames that arrived at or after from.
func (a Alignment) Since(from time.Duration) []time.Duration {
	var out []time.Duration
	for i, at := range a.At {
		if at >= from {
			out = append(out, a.Latency[i])
		}
	}
	return out
}
