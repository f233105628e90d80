package engine_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// readbackContainers are the outputs TestReadBack writes with every software encoder: adding a
// container is one line here.
var readbackContainers = []struct {
	name   string
	output spec.Output // the container and its options; the test sets Target and Video
	// rendition is a rendition's own file under the output folder, %s its rung ("%s.mp4");
	// "": none, the presentation has them all.
	rendition string
	// presentation is the file naming every rendition (HLS master playlist); "": none.
	presentation string
	// formats are the video formats it carries; the spec must refuse the others.
	formats []string
	// debianOnly: only Debian's ffprobe reads it (the build has no dash demuxer, which needs
	// libxml2; TestDASHAndCMAFLadders reads each DASH track with the build's ffprobe).
	debianOnly bool
}{
	{"mp4", spec.Output{Container: "mp4"}, "%s.mp4", "", []string{"h264", "hevc", "av1", "vp9"}, false},
	// FFmpeg 7.1's mpegts muxer has no stream type for AV1 or VP9: it writes them as private
	// data (stream_type 0x06), which both ffprobes read back as bin_data, not video. The spec
	// refuses them in TS segments and points at fmp4.
	{"hls-ts", spec.Output{Container: "hls"}, "%s/index.m3u8", "master.m3u8", []string{"h264", "hevc"}, false},
	{"hls-fmp4", spec.Output{Container: "hls", HLS: &spec.HLS{SegmentType: spec.SegmentFMP4}},
		"%s/index.m3u8", "master.m3u8", []string{"h264", "hevc", "av1", "vp9"}, false},
	{"dash", spec.Output{Container: "dash"}, "", "manifest.mpd", []string{"h264", "hevc", "av1", "vp9"}, true},
}

// readbackLadder is the ladder TestReadBack writes from a 640x360 source, and readbackRungs
// the sizes of its renditions.
const readbackLadder = "360p,240p"

var readbackRungs = []rungSize{
	{"360p", 640, 360},
	{"240p", 426, 240}, // 640×240÷360 = 426.7, rounded to even by scale=-2
}

// tenBitProfiles is what ffprobe calls each format's 10-bit profile. With the pix_fmt the
// decoder gives its pictures (yuv420p10le) they say the stream is 10-bit; AV1's Main takes 8
// and 10 bits, so there the pix_fmt alone does. (bits_per_raw_sample, the other place for a
// bit depth, is N/A for these decoders in 5.1 and 7.1 alike.)
var tenBitProfiles = map[string]string{"hevc": "Main 10", "av1": "Main", "vp9": "Profile 2"}

// TestReadBack writes a two-rung ladder with every software encoder, at 8 bits and (but
// libx264) at 10, into every container of readbackContainers, and reads it back with the
// build's ffprobe and with Debian's: each rendition, in its own file and through the
// presentation, is the encoder's codec at its size and pixel format, every frame decodes
// without an error, and keyframes sit on the same timestamps in both rungs, one a second.
func TestReadBack(t *testing.T) {
	t.Parallel()
	const seconds = 2
	encoders := append([]struct{ encoder, preset, codec string }{{"libx264", "ultrafast", "h264"}}, softwareEncoders...)
	for _, c := range readbackContainers {
		for _, e := range encoders {
			for _, pixFmt := range []string{spec.PixFmt8Bit, spec.PixFmt10Bit} {
				if pixFmt == spec.PixFmt10Bit && e.encoder == "libx264" {
					continue
				}
				t.Run(c.name+"/"+e.encoder+"/"+pixFmt, func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					base := c.output
					base.Target = dir
					base.Video = &spec.Video{Codec: e.encoder, Preset: e.preset, GOP: 1, PixFmt: pixFmt}
					outs, err := spec.LadderOutputs(readbackLadder, base)
					if err != nil {
						t.Fatal(err)
					}
					s := spec.Spec{Input: synthetic(640, 360, seconds), Outputs: outs}
					if !slices.Contains(c.formats, e.codec) {
						var serr *spec.Error
						if _, err := s.Normalize(); !errors.As(err, &serr) || !strings.HasSuffix(serr.Field, ".video.codec") {
							t.Errorf("the spec says %v to %s in %s, want a video.codec error", err, e.codec, c.name)
						}
						return
					}
					run(t, s, nil)
					layout := readbackLayout{dir, c.rendition, c.presentation, e.codec, pixFmt, seconds}
					if !c.debianOnly {
						layout.check(t, buildProbe(t))
					}
					layout.check(t, debianProbe(t))
				})
			}
		}
	}
}

// readbackLayout is where TestReadBack finds a ladder's renditions and what they must be.
type readbackLayout struct {
	dir, rendition, presentation string
	codec, pixFmt                string
	seconds                      int
}

// check reads the ladder back with one ffprobe.
func (l readbackLayout) check(t *testing.T, p prober) {
	t.Helper()
	if l.rendition != "" {
		files := map[string]string{}
		for _, r := range readbackRungs {
			files[r.name] = filepath.Join(l.dir, fmt.Sprintf(l.rendition, r.name))
			l.checkStream(t, p, r.name, p.videoStream(t, files[r.name]), r.width, r.height)
		}
		assertAlignedKeyframes(t, p.keyframesOf(t, files), l.seconds)
	}
	if l.presentation == "" {
		return
	}
	path := filepath.Join(l.dir, l.presentation)
	vs := p.videoStreams(t, path)
	if len(vs) != len(readbackRungs) {
		t.Fatalf("%s: %s finds %d video streams, want %d: %+v", l.presentation, p, len(vs), len(readbackRungs), vs)
	}
	keys := map[string][]float64{}
	for _, r := range readbackRungs {
		i := slices.IndexFunc(vs, func(v videoStream) bool { return v.Height == r.height })
		if i < 0 {
			t.Errorf("%s: %s finds no %s stream: %+v", l.presentation, p, r.name, vs)
			continue
		}
		l.checkStream(t, p, l.presentation+" "+r.name, vs[i], r.width, r.height)
		keys[r.name] = p.keyframeTimes(t, path, i)
	}
	assertAlignedKeyframes(t, keys, l.seconds)
}

// checkStream checks one rendition's video stream as p read it.
func (l readbackLayout) checkStream(t *testing.T, p prober, what string, v videoStream, width, height int) {
	t.Helper()
	if v.CodecName != l.codec || v.Width != width || v.Height != height || v.PixFmt != l.pixFmt {
		t.Errorf("%s: %s says %+v, want %s %dx%d %s", what, p, v, l.codec, width, height, l.pixFmt)
	}
	if v.NbReadFrames != strconv.Itoa(l.seconds*30) {
		t.Errorf("%s: %s decoded %s frames, want %d", what, p, v.NbReadFrames, l.seconds*30)
	}
	if l.pixFmt == spec.PixFmt10Bit && v.Profile != tenBitProfiles[l.codec] {
		t.Errorf("%s: %s says profile %q, want %s", what, p, v.Profile, tenBitProfiles[l.codec])
	}
}
