package api

import "time"

// StreamState is where a live stream stands.
type StreamState string

// Stream states.
const (
	// StreamIdle: no publisher (or it left longer ago than the master's grace period).
	StreamIdle StreamState = "idle"
	// StreamLive: a publisher is connected, or left less than the grace period ago (a
	// reconnect within it continues the same job).
	StreamLive StreamState = "live"
	// StreamStale: a publisher is connected but sent no data for the stale period (5 min).
	StreamStale StreamState = "stale"
)

// MaxStreamDestinations bounds a stream's restream destinations.
const MaxStreamDestinations = 8

// StreamRequest is the body of POST /v1/streams.
type StreamRequest struct {
	// Name is 1..64 of A-Z, a-z, 0-9, '.', '_', '-'; unique on the master. It names the
	// stream's HLS folder.
	Name string `json:"name"`
	// Preset is the ladder the live job writes (GET /v1/presets).
	Preset string `json:"preset"`
	// HLS writes the ladder as HLS (default true).
	HLS *bool `json:"hls,omitempty"`
	// SegmentType is the live HLS segments' format: ts (MPEG-TS) or fmp4 (CMAF: fragmented
	// MP4, as players using MSE and low-latency HLS prefer; AV1 and VP9 need it). Empty: the
	// preset's (a dash or cmaf preset streams CMAF segments in live HLS; their DASH
	// manifest is written for VOD only).
	SegmentType string `json:"segment_type,omitempty"`
	// Destinations are rtmp:// or rtmps:// URLs the live job restreams to (at most
	// MaxStreamDestinations).
	Destinations []string `json:"destinations,omitempty"`
	// Queue is the queue of the stream's live jobs (default live).
	Queue string `json:"queue,omitempty"`
	// Tenant creates the stream on behalf of a tenant (admin keys only).
	Tenant string `json:"tenant,omitempty"`
}

// Stream is the master's view of a live stream. The stream key is never shown again after
// the answers of POST /v1/streams and POST /v1/streams/{id}/rotate-key.
type Stream struct {
	ID           string      `json:"id"`
	Tenant       string      `json:"tenant,omitempty"` // the tenant that owns the stream and its live jobs
	Name         string      `json:"name"`
	Preset       string      `json:"preset"`
	HLS          bool        `json:"hls"`
	SegmentType  string      `json:"segment_type,omitempty"` // as asked ("" the preset's)
	Destinations []string    `json:"destinations,omitempty"`
	Queue        string      `json:"queue"`
	State        StreamState `json:"state"`
	// StreamKey is the secret a publisher puts after IngestURL; only in the answers that
	// create or rotate it.
	StreamKey string `json:"stream_key,omitempty"`
	// IngestURL is where publishers push to, followed by the stream key
	// (rtmp://host:1935/live/): the standalone ingests' address when the master has one
	// (--ingest-url), else its own ingest's; empty when there is neither.
	IngestURL string `json:"ingest_url,omitempty"`
	// HLSURL is where players open the stream's master playlist while it is live.
	HLSURL string `json:"hls_url,omitempty"`
	// PreviewURL is the same master playlist through the master, a path on the API's own
	// origin (/v1/streams/{id}/hls/master.m3u8) taking the API's credentials: the console's
	// preview plays it. Set when HLSURL is.
	PreviewURL string `json:"preview_url,omitempty"`
	// Input describes what the publisher sends (while live).
	Input *StreamInput `json:"input,omitempty"`
	// LiveSince is when the publisher started (kept across a reconnect within the grace).
	LiveSince *time.Time `json:"live_since,omitempty"`
	// UptimeSeconds is the time since LiveSince.
	UptimeSeconds float64 `json:"uptime_seconds,omitempty"`
	// JobID is the stream's current live job.
	JobID string `json:"job_id,omitempty"`
	// LastJobID is the live job of the stream's previous session.
	LastJobID string    `json:"last_job_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// StreamInput is what a publisher sends, as the ingest saw it.
type StreamInput struct {
	VideoCodec string  `json:"video_codec,omitempty"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	FPS        float64 `json:"fps,omitempty"`
	AudioCodec string  `json:"audio_codec,omitempty"`
	SampleRate int     `json:"sample_rate,omitempty"`
	Channels   int     `json:"channels,omitempty"`
	// Bitrate is the input's measured rate in bits per second.
	Bitrate float64 `json:"bitrate,omitempty"`
	// Remote is the publisher's address.
	Remote string `json:"remote,omitempty"`
}

// StreamList is GET /v1/streams, by name.
type StreamList struct {
	Streams []Stream `json:"streams"`
}
