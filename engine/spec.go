package engine

import "github.com/ffrtmp/ffrtmp/engine/spec"

// The job description lives in the cgo-free package spec, so the master and the API client
// can use it without linking libav. These aliases keep engine.Spec and friends working.
type (
	Spec      = spec.Spec
	Input     = spec.Input
	Synthetic = spec.Synthetic
	Output    = spec.Output
	Video     = spec.Video
	Audio     = spec.Audio
	HLS       = spec.HLS
	Reconnect = spec.Reconnect
	Hardware  = spec.Hardware
	Rate      = spec.Rate
	Bitrate   = spec.Bitrate
	Rung      = spec.Rung
	// SpecError names the Spec field that is wrong; it is wrapped in an *Error of KindSpec.
	SpecError = spec.Error
)

// Hardware modes.
const (
	HardwareNone    = spec.HardwareNone
	HardwareAuto    = spec.HardwareAuto
	HardwareRequire = spec.HardwareRequire
)

// ParseRate reads "30", "29.97" or "30000/1001".
func ParseRate(s string) (Rate, error) { return spec.ParseRate(s) }

// ParseBitrate reads "3000000", "3M", "800k", "2.5M".
func ParseBitrate(s string) (Bitrate, error) { return spec.ParseBitrate(s) }

// VideoCodecs lists the video codec names a Spec may use.
func VideoCodecs() []string { return spec.VideoCodecs() }

// ContainerFor guesses a container from a target (see spec.ContainerFor).
func ContainerFor(target string) string { return spec.ContainerFor(target) }

// RungNames lists the known ladder rung names, tallest first.
func RungNames() []string { return spec.RungNames() }

// LadderOutputs expands rung names into outputs patterned on base (see spec.LadderOutputs).
func LadderOutputs(names string, base Output) ([]Output, error) {
	return spec.LadderOutputs(names, base)
}

// normalize validates s through spec.Normalize and files a field error under KindSpec.
func normalize(s Spec) (Spec, error) {
	n, err := s.Normalize()
	if err != nil {
		return n, &Error{Kind: KindSpec, Err: err}
	}
	return n, nil
}
