package livebench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Source is a pre-encoded synthetic stream: H.264 access units at a constant frame rate
// with no B-frames (so a frame's index is its timestamp), and AAC frames.
type Source struct {
	FPS        float64
	Width      int
	Height     int
	GOP        int // frames between keyframes
	SPS, PPS   []byte
	Video      [][][]byte // access units, NALUs without SPS, PPS or AUD
	Keyframes  []int
	AudioCfg   *mpeg4audio.AudioSpecificConfig
	Audio      [][]byte
	SampleRate int
}

// EnsureSource encodes (once, cached in dir) seconds of testsrc2 at 1280x720 and fps with a
// keyframe every gop frames, plus a 48 kHz sine, using the ffmpeg program, and loads it.
func EnsureSource(ctx context.Context, ffmpeg, dir string, seconds, fps, gop int) (*Source, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, fmt.Sprintf("live-720p%d-g%d-%ds", fps, gop, seconds))
	vpath, apath := base+".h264", base+".aac"
	if _, err := os.Stat(apath); err != nil {
		for _, p := range []struct{ args []string }{
			{[]string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1280x720:rate=%d", fps), "-t", strconv.Itoa(seconds),
				"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0", "-g", strconv.Itoa(gop),
				"-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0", "-b:v", "3M", "-pix_fmt", "yuv420p",
				"-bsf:v", "h264_metadata=aud=insert", "-f", "h264", vpath + ".partial"}},
			{[]string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", strconv.Itoa(seconds),
				"-c:a", "aac", "-b:a", "128k", "-ac", "2", "-f", "adts", apath + ".partial"}},
		} {
			cmd := exec.CommandContext(ctx, ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, p.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("encode the source: %w: %s", err, strings.TrimSpace(stderr.String()))
			}
		}
		if err := os.Rename(vpath+".partial", vpath); err != nil {
			return nil, err
		}
		if err := os.Rename(apath+".partial", apath); err != nil {
			return nil, err
		}
	}
	s, err := loadSource(vpath, apath)
	if err != nil {
		return nil, err
	}
	s.FPS, s.Width, s.Height, s.GOP = float64(fps), 1280, 720, gop
	return s, nil
}

func loadSource(vpath, apath string) (*Source, error) {
	vb, err := os.ReadFile(vpath)
	if err != nil {
		return nil, err
	}
	nalus := SplitAnnexB(vb)
	s := &Source{}
	var au [][]byte
	key := false
	flush := func() {
		if len(au) > 0 {
			if key {
				s.Keyframes = append(s.Keyframes, len(s.Video))
			}
			s.Video = append(s.Video, au)
		}
		au, key = nil, false
	}
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
			flush()
		case h264.NALUTypeSPS:
			if s.SPS == nil {
				s.SPS = n
			}
		case h264.NALUTypePPS:
			if s.PPS == nil {
				s.PPS = n
			}
		case h264.NALUTypeIDR:
			key = true
			au = append(au, n)
		default:
			au = append(au, n)
		}
	}
	flush()
	if s.SPS == nil || s.PPS == nil || len(s.Video) == 0 || len(s.Keyframes) == 0 || s.Keyframes[0] != 0 {
		return nil, fmt.Errorf("%s: no H.264 stream starting at a keyframe with SPS and PPS", vpath)
	}
	ab, err := os.ReadFile(apath)
	if err != nil {
		return nil, err
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(ab); err != nil {
		return nil, fmt.Errorf("%s: %w", apath, err)
	}
	if len(pkts) == 0 {
		return nil, fmt.Errorf("%s: no AAC frames", apath)
	}
	s.AudioCfg = &mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelCount: pkts[0].ChannelCount}
	s.SampleRate = pkts[0].SampleRate
	for _, p := range pkts {
		s.Audio = append(s.Audio, p.AU)
	}
	return s, nil
}

// Publish pushes src to u in real time (frame k at k/fps after the start) until it has sent
// it all or ctx ends, and records in sent[k] when video frame k was handed to the
// connection, on the clock since t0. sent must have len(src.Video) entries, set to -1.
func Publish(ctx context.Context, u *url.URL, src *Source, t0 time.Time, sent []time.Duration) error {
	c := &gortmplib.Client{URL: u, Publish: true}
	if err := c.Initialize(ctx); err != nil {
		return fmt.Errorf("publish to the ingest: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	vt := &gortmplib.Track{Codec: &codecs.H264{SPS: src.SPS, PPS: src.PPS}}
	at := &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: src.AudioCfg}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{vt, at}}
	if err := w.Initialize(); err != nil {
		return fmt.Errorf("publish tracks: %w", err)
	}
	start := time.Now()
	frameDur := time.Duration(float64(time.Second) / src.FPS)
	audioDur := time.Duration(1024 * float64(time.Second) / float64(src.SampleRate))
	vi, ai := 0, 0
	for vi < len(src.Video) || ai < len(src.Audio) {
		vpts, apts := time.Duration(vi)*frameDur, time.Duration(ai)*audioDur
		video := vi < len(src.Video) && (ai >= len(src.Audio) || vpts <= apts)
		pts := apts
		if video {
			pts = vpts
		}
		if d := time.Until(start.Add(pts)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		c.NetConn().SetWriteDeadline(time.Now().Add(10 * time.Second))
		var err error
		if video {
			sent[vi] = time.Since(t0)
			err = w.WriteH264(vt, pts, pts, src.Video[vi])
			vi++
		} else {
			err = w.WriteMPEG4Audio(at, pts, src.Audio[ai])
			ai++
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("publish frame: %w", err)
		}
	}
	return nil
}

var errNoVideo = errors.New("the restream has no H.264 video track")

// SplitAnnexB splits an H.264 Annex-B byte stream into its NAL units (without start codes).
// Bytes before the first start code are skipped.
func SplitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 { // a 4-byte start code's leading zero, trailing_zero_8bits
					end--
				}
				out = append(out, b[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}
