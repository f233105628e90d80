package hw

import (
	"bufio"
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/engine"
)

// Check is one probe's outcome: a device, encoder or decoder and whether it really opened.
type Check struct {
	Name   string `json:"name"`
	Device string `json:"device,omitempty"` // cuda, qsv, vaapi; "" for software
	OK     bool   `json:"ok"`
	// Error is why it did not open (libav's or NVML's own words).
	Error string `json:"error,omitempty"`
	// Sessions is how many NVENC sessions opened at once (encoders on cuda only).
	Sessions int `json:"sessions,omitempty"`
}

// Report is what this machine can do, as measured now.
type Report struct {
	CPUs        int   `json:"cpus"`
	MemoryBytes int64 `json:"memory_bytes"`
	// GPUs are the NVIDIA GPUs NVML sees; NVML says why there are none.
	GPUs     []GPU            `json:"gpus"`
	NVML     string           `json:"nvml,omitempty"`
	Devices  []Check          `json:"devices"`
	Encoders []Check          `json:"encoders"`
	Decoders []Check          `json:"decoders"`
	Build    engine.BuildInfo `json:"build"`
}

// Options tune Probe. The zero value probes everything with the system's NVML.
type Options struct {
	// NVML is the library to ask (nil: the system's libnvidia-ml through go-nvml).
	NVML nvml.Interface
	// DeviceName picks the device to probe: a GPU index for cuda, a render node for vaapi.
	DeviceName string
	// MaxSessions caps the NVENC session count probe (default 16).
	MaxSessions int
	// SoftwareOnly skips NVML and every hardware device: the report lists no GPUs, each
	// device as not probed, and only the software encoders (`ffrtmp run` without --gpu).
	SoftwareOnly bool
}

// ErrSoftwareOnly is why devices were not probed under Options.SoftwareOnly.
var ErrSoftwareOnly = errors.New("not probed: software only")

// probedEncoders are the encoders the farm offers, in the order reports list them.
var probedEncoders = []string{"libx264", "libx265", "libsvtav1", "libvpx-vp9", "h264_nvenc", "hevc_nvenc", "av1_nvenc", "h264_qsv", "hevc_qsv",
	"h264_vaapi", "hevc_vaapi", "aac", "libopus"}

// Probe measures this machine: NVML's GPUs, which hardware devices open, and which encoders
// and hardware decoders really open (not which the build contains). Encoders and decoders of
// a device that does not open are reported with the device's reason without trying them.
func Probe(ctx context.Context, opts Options) Report {
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 16
	}
	r := Report{CPUs: runtime.NumCPU(), MemoryBytes: memTotal(), Build: engine.Build()}
	if opts.SoftwareOnly {
		r.NVML = ErrSoftwareOnly.Error()
	} else if n, err := OpenNVML(opts.NVML); err != nil {
		r.NVML = err.Error()
	} else {
		gpus, err := n.GPUs()
		if err != nil {
			r.NVML = err.Error()
		}
		r.GPUs = gpus
		n.Close()
	}
	devErr := map[string]error{}
	for _, kind := range engine.DeviceKinds() {
		err := ctx.Err()
		if err == nil && opts.SoftwareOnly {
			err = ErrSoftwareOnly
		}
		if err == nil {
			err = engine.ProbeDevice(kind, opts.DeviceName)
		}
		devErr[kind] = err
		r.Devices = append(r.Devices, check(kind, "", err))
	}
	for _, name := range probedEncoders {
		dev := engine.DeviceFor(name)
		var c Check
		switch {
		case ctx.Err() != nil:
			c = check(name, dev, ctx.Err())
		case dev != "" && devErr[dev] != nil:
			c = check(name, dev, devErr[dev])
		default:
			c = check(name, dev, engine.ProbeEncoder(name, opts.DeviceName))
			if c.OK && dev == "cuda" {
				c.Sessions, _ = engine.ProbeEncoderSessions(name, opts.DeviceName, opts.MaxSessions)
			}
		}
		r.Encoders = append(r.Encoders, c)
	}
	for _, kind := range engine.DeviceKinds() {
		for _, name := range engine.HardwareDecoders(kind) {
			err := errors.Join(devErr[kind], ctx.Err())
			if err == nil {
				err = engine.ProbeDecoder(name, opts.DeviceName)
			}
			r.Decoders = append(r.Decoders, check(name, kind, err))
		}
	}
	return r
}

func check(name, device string, err error) Check {
	c := Check{Name: name, Device: device, OK: err == nil}
	if err != nil {
		c.Error = err.Error()
	}
	return c
}

// Opened lists the names of the checks that opened.
func Opened(cs []Check) []string {
	out := []string{}
	for _, c := range cs {
		if c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

// Capabilities is the report as a worker registers it with the master: the encoders,
// decoders and devices that opened, the GPUs with their NVENC session count, and slots.
func (r Report) Capabilities(slots int) api.Capabilities {
	c := api.Capabilities{CPUs: r.CPUs, MemoryBytes: r.MemoryBytes, Slots: slots,
		Encoders: Opened(r.Encoders), Decoders: Opened(r.Decoders), Hardware: Opened(r.Devices)}
	sessions := 0
	for _, e := range r.Encoders {
		if e.Device == "cuda" && e.Sessions > sessions {
			sessions = e.Sessions
		}
	}
	for _, g := range r.GPUs {
		ag := g.API()
		if slices.Contains(c.Hardware, "cuda") {
			ag.EncoderSessions = sessions
		}
		c.GPUs = append(c.GPUs, ag)
	}
	return c
}

// memTotal reads MemTotal from /proc/meminfo (0 where there is none).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
