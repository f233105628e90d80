package catalog

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// LiveRequest is the job request of live stream st reading input: the stream's preset
// ladder, written under streams/<name>/ (relative: the worker resolves it against its output
// root; the worker side decides where HLS is served from).
func LiveRequest(st api.Stream, input string) api.JobRequest {
	return api.JobRequest{Preset: st.Preset, Input: input, Output: "streams/" + st.Name + "/", Queue: st.Queue,
		Labels: map[string]string{"stream_id": st.ID, "stream": st.Name}}
}

// TuneLive shapes the resolved live job j of stream st: live HLS, x264 tuned for latency, a
// restream output per destination, and an input timeout of at least inputTimeout (a live
// job waits on its input while the publisher is away within the stream's grace).
func TuneLive(j *api.Job, st api.Stream, inputTimeout time.Duration) {
	liveHLS(j, st.SegmentType)
	liveEncoding(j)
	restreamOutputs(j, st.Destinations)
	if t := inputTimeout.Seconds(); j.Spec.Input.TimeoutSeconds < t {
		j.Spec.Input.TimeoutSeconds = t
	}
}

// A live job's HLS: 2 s segments (the built-in presets' GOP, so each segment starts at a
// keyframe) keep a player about three segments behind the publisher; the playlist lists the
// last livePlaylistSize segments and the engine deletes older ones, so a stream's disk use
// stays flat however long it runs.
const (
	liveSegmentSeconds = 2
	livePlaylistSize   = 6
)

// liveHLS turns j's segmented outputs into live HLS ones (a sliding window written in
// place), with segmentType's segments when it names one. dash and cmaf become live HLS with
// their CMAF segments: their DASH manifest is written for VOD only. Other containers are
// left as the preset says.
func liveHLS(j *api.Job, segmentType string) {
	j.Spec.Outputs = slices.Clone(j.Spec.Outputs)
	for i, o := range j.Spec.Outputs {
		if !spec.Segmented(o.Container) {
			continue
		}
		h := spec.HLS{}
		if o.HLS != nil {
			h = *o.HLS
		}
		if spec.WritesDASH(o.Container) {
			h.SegmentType = spec.SegmentFMP4
		}
		if segmentType != "" {
			h.SegmentType = segmentType
		}
		h.SegmentSeconds, h.PlaylistSize = liveSegmentSeconds, livePlaylistSize
		j.Spec.Outputs[i].Container, j.Spec.Outputs[i].HLS = "hls", &h
	}
}

// liveEncoding tunes libx264 for latency in a live job's outputs (unless the preset chose a
// tune): no lookahead, no B-frames, sliced rather than frame threads. x264's defaults hold
// about 50 frames in flight on a 2-core machine; make bench-live measured p95 glass-to-glass
// latency of 1.85 s with them and 0.22 s with zerolatency, for somewhat larger output at
// the same quality.
func liveEncoding(j *api.Job) {
	j.Spec.Outputs = slices.Clone(j.Spec.Outputs)
	for i, o := range j.Spec.Outputs {
		if o.Video == nil || o.Video.Codec != "libx264" || o.Video.Options["tune"] != "" {
			continue
		}
		v := *o.Video
		v.Options = maps.Clone(v.Options)
		if v.Options == nil {
			v.Options = map[string]string{}
		}
		v.Options["tune"] = "zerolatency"
		j.Spec.Outputs[i].Video = &v
	}
}

// restreamOutputs adds to j one flv push per destination, carrying the ladder's top rung
// (its tallest video; the first output on a tie) with reconnection: a destination that is
// down or drops costs neither the HLS ladder nor the other destinations. Opus is not
// something RTMP destinations take, so it becomes AAC at the same bitrate.
func restreamOutputs(j *api.Job, dests []string) {
	if len(dests) == 0 || len(j.Spec.Outputs) == 0 {
		return
	}
	top := j.Spec.Outputs[0]
	for _, o := range j.Spec.Outputs[1:] {
		if taller(o.Video, top.Video) {
			top = o
		}
	}
	if top.Audio == nil || top.Audio.Codec == "none" {
		// A CMAF ladder carries its audio in a rendition of its own.
		for _, o := range j.Spec.Outputs {
			if o.Audio != nil && o.Audio.Codec != "none" {
				top.Audio = o.Audio
				break
			}
		}
	}
	outs := slices.Clone(j.Spec.Outputs)
	for i, d := range dests {
		o := spec.Output{Name: fmt.Sprintf("restream%d", i), Container: "flv", Target: d,
			Reconnect: &spec.Reconnect{MaxBackoffSeconds: spec.DefaultMaxBackoffSeconds}}
		if top.Video != nil {
			v := *top.Video
			v.Options = maps.Clone(v.Options)
			o.Video = &v
		}
		if top.Audio != nil {
			a := *top.Audio
			if a.Codec == "opus" {
				a.Codec = "aac"
			}
			o.Audio = &a
		}
		outs = append(outs, o)
	}
	j.Spec.Outputs = outs
}

// taller reports whether video a is taller than b; no video is the shortest, and height 0
// (the source's size) the tallest.
func taller(a, b *spec.Video) bool {
	h := func(v *spec.Video) int {
		switch {
		case v == nil || v.Codec == "none":
			return -1
		case v.Height == 0:
			return math.MaxInt
		}
		return v.Height
	}
	return h(a) > h(b)
}
