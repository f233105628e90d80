package spec

// DroppedTrack is an input track a run's outputs went without, and why: the engine's result
// and the job's result (api.Result) carry it as it is.
type DroppedTrack struct {
	Stream int    `json:"stream"` // index of the stream in the input
	Media  string `json:"media"`  // video or audio
	Codec  string `json:"codec,omitempty"`
	Reason string `json:"reason"`
}
