package spec_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// withVideo is the base spec with one output of container c (target t) encoding v.
func withVideo(c, t string, v spec.Video) spec.Spec {
	s := good()
	s.Outputs[0] = spec.Output{Container: c, Target: t, Video: &v}
	return s
}

// TestSoftwareCodecSettings: each software encoder's preset, CRF and pixel format are
// checked when the job is submitted, with an error naming the field and what it takes, not
// when an encoder refuses them on a worker.
func TestSoftwareCodecSettings(t *testing.T) {
	t.Parallel()
	refused := []struct {
		name  string
		s     spec.Spec
		field string
		says  string
	}{
		{"x265 preset", withVideo("mp4", "o.mp4", spec.Video{Codec: "libx265", Preset: "p4"}), "outputs[0].video.preset", "ultrafast"},
		{"x264 preset", withVideo("mp4", "o.mp4", spec.Video{Codec: "libx264", Preset: "fastest"}), "outputs[0].video.preset", "veryfast"},
		{"x265 crf", withVideo("mp4", "o.mp4", spec.Video{Codec: "libx265", CRF: 52}), "outputs[0].video.crf", "0..51"},
		{"svt-av1 preset word", withVideo("mp4", "o.mp4", spec.Video{Codec: "libsvtav1", Preset: "veryfast"}), "outputs[0].video.preset", "0 (slowest) to 13"},
		{"svt-av1 preset range", withVideo("mp4", "o.mp4", spec.Video{Codec: "libsvtav1", Preset: "14"}), "outputs[0].video.preset", "13"},
		{"vp9 speed", withVideo("mp4", "o.mp4", spec.Video{Codec: "libvpx-vp9", Preset: "9"}), "outputs[0].video.preset", "cpu-used"},
		{"unknown pix_fmt", withVideo("mp4", "o.mp4", spec.Video{Codec: "libx265", PixFmt: "yuv444p"}), "outputs[0].video.pix_fmt", "yuv420p10le"},
		{"10-bit x264", withVideo("mp4", "o.mp4", spec.Video{Codec: "libx264", PixFmt: "yuv420p10le"}), "outputs[0].video.pix_fmt", "libx265"},
		{"pix_fmt on hardware", withVideo("mp4", "o.mp4", spec.Video{Codec: "hevc_nvenc", PixFmt: "yuv420p10le"}), "outputs[0].video.pix_fmt", "software"},
		{"8-bit main10", withVideo("mp4", "o.mp4", spec.Video{Codec: "libx265", Profile: "main10", PixFmt: "yuv420p"}), "outputs[0].video.pix_fmt", "main10"},
		{"av1 in hls", withVideo("hls", "ladder", spec.Video{Codec: "libsvtav1"}), "outputs[0].video.codec", "MPEG-TS"},
		{"vp9 in mpegts", withVideo("mpegts", "o.ts", spec.Video{Codec: "libvpx-vp9"}), "outputs[0].video.codec", "mp4 or mkv"},
		{"hevc in flv", withVideo("flv", "o.flv", spec.Video{Codec: "libx265"}), "outputs[0].video.codec", "flv"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Normalize()
			var se *spec.Error
			if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Message, tc.says) {
				t.Errorf("Normalize = %v; want a spec error on %s saying %q", err, tc.field, tc.says)
			}
		})
	}

	accepted := []struct {
		name   string
		s      spec.Spec
		pixFmt string
	}{
		{"x265 in hls", withVideo("hls", "ladder", spec.Video{Codec: "libx265", Preset: "medium", CRF: 28}), ""},
		{"x265 main10", withVideo("mp4", "o.mp4", spec.Video{Codec: "libx265", Profile: "main10"}), spec.PixFmt10Bit},
		{"svt-av1 10-bit", withVideo("mkv", "o.mkv", spec.Video{Codec: "libsvtav1", Preset: "8", CRF: 35, PixFmt: spec.PixFmt10Bit}), spec.PixFmt10Bit},
		{"vp9 profile 2", withVideo("mp4", "o.mp4", spec.Video{Codec: "libvpx-vp9", Profile: "2", Preset: "4"}), spec.PixFmt10Bit},
		{"vp9 8-bit", withVideo("mp4", "o.mp4", spec.Video{Codec: "libvpx-vp9", CRF: 40}), ""},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.s.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Outputs[0].Video.PixFmt; got != tc.pixFmt {
				t.Errorf("pix_fmt = %q, want %q", got, tc.pixFmt)
			}
		})
	}
}

func TestVideoFormat(t *testing.T) {
	t.Parallel()
	for codec, want := range map[string]string{"libx264": "h264", "h264_vaapi": "h264", "libx265": "hevc",
		"hevc_nvenc": "hevc", "libsvtav1": "av1", "av1_nvenc": "av1", "libvpx-vp9": "vp9", "copy": "", "none": ""} {
		if got := spec.VideoFormat(codec); got != want {
			t.Errorf("VideoFormat(%s) = %q, want %q", codec, got, want)
		}
	}
	for _, c := range spec.VideoCodecs() {
		if c != "copy" && c != "none" && spec.VideoFormat(c) == "" {
			t.Errorf("VideoFormat does not know %s, which a spec may use", c)
		}
	}
}

