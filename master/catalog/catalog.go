// Package catalog holds the master's built-in presets and scenarios and turns a job request
// into the engine spec a worker runs.
package catalog

import (
	"math"
	"slices"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

// Builtin ladders. Bitrates are the engine's rungs (H.264 at 30 fps, capped VBR), scaled for
// the codecs that need fewer bits for the same picture (HEVC about 60 %, AV1 about 50 %).
var builtinPresets = []struct {
	name, description string
	rungs             []string
	codec, segments   string
	rate              float64
}{
	{"abr-2160p", "4K ladder: 2160/1440/1080/720/480/360, HLS", []string{"2160p", "1440p", "1080p", "720p", "480p", "360p"}, "libx264", "", 1},
	{"abr-1080p", "HD ladder: 1080/720/480/360, HLS", []string{"1080p", "720p", "480p", "360p"}, "libx264", "", 1},
	{"abr-720p", "HD-ready ladder: 720/480/360, HLS", []string{"720p", "480p", "360p"}, "libx264", "", 1},
	{"abr-480p", "mobile ladder: 480/360/240, HLS", []string{"480p", "360p", "240p"}, "libx264", "", 1},
	{"abr-1080p-hevc", "HD ladder in HEVC (libx265): 1080/720/480/360, HLS with fMP4 segments", []string{"1080p", "720p", "480p", "360p"}, "libx265", spec.SegmentFMP4, 0.6},
	{"abr-1080p-av1", "HD ladder in AV1 (SVT-AV1): 1080/720/480/360, HLS with fMP4 segments", []string{"1080p", "720p", "480p", "360p"}, "libsvtav1", spec.SegmentFMP4, 0.5},
}

// BuiltinPresets returns the presets the master ships with.
func BuiltinPresets() []api.Preset {
	out := make([]api.Preset, 0, len(builtinPresets))
	for _, b := range builtinPresets {
		rungs, err := spec.RungsNamed(b.rungs...)
		if err != nil {
			panic(err) // the table above names only known rungs; a test checks it
		}
		for i := range rungs {
			r := &rungs[i]
			r.Bitrate, r.MaxRate, r.BufSize = scaleRate(r.Bitrate, b.rate), scaleRate(r.MaxRate, b.rate), scaleRate(r.BufSize, b.rate)
		}
		out = append(out, api.Preset{
			Name: b.name, Description: b.description, BuiltIn: true, Container: "hls", SegmentType: b.segments,
			Video:      &spec.Video{Codec: b.codec, Preset: spec.DefaultPreset(b.codec), GOP: 2},
			Audio:      &spec.Audio{Codec: "aac"},
			Renditions: rungs,
		})
	}
	return out
}

// scaleRate scales a bitrate, rounded to whole kb/s.
func scaleRate(b spec.Bitrate, f float64) spec.Bitrate {
	return spec.Bitrate(math.Round(float64(b)*f/1000) * 1000)
}

// BuiltinPreset returns the built-in preset name, if there is one.
func BuiltinPreset(name string) (api.Preset, bool) {
	for _, p := range BuiltinPresets() {
		if p.Name == name {
			return p, true
		}
	}
	return api.Preset{}, false
}

// Scenarios returns the built-in synthetic workloads: testsrc2 at a size and rate, encoded
// once (or through a ladder). Duration is the default length; parameters.duration changes it.
func Scenarios() []api.Scenario {
	fps := func(n int) spec.Rate { return spec.Rate{Num: n, Den: 1} }
	return []api.Scenario{
		{Name: "720p30-h264", Description: "1280x720 30 fps, libx264 3 Mb/s", Width: 1280, Height: 720, FPS: fps(30), Duration: 10, Encoder: "libx264", Bitrate: 3_000_000},
		{Name: "1080p30-h264", Description: "1920x1080 30 fps, libx264 5 Mb/s", Width: 1920, Height: 1080, FPS: fps(30), Duration: 10, Encoder: "libx264", Bitrate: 5_000_000},
		{Name: "1080p60-h264", Description: "1920x1080 60 fps, libx264 7.5 Mb/s", Width: 1920, Height: 1080, FPS: fps(60), Duration: 10, Encoder: "libx264", Bitrate: 7_500_000},
		{Name: "4k30", Description: "3840x2160 30 fps, H.264 16 Mb/s", Width: 3840, Height: 2160, FPS: fps(30), Duration: 10, Encoder: "libx264", Bitrate: 16_000_000},
		{Name: "4k60", Description: "3840x2160 60 fps, H.264 24 Mb/s", Width: 3840, Height: 2160, FPS: fps(60), Duration: 10, Encoder: "libx264", Bitrate: 24_000_000},
		{Name: "1080p30-hevc", Description: "1920x1080 30 fps, libx265 (HEVC) 3 Mb/s", Width: 1920, Height: 1080, FPS: fps(30), Duration: 10, Encoder: "libx265", Bitrate: 3_000_000},
		{Name: "1080p30-av1", Description: "1920x1080 30 fps, libsvtav1 (AV1) 2.5 Mb/s", Width: 1920, Height: 1080, FPS: fps(30), Duration: 10, Encoder: "libsvtav1", Bitrate: 2_500_000},
		{Name: "1080p30-vp9", Description: "1920x1080 30 fps, libvpx-vp9 (VP9) 3 Mb/s", Width: 1920, Height: 1080, FPS: fps(30), Duration: 10, Encoder: "libvpx-vp9", Bitrate: 3_000_000},
		{Name: "1080p30-nvenc", Description: "1920x1080 30 fps, h264_nvenc 5 Mb/s (NVENC, falls back to libx264)", Width: 1920, Height: 1080, FPS: fps(30), Duration: 10, Encoder: "h264_nvenc", Bitrate: 5_000_000},
		{Name: "1080p30-ladder", Description: "1920x1080 30 fps into the abr-1080p ladder", Width: 1920, Height: 1080, FPS: fps(30), Duration: 10, Encoder: "libx264", Preset: "abr-1080p"},
	}
}

// Scenario returns the built-in scenario name, if there is one.
func Scenario(name string) (api.Scenario, bool) {
	i := slices.IndexFunc(Scenarios(), func(s api.Scenario) bool { return s.Name == name })
	if i < 0 {
		return api.Scenario{}, false
	}
	return Scenarios()[i], true
}

// ScenarioNames lists the built-in scenario names.
func ScenarioNames() []string {
	var names []string
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// fieldErr refuses a request, naming the request field at fault (a *fault.InvalidError).
func fieldErr(field, format string, args ...any) error {
	return fault.Invalid(field, format, args...)
}
