package rtmp

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/vp9"
)

// unit is one media message of a stream. Its data is shared read-only by every player that
// gets it (gortmplib allocates each message afresh, and its writers copy before changing).
type unit struct {
	// video is set for video tracks; main for the first one, the one players start on.
	video, main bool
	// key marks a random access point of the main track (an IDR for H.264).
	key bool
	// config marks in-band parameter sets (a mid-stream SPS/PPS): relayed, not a frame.
	config bool
	size   int
	// track is the index of the unit's track in its publisher's tracks (the same index in
	// the stream's first tracks, which players were set up with: see compatibleTracks).
	track int
	// ts is the unit's decode timestamp as its publisher sent it; shift is what the stream
	// adds to it so that a publisher who came back continues where the last one stopped.
	ts, shift time.Duration
	// send writes the unit to one player on track t, its timestamps moved by shift.
	send func(w *gortmplib.Writer, t *gortmplib.Track, shift time.Duration) error
}

// write sends the unit to one player whose writer was set up with tracks.
func (u *unit) write(w *gortmplib.Writer, tracks []*gortmplib.Track) error {
	return u.send(w, tracks[u.track], u.shift)
}

// relayTracks registers on r a callback for every track that turns its data into units and
// hands them to emit. It fails on a codec it does not relay. The parameter sets of track i in
// paramSets (those of a publisher who came back with a changed H.264 configuration) are sent
// in-band ahead of each of its keyframes, as players were set up with the first publisher's.
func relayTracks(r *gortmplib.Reader, tracks []*gortmplib.Track, paramSets map[int][][]byte, emit func(*unit)) error {
	var main *gortmplib.Track
	for _, t := range tracks {
		if t.Codec.IsVideo() {
			main = t
			break
		}
	}
	for i, t := range tracks {
		isMain := t == main
		switch t.Codec.(type) {
		case *codecs.H264:
			r.OnDataH264(t, func(pts, dts time.Duration, au [][]byte) {
				key := h264.IsRandomAccess(au)
				if ps := paramSets[i]; key && len(ps) > 0 {
					au = append(ps[:len(ps):len(ps)], au...)
				}
				emit(&unit{video: true, main: isMain, key: isMain && key, config: !h264HasPicture(au), size: nalusSize(au), track: i, ts: dts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteH264(t, pts+d, dts+d, au)
					}})
			})
		case *codecs.H265:
			r.OnDataH265(t, func(pts, dts time.Duration, au [][]byte) {
				emit(&unit{video: true, main: isMain, key: isMain && h265.IsRandomAccess(au), config: !h265HasPicture(au), size: nalusSize(au), track: i, ts: dts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteH265(t, pts+d, dts+d, au)
					}})
			})
		case *codecs.AV1:
			r.OnDataAV1(t, func(pts time.Duration, tu [][]byte) {
				emit(&unit{video: true, main: isMain, key: isMain && av1.IsRandomAccess2(tu), size: nalusSize(tu), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error { return w.WriteAV1(t, pts+d, tu) }})
			})
		case *codecs.VP9:
			r.OnDataVP9(t, func(pts time.Duration, frame []byte) {
				emit(&unit{video: true, main: isMain, key: isMain && vp9.IsRandomAccess(frame), size: len(frame), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteVP9(t, pts+d, frame)
					}})
			})
		case *codecs.MPEG4Audio:
			r.OnDataMPEG4Audio(t, func(pts time.Duration, au []byte) {
				emit(&unit{size: len(au), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteMPEG4Audio(t, pts+d, au)
					}})
			})
		case *codecs.Opus:
			r.OnDataOpus(t, func(pts time.Duration, pkt []byte) {
				emit(&unit{size: len(pkt), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteOpus(t, pts+d, pkt)
					}})
			})
		case *codecs.MPEG1Audio:
			r.OnDataMPEG1Audio(t, func(pts time.Duration, frame []byte) {
				emit(&unit{size: len(frame), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteMPEG1Audio(t, pts+d, frame)
					}})
			})
		case *codecs.AC3:
			r.OnDataAC3(t, func(pts time.Duration, frame []byte) {
				emit(&unit{size: len(frame), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteAC3(t, pts+d, frame)
					}})
			})
		case *codecs.FLAC:
			r.OnDataFLAC(t, func(pts time.Duration, frame []byte) {
				emit(&unit{size: len(frame), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteFLAC(t, pts+d, frame)
					}})
			})
		case *codecs.G711:
			r.OnDataG711(t, func(pts time.Duration, samples []byte) {
				emit(&unit{size: len(samples), track: i, ts: pts,
					send: func(w *gortmplib.Writer, t *gortmplib.Track, d time.Duration) error {
						return w.WriteG711(t, pts+d, samples)
					}})
			})
		default:
			// LPCM among others: gortmplib's LPCM writer assumes 16-bit samples and would fault on
			// an odd-sized 8-bit packet, so it is refused rather than relayed.
			return fmt.Errorf("codec %s is not relayed", codecName(t.Codec))
		}
	}
	return nil
}

// h264HasPicture reports whether au holds a coded slice (NAL unit types 1 to 5).
func h264HasPicture(au [][]byte) bool {
	for _, n := range au {
		if len(n) > 0 && n[0]&0x1f >= 1 && n[0]&0x1f <= 5 {
			return true
		}
	}
	return false
}