// TestHLSSegmentType: fMP4 segments carry AV1 and VP9, which MPEG-TS segments do not; an
// unknown segment type is refused naming the field.
func TestHLSSegmentType(t *testing.T) {
	t.Parallel()
	for _, codec := range []string{"libsvtav1", "libvpx-vp9", "libx265", "libx264"} {
		s := withVideo("hls", "ladder", spec.Video{Codec: codec})
		s.Outputs[0].HLS = &spec.HLS{SegmentType: spec.SegmentFMP4}
		n, err := s.Normalize()
		if err != nil || n.Outputs[0].HLS.SegmentType != spec.SegmentFMP4 {
			t.Errorf("%s in fMP4 HLS: %v", codec, err)
		}
	}
	n, err := withVideo("hls", "ladder", spec.Video{}).Normalize()
	if err != nil || n.Outputs[0].HLS.SegmentType != spec.SegmentTS {
		t.Errorf("default segment type: %+v, %v; want ts", n.Outputs[0].HLS, err)
	}
	s := withVideo("hls", "ladder", spec.Video{})
	s.Outputs[0].HLS = &spec.HLS{SegmentType: "webm"}
	var se *spec.Error
	if _, err := s.Normalize(); !errors.As(err, &se) || se.Field != "outputs[0].hls.segment_type" {
		t.Errorf("segment_type webm: %v, want an error on outputs[0].hls.segment_type", err)
	}
}

// TestDASHAndCMAFContainers: dash and cmaf take every codec in CMAF (fmp4) segments, which
// is their default; MPEG-TS segments, a live window and a manifest file as target are
// refused naming the field and saying what to use instead.
func TestDASHAndCMAFContainers(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"dash", "cmaf"} {
		for _, codec := range []string{"libsvtav1", "libvpx-vp9", "libx265", "libx264"} {
			n, err := withVideo(c, "ladder", spec.Video{Codec: codec}).Normalize()
			if err != nil || n.Outputs[0].HLS.SegmentType != spec.SegmentFMP4 {
				t.Errorf("%s in %s: %+v, %v; want fmp4 segments", codec, c, n.Outputs[0].HLS, err)
			}
		}
		for _, tc := range []struct {
			hls         spec.HLS
			target      string
			field, says string
		}{
			{spec.HLS{SegmentType: spec.SegmentTS}, "ladder", "outputs[0].hls.segment_type", "use hls for MPEG-TS segments"},
			{spec.HLS{PlaylistSize: 6}, "ladder", "outputs[0].hls.playlist_size", `use hls with "segment_type": "fmp4"`},
			{spec.HLS{}, "ladder/manifest.mpd", "outputs[0].target", `is a folder`},
		} {
			s := withVideo(c, tc.target, spec.Video{})
			s.Outputs[0].HLS = &tc.hls
			var se *spec.Error
			if _, err := s.Normalize(); !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Error(), tc.says) {
				t.Errorf("%s %+v to %s: %v; want an error on %s saying %q", c, tc.hls, tc.target, err, tc.field, tc.says)
			}
		}
	}
}

// TestLadderSplitsAudioForDASH: a dash or cmaf ladder carries its audio once, in a rendition
// of its own (CMAF: one track per rendition), named so as not to clash with a rung; an hls
// ladder keeps audio in every rung.
func TestLadderSplitsAudioForDASH(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"dash", "cmaf"} {
		outs, err := spec.LadderOutputs("720p,360p", spec.Output{Container: c, Target: "out", Audio: &spec.Audio{Codec: "opus"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range outs {
			got = append(got, fmt.Sprintf("%s:%s/%s", o.Name, o.Video.Codec, o.Audio.Codec))
		}
		if want := []string{"720p:/none", "360p:/none", "audio:none/opus"}; !slices.Equal(got, want) {
			t.Errorf("%s ladder %v, want %v", c, got, want)
		}
		if a := outs[2].Audio; a.Bitrate != 128_000 || outs[2].Target != "out" {
			t.Errorf("%s audio rendition %+v to %q: want the top rung's 128k into the ladder's folder", c, a, outs[2].Target)
		}
		clash := spec.SplitAudio([]spec.Output{{Name: "audio", Container: c, Audio: &spec.Audio{}}, {Name: "audio2", Container: c, Audio: &spec.Audio{}}})
		if clash[2].Name != "audio3" {
			t.Errorf("audio rendition beside rungs named audio and audio2 is %q, want audio3", clash[2].Name)
		}
	}
	outs, err := spec.LadderOutputs("720p,360p", spec.Output{Container: "hls", Target: "out"})
	if err != nil || len(outs) != 2 || outs[0].Audio.Codec == "none" {
		t.Errorf("hls ladder %+v, %v: want two rungs with their audio", outs, err)
	}
}
