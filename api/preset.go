package api

import "github.com/ffrtmp/ffrtmp/api/spec"

// Preset is a named ladder template: the renditions a job with "preset" gets.
type Preset struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// BuiltIn presets ship with the master and cannot be changed or deleted.
	BuiltIn bool `json:"built_in,omitempty"`
	// Tenant, on a stored preset, makes it that tenant's: only its keys (and admins) see and
	// use it. Empty: shared with every tenant, like the built-ins.
	Tenant string `json:"tenant,omitempty"`
	// Container is hls (default: one folder with a master playlist), dash (CMAF segments and
	// manifest.mpd), cmaf (the same segments with both manifests), mp4, mkv or mpegts (one
	// file per rendition). dash and cmaf ladders carry the audio once, in a rendition of
	// its own named "audio".
	Container string `json:"container,omitempty"`
	// Video sets codec, encoder preset, profile and GOP for every rendition.
	Video *spec.Video `json:"video,omitempty"`
	Audio *spec.Audio `json:"audio,omitempty"`
	// Renditions are the ladder, tallest first.
	Renditions []spec.Rung `json:"renditions"`
	// SegmentSeconds is the HLS segment length; zero: the GOP.
	SegmentSeconds float64 `json:"segment_seconds,omitempty"`
	// SegmentType is the HLS segments' format: ts (MPEG-TS, the default; H.264 and HEVC) or
	// fmp4 (CMAF: fragmented MP4, needed for AV1 and VP9; the only type dash and cmaf take).
	SegmentType string `json:"segment_type,omitempty"`
}

// PresetList is GET /v1/presets.
type PresetList struct {
	Presets []Preset `json:"presets"`
}

// Scenario is a named synthetic workload: a testsrc2 source encoded one way.
type Scenario struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Width       int          `json:"width"`
	Height      int          `json:"height"`
	FPS         spec.Rate    `json:"fps"`
	Duration    float64      `json:"duration"` // seconds of source when parameters.duration is not given
	Encoder     string       `json:"encoder"`
	Bitrate     spec.Bitrate `json:"bitrate"`
	// Preset names a ladder instead of a single rendition.
	Preset string `json:"preset,omitempty"`
}

// ScenarioList is GET /v1/scenarios.
type ScenarioList struct {
	Scenarios []Scenario `json:"scenarios"`
}
