// Package hw discovers what a machine's hardware can do: NVIDIA GPUs through NVML, the
// hardware device contexts that open, and the encoders and decoders that really open (not
// the ones the FFmpeg build merely contains).
package hw
