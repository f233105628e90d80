package engine_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// TestHLSFMP4Ladders runs each encoder's ladder into HLS with fMP4 (CMAF) segments: every
// media playlist names its init segment (EXT-X-MAP) and plays through ffprobe, keyframes are
// aligned across renditions, and the master playlist's CODECS for each rendition is the one
// FFmpeg's mp4 muxer wrote into the init segment's configuration box (hvcC, av1C, vpcC, avcC)
// for the same stream: read from the encoder's parameter sets, profile, level and bit depth.
func TestHLSFMP4Ladders(t *testing.T) {
	t.Parallel()
	const seconds = 2
	encoders := append([]struct{ encoder, preset, codec string }{{"libx264", "ultrafast", "h264"}}, softwareEncoders...)
	for _, e := range encoders {
		for _, pixFmt := range []string{"", spec.PixFmt10Bit} {
			if pixFmt != "" && e.encoder == "libx264" {
				continue
			}
			t.Run(e.encoder+pixFmt, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				outs, err := spec.LadderOutputs("360p,240p", spec.Output{Container: "hls", Target: dir,
					HLS:   &spec.HLS{SegmentType: spec.SegmentFMP4},
					Video: &spec.Video{Codec: e.encoder, Preset: e.preset, GOP: 1, PixFmt: pixFmt}})
				if err != nil {
					t.Fatal(err)
				}
				run(t, spec.Spec{Input: synthetic(640, 360, seconds), Outputs: outs}, nil)
				variants := readMaster(t, filepath.Join(dir, "master.m3u8"))
				if len(variants) != 2 {
					t.Fatalf("%d variants, want 2", len(variants))
				}
				files := map[string]string{}
				for _, v := range variants {
					name := strings.TrimSuffix(v.uri, "/index.m3u8")
					playlist := filepath.Join(dir, name, "index.m3u8")
					files[name] = playlist
					text, err := os.ReadFile(playlist)
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(string(text), `#EXT-X-MAP:URI="init.mp4"`) || !strings.Contains(string(text), "#EXT-X-VERSION:7") {
						t.Errorf("%s: media playlist lacks EXT-X-MAP or version 7:\n%s", name, text)
					}
					for _, seg := range segments(t, playlist) {
						if !strings.HasSuffix(seg, ".m4s") {
							t.Errorf("%s: segment %s is not fMP4", name, seg)
						}
					}
					if got := buildProbe(t).videoStream(t, playlist); got.CodecName != e.codec {
						t.Errorf("%s: %+v through the playlist, want %s", name, got, e.codec)
					}
					init, err := os.ReadFile(filepath.Join(dir, name, "init.mp4"))
					if err != nil {
						t.Fatal(err)
					}
					want := codecFromInit(t, init)
					if got := strings.Split(v.attrs["CODECS"], ",")[0]; got != want {
						t.Errorf("%s: CODECS %q, the init segment's box says %q", name, v.attrs["CODECS"], want)
					}
					if pixFmt != "" && !strings.HasSuffix(want, ".10") && !strings.Contains(want, ".2.4.") {
						t.Errorf("%s: %s does not say 10-bit", name, want)
					}
				}
				assertAlignedKeyframes(t, buildProbe(t).keyframesOf(t, files), seconds)
			})
		}
	}
}

// codecFromInit is the RFC 6381 codec string of the sample entry's configuration box in an
// fMP4 init segment, computed from that box alone (as a packager reading the file would).
func codecFromInit(t *testing.T, init []byte) string {
	t.Helper()
	box := func(typ string) []byte {
		i := bytes.Index(init, []byte(typ))
		if i < 4 {
			return nil
		}
		size := int(binary.BigEndian.Uint32(init[i-4:]))
		if size < 8 || i-4+size > len(init) {
			t.Fatalf("%s box of size %d", typ, size)
		}
		return init[i+4 : i-4+size]
	}
	switch {
	case box("avcC") != nil:
		b := box("avcC")
		return fmt.Sprintf("avc1.%02x%02x%02x", b[1], b[2], b[3])
	case box("hvcC") != nil:
		b := box("hvcC")
		p := b[1:13]
		compat := uint32(0)
		for i := 0; i < 32; i++ { // reverse the 32 compatibility bits
			if binary.BigEndian.Uint32(p[1:5])&(1<<i) != 0 {
				compat |= 1 << (31 - i)
			}
		}
		tier := "L"
		if p[0]&0x20 != 0 {
			tier = "H"
		}
		s := fmt.Sprintf("hvc1.%d.%X.%s%d", p[0]&0x1f, compat, tier, p[11])
		cons := bytes.TrimRight(p[5:11], "\x00")
		for _, c := range cons {
			s += fmt.Sprintf(".%X", c)
		}
		return s
	case box("av1C") != nil:
		b := box("av1C")
		tier, depth := "M", 8
		if b[2]&0x80 != 0 {
			tier = "H"
		}
		if b[2]&0x40 != 0 {
			depth = 10
		}
		return fmt.Sprintf("av01.%d.%02d%s.%02d", b[1]>>5, b[1]&0x1f, tier, depth)
	case box("vpcC") != nil:
		b := box("vpcC") // version and flags, then profile, level, bit depth (4 bits)
		return fmt.Sprintf("vp09.%02d.%02d.%02d", b[4], b[5], b[6]>>4)
	}
	t.Fatal("the init segment has no avcC, hvcC, av1C or vpcC box")
	return ""
}