// h265HasPicture reports whether au holds a coded slice (VCL NAL unit types 0 to 31).
func h265HasPicture(au [][]byte) bool {
	for _, n := range au {
		if len(n) > 0 && (n[0]>>1)&0x3f < 32 {
			return true
		}
	}
	return false
}

func nalusSize(nalus [][]byte) int {
	n := 0
	for _, b := range nalus {
		n += len(b)
	}
	return n
}

// codecName names a codec as libav does, so the master shows the same names as the engine.
func codecName(c codecs.Codec) string {
	switch c := c.(type) {
	case *codecs.H264:
		return "h264"
	case *codecs.H265:
		return "hevc"
	case *codecs.AV1:
		return "av1"
	case *codecs.VP9:
		return "vp9"
	case *codecs.MPEG4Audio:
		return "aac"
	case *codecs.Opus:
		return "opus"
	case *codecs.MPEG1Audio:
		return "mp3"
	case *codecs.AC3:
		return "ac3"
	case *codecs.FLAC:
		return "flac"
	case *codecs.G711:
		if c.MULaw {
			return "pcm_mulaw"
		}
		return "pcm_alaw"
	case *codecs.LPCM:
		return "pcm"
	}
	return fmt.Sprintf("%T", c)
}

// describeTracks fills the codec fields of a StreamInfo from the first video and the first
// audio track. Resolution and frame rate come from the SPS; a frame rate the SPS does not
// carry stays 0 until the stream's measured rate fills it.
func describeTracks(tracks []*gortmplib.Track) StreamInfo {
	var info StreamInfo
	for _, t := range tracks {
		if t.Codec.IsVideo() {
			if info.VideoCodec != "" {
				continue
			}
			info.VideoCodec = codecName(t.Codec)
			switch c := t.Codec.(type) {
			case *codecs.H264:
				var sps h264.SPS
				if err := sps.Unmarshal(c.SPS); err == nil {
					info.Width, info.Height, info.FPS = sps.Width(), sps.Height(), sps.FPS()
				}
			case *codecs.H265:
				var sps h265.SPS
				if err := sps.Unmarshal(c.SPS); err == nil {
					info.Width, info.Height, info.FPS = sps.Width(), sps.Height(), sps.FPS()
				}
			}
			continue
		}
		if info.AudioCodec != "" {
			continue
		}
		info.AudioCodec = codecName(t.Codec)
		switch c := t.Codec.(type) {
		case *codecs.MPEG4Audio:
			if c.Config != nil {
				info.SampleRate = c.Config.SampleRate
				info.Channels = int(c.Config.ChannelConfig)
				if c.Config.ChannelConfig == 7 {
					info.Channels = 8 // 7.1
				}
			}
		case *codecs.Opus:
			info.SampleRate = 48000
			if c.IDHeader != nil {
				info.Channels = int(c.IDHeader.ChannelCount)
			}
		case *codecs.AC3:
			info.SampleRate, info.Channels = c.SampleRate, c.ChannelCount
		case *codecs.FLAC:
			if c.StreamInfo != nil {
				info.SampleRate, info.Channels = int(c.StreamInfo.SampleRate), int(c.StreamInfo.ChannelCount)
			}
		case *codecs.G711:
			info.SampleRate, info.Channels = 8000, c.ChannelCount
		case *codecs.LPCM:
			info.SampleRate, info.Channels = c.SampleRate, c.ChannelCount
		}
	}
	return info
}

// compatibleTracks reports whether a publisher who came back with tracks next may continue
// the players set up with prev: the same tracks in the same order, with the same codecs and
// configurations. An H.264 track may change its parameter sets if its resolution stays:
// paramSets then holds the track's new SPS and PPS, to send in-band ahead of its keyframes.
func compatibleTracks(prev, next []*gortmplib.Track) (paramSets map[int][][]byte, err error) {
	if len(prev) != len(next) {
		return nil, fmt.Errorf("%d tracks, the stream had %d", len(next), len(prev))
	}
	for i := range prev {
		a, b := prev[i].Codec, next[i].Codec
		if reflect.TypeOf(a) != reflect.TypeOf(b) {
			return nil, fmt.Errorf("track %d is %s, the stream had %s", i, codecName(b), codecName(a))
		}
		if ha, ok := a.(*codecs.H264); ok {
			hb := b.(*codecs.H264)
			if bytes.Equal(ha.SPS, hb.SPS) && bytes.Equal(ha.PPS, hb.PPS) {
				continue
			}
			var sa, sb h264.SPS
			if sa.Unmarshal(ha.SPS) != nil || sb.Unmarshal(hb.SPS) != nil {
				return nil, errors.New("an H.264 track changed its SPS, and one does not parse")
			}
			if sa.Width() != sb.Width() || sa.Height() != sb.Height() {
				return nil, fmt.Errorf("H.264 is %dx%d, the stream had %dx%d", sb.Width(), sb.Height(), sa.Width(), sa.Height())
			}
			if len(hb.SPS) == 0 || len(hb.PPS) == 0 {
				return nil, errors.New("an H.264 track changed its parameter sets to none")
			}
			if paramSets == nil {
				paramSets = map[int][][]byte{}
			}
			paramSets[i] = [][]byte{hb.SPS, hb.PPS}
			continue
		}
		if !reflect.DeepEqual(a, b) {
			return nil, fmt.Errorf("track %d (%s) changed its configuration", i, codecName(b))
		}
	}
	return paramSets, nil
}
