package spec

import (
	"slices"
	"strconv"
	"strings"
)

// HLS segment types.
const (
	SegmentTS   = "ts"
	SegmentFMP4 = "fmp4"
)

// Pixel formats a Video may ask for.
const (
	PixFmt8Bit  = "yuv420p"
	PixFmt10Bit = "yuv420p10le"
)

// VideoFormat is the coded format a video codec writes: h264, hevc, av1 or vp9 ("" for copy,
// none and unknown names).
func VideoFormat(codec string) string {
	switch {
	case codec == "libx264" || strings.HasPrefix(codec, "h264_"):
		return "h264"
	case codec == "libx265" || strings.HasPrefix(codec, "hevc_"):
		return "hevc"
	case codec == "libsvtav1" || strings.HasPrefix(codec, "av1_"):
		return "av1"
	case codec == "libvpx-vp9":
		return "vp9"
	}
	return ""
}

// containerFormats are the coded video formats each container carries. HLS with MPEG-TS
// segments carries H.264 and HEVC only, with fMP4 (CMAF) segments all four; flv is classic
// RTMP's H.264.
var containerFormats = map[string][]string{
	"mp4":      {"h264", "hevc", "av1", "vp9"},
	"mkv":      {"h264", "hevc", "av1", "vp9"},
	"mpegts":   {"h264", "hevc"},
	"hls":      {"h264", "hevc"},
	"hls-fmp4": {"h264", "hevc", "av1", "vp9"},
	"dash":     {"h264", "hevc", "av1", "vp9"},
	"cmaf":     {"h264", "hevc", "av1", "vp9"},
	"flv":      {"h264"},
	"null":     {"h264", "hevc", "av1", "vp9"},
}

// x26xPresets are libx264's and libx265's presets, fastest first.
var x26xPresets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
	"slow", "slower", "veryslow", "placebo"}

// tenBit are the encoders that write 10-bit pictures here.
var tenBit = []string{"libx265", "libsvtav1", "libvpx-vp9"}

// software checks the settings of the software encoders (preset, CRF, pixel format) and
// fills in the pixel format: the encoder would otherwise refuse them when the job runs, or
// worse, pick something else.
func (v *Video) software(field string) error {
	switch v.Codec {
	case "libx264", "libx265":
		if v.Preset != "" && !slices.Contains(x26xPresets, v.Preset) {
			return Errorf(field+".video.preset", "%s preset %q: want one of %s", v.Codec, v.Preset, strings.Join(x26xPresets, ", "))
		}
		if v.CRF > 51 {
			return Errorf(field+".video.crf", "%s crf %d: want 0..51", v.Codec, v.CRF)
		}
	case "libsvtav1":
		if err := numericPreset(field, v, 0, 13, "0 (slowest) to 13 (fastest)"); err != nil {
			return err
		}
	case "libvpx-vp9":
		if err := numericPreset(field, v, 0, 8, "its cpu-used, 0 (slowest) to 8 (fastest)"); err != nil {
			return err
		}
	}
	implied := ""
	switch {
	case v.Codec == "libx265" && v.Profile == "main10", v.Codec == "libvpx-vp9" && v.Profile == "2":
		implied = PixFmt10Bit
	case v.Codec == "libx265" && v.Profile == "main", v.Codec == "libvpx-vp9" && v.Profile == "0":
		implied = PixFmt8Bit
	}
	switch {
	case v.PixFmt == "":
		v.PixFmt = implied // empty: the encoder's 8-bit default
	case v.PixFmt != PixFmt8Bit && v.PixFmt != PixFmt10Bit:
		return Errorf(field+".video.pix_fmt", "pix_fmt %q: want %s (8-bit) or %s (10-bit)", v.PixFmt, PixFmt8Bit, PixFmt10Bit)
	case strings.Contains(v.Codec, "_") || v.Codec == "copy" || v.Codec == "none":
		return Errorf(field+".video.pix_fmt", "pix_fmt is for the software encoders (%s), not %s", strings.Join(append([]string{"libx264"}, tenBit...), ", "), v.Codec)
	case v.PixFmt == PixFmt10Bit && !slices.Contains(tenBit, v.Codec):
		return Errorf(field+".video.pix_fmt", "%s writes 8-bit only here: use %s for 10-bit", v.Codec, strings.Join(tenBit, ", "))
	case implied != "" && implied != v.PixFmt:
		return Errorf(field+".video.pix_fmt", "pix_fmt %s contradicts %s profile %s (%s)", v.PixFmt, v.Codec, v.Profile, implied)
	}
	return nil
}

// DefaultPreset is the preset jobs get for a software encoder when they name none: the
// speed live and VOD farms commonly run (libx264 and libx265 veryfast, libsvtav1 10,
// libvpx-vp9 cpu-used 6), and "" (the encoder's own default) for the others.
func DefaultPreset(codec string) string {
	switch codec {
	case "libx264", "libx265":
		return "veryfast"
	case "libsvtav1":
		return "10"
	case "libvpx-vp9":
		return "6"
	}
	return ""
}

// numericPreset checks a preset that is a number from lo to hi.
func numericPreset(field string, v *Video, lo, hi int, what string) error {
	if v.Preset == "" {
		return nil
	}
	n, err := strconv.Atoi(v.Preset)
	if err != nil || n < lo || n > hi {
		return Errorf(field+".video.preset", "%s preset %q: want %s", v.Codec, v.Preset, what)
	}
	return nil
}

// carries checks that container c (with h's segments, for hls) can hold video codec codec.
func carries(field, c string, h *HLS, codec string) error {
	f := VideoFormat(codec)
	key := c
	if c == "hls" && h != nil && h.SegmentType == SegmentFMP4 || WritesDASH(c) {
		key = "hls-fmp4"
	}
	if f == "" || slices.Contains(containerFormats[key], f) {
		return nil
	}
	var fit []string
	for _, k := range []string{"mp4", "mkv", "hls", "mpegts", "flv", "dash", "cmaf"} {
		if slices.Contains(containerFormats[k], f) {
			fit = append(fit, k)
		}
	}
	why := ""
	if c == "hls" {
		why = " (its MPEG-TS segments carry H.264 and HEVC)"
		fit = append(fit, `hls with "segment_type": "fmp4"`)
	}
	return Errorf(field+".video.codec", "container %s cannot carry %s (%s)%s: use %s", c, codec, f, why, strings.Join(fit, " or "))
}
