package engine

import (
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// Observer receives a run's frame-level metrics. Its methods are called from the run's
// goroutines, possibly concurrently, and must return quickly.
type Observer interface {
	// OnFrame is called for every frame an output encodes.
	OnFrame(FrameStats)
	// OnProgress is called every 500 ms and once more, with Final set, when the run ends.
	OnProgress(Progress)
}

// WarningObserver is an Observer that also hears the run's warnings as they happen: damage
// in the input that the engine repaired or worked around (timestamps that went backwards, a
// track it dropped). A message names the input and the stream. Result.Warnings has them too.
type WarningObserver interface {
	Observer
	OnWarning(message string)
}

// FrameStats is the time one frame spent in each stage.
type FrameStats struct {
	Output string // output name
	Media  string // "video" or "audio"
	Index  int64  // frame number within the output, from 0
	PTS    time.Duration
	// Decode is the decoder time of the source frame (shared by every output using it),
	// Filter and Encode this output's time for it.
	Decode time.Duration
	Filter time.Duration
	Encode time.Duration
}

// Progress is a snapshot of a run.
type Progress struct {
	Elapsed time.Duration
	// Position is the media time decoded so far; Duration the input's, 0 when unknown.
	Position time.Duration
	Duration time.Duration
	// Frames counts decoded video frames; FPS is Frames per elapsed second.
	Frames int64
	FPS    float64
	// Speed is Position ÷ Elapsed (× realtime).
	Speed float64
	// Percent and ETA are -1 when the duration is unknown.
	Percent float64
	ETA     time.Duration
	Outputs []OutputProgress
	Final   bool
}

// OutputProgress is one output's counters.
type OutputProgress struct {
	Name       string  `json:"name"`
	FramesIn   int64   `json:"frames_in"`  // video frames fed to the output's filter
	FramesOut  int64   `json:"frames_out"` // video frames encoded
	Dropped    int64   `json:"dropped"`    // frames the rate conversion dropped
	Duplicated int64   `json:"duplicated"` // frames the rate conversion duplicated
	Bytes      int64   `json:"bytes"`      // bytes of encoded packets written
	Bitrate    float64 `json:"bitrate"`    // bits per second of media time
	// Restream outputs (Reconnect set): connections made and attempts after the first.
	Connections int64 `json:"connections,omitempty"`
	Reconnects  int64 `json:"reconnects,omitempty"`
	// Connected says whether the restream is connected now; LastError is its last
	// connection or write error (it may quote the destination URL).
	Connected bool   `json:"connected,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// Result says what a run did, including the codecs that really ran.
type Result struct {
	Input   InputInfo      `json:"input"`
	Decoder DecoderInfo    `json:"decoder"`
	Outputs []OutputResult `json:"outputs"`
	// MasterPlaylists lists the HLS master playlists written (one per hls or cmaf folder).
	MasterPlaylists []string `json:"master_playlists,omitempty"`
	// DASHManifests lists the DASH manifests written (one per dash or cmaf folder).
	DASHManifests []string      `json:"dash_manifests,omitempty"`
	Elapsed       time.Duration `json:"elapsed_ns"`
	Frames        int64         `json:"frames"`
	FPS           float64       `json:"fps"`
	Speed         float64       `json:"speed"`
	// Unreached names the restream outputs whose destination was never reached (the run
	// succeeds without them).
	Unreached []string `json:"unreached,omitempty"`
	// Fallback explains why hardware mode auto ran in software; empty otherwise.
	Fallback string `json:"fallback,omitempty"`
	// DroppedTracks are the input's tracks that could not be read and that the outputs go
	// without (the run succeeds without them unless the spec marks the track required).
	DroppedTracks []spec.DroppedTrack `json:"dropped_tracks,omitempty"`
	// Warnings are the run's warnings (see WarningObserver), at most maxWarnings of them.
	Warnings []string `json:"warnings,omitempty"`
}

// InputInfo describes the opened input.
type InputInfo struct {
	URL        string        `json:"url"`
	Format     string        `json:"format"`
	Duration   time.Duration `json:"duration_ns"`
	VideoCodec string        `json:"video_codec,omitempty"`
	Width      int           `json:"width,omitempty"`
	Height     int           `json:"height,omitempty"`
	FPS        float64       `json:"fps,omitempty"`
	AudioCodec string        `json:"audio_codec,omitempty"`
}

// DecoderInfo names the decoders that ran.
type DecoderInfo struct {
	Video    string `json:"video,omitempty"`
	Audio    string `json:"audio,omitempty"`
	Hardware string `json:"hardware,omitempty"` // device kind when frames were decoded on it
}

// OutputResult is one output's outcome.
type OutputResult struct {
	Name         string  `json:"name"`
	Container    string  `json:"container"`
	Target       string  `json:"target,omitempty"`
	VideoEncoder string  `json:"video_encoder,omitempty"`
	AudioEncoder string  `json:"audio_encoder,omitempty"`
	Hardware     string  `json:"hardware,omitempty"`
	Width        int     `json:"width,omitempty"`
	Height       int     `json:"height,omitempty"`
	Frames       int64   `json:"frames"`
	Dropped      int64   `json:"dropped"`
	Duplicated   int64   `json:"duplicated"`
	Bytes        int64   `json:"bytes"`
	Bitrate      float64 `json:"bitrate"`
	// Playlist is an hls or cmaf rendition's media playlist (dash keeps none).
	Playlist string `json:"playlist,omitempty"`
	// Restream outputs (Reconnect set): Connections made to the destination, Reconnects
	// (attempts after the first), packets dropped while it was not connected, the last
	// connection or write error, and Unreached when no connection ever succeeded.
	Connections    int64  `json:"connections,omitempty"`
	Reconnects     int64  `json:"reconnects,omitempty"`
	DroppedPackets int64  `json:"dropped_packets,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	Unreached      bool   `json:"unreached,omitempty"`
}
