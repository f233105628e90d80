package engine

import (
	"path/filepath"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// rendition is what the manifests (HLS master playlists, DASH MPDs) say of one segmented
// output, measured from what was written.
type rendition struct {
	out           *spec.Output
	dir           string // the folder holding the manifests
	playlist      string // its media playlist
	segments      []mediaSegment
	peak, average int64 // bits per second over the segments
	width, height int
	fps           float64
	hasVideo      bool
	hasAudio      bool
	video, audio  string // RFC 6381 codecs of its tracks ("" when unknown)
	sampleRate    int
	channels      int
	timescale     int // of the timeline: the video track's, else the audio track's
}

// measureRenditions reads back every segmented output of a finished run: its segments
// from the media playlist, and from its encoders the codecs, picture and sound.
func measureRenditions(outs []spec.Output, muxers []*muxer, stages [][]*stage) ([]rendition, error) {
	var rs []rendition
	for i := range outs {
		o := &outs[i]
		if !spec.Segmented(o.Container) {
			continue
		}
		m := muxers[i]
		r := rendition{out: o, dir: filepath.Dir(m.final), playlist: m.playlist}
		var err error
		if r.segments, err = readMediaPlaylist(m.playlist); err != nil {
			return nil, &Error{Kind: KindOutput, Op: "read media playlist", Subject: o.Name, Err: err}
		}
		r.peak, r.average = bitrates(r.segments)
		for _, s := range stages[i] {
			codec := codecString(s, m.firstPkt[s.stream])
			tb := m.streams[s.stream].TimeBase()
			switch s.media {
			case "video":
				r.hasVideo, r.video = true, codec
				r.width, r.height = s.width, s.height
				if s.graph != nil {
					r.fps = s.graph.sink.FrameRate().Float64()
				}
				r.timescale = tb.Den()
			case "audio":
				r.hasAudio, r.audio = true, codec
				if s.enc != nil {
					r.sampleRate, r.channels = s.enc.SampleRate(), s.enc.ChannelLayout().Channels()
				}
				if r.timescale == 0 {
					r.timescale = tb.Den()
				}
			}
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// variant is r as an HLS master playlist lists it.
func (r rendition) variant() variant {
	v := variant{name: r.out.Name, uri: r.out.Name + "/index.m3u8", peak: r.peak, average: r.average,
		width: r.width, height: r.height, fps: r.fps, audioOnly: !r.hasVideo && r.hasAudio}
	for _, c := range []string{r.video, r.audio} {
		if c != "" {
			v.codecs = append(v.codecs, c)
		}
	}
	return v
}
