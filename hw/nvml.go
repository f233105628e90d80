package hw

import (
	"errors"
	"fmt"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/ffrtmp/ffrtmp/api"
)

// GPU is one NVIDIA GPU as NVML reports it now. The JSON names are api.GPUTelemetry's.
type GPU struct {
	Index int    `json:"index"`
	UUID  string `json:"uuid,omitempty"`
	Name  string `json:"name"`
	// Memory in MiB (what nvidia-smi shows as MiB).
	MemoryTotalMB int `json:"memory_total_mb"`
	MemoryUsedMB  int `json:"memory_used_mb"`
	// Utilisations in percent over NVML's last sampling period.
	Utilization        float64 `json:"utilization_percent"`
	MemoryUtilization  float64 `json:"memory_utilization_percent"`
	EncoderUtilization float64 `json:"encoder_utilization_percent"`
	DecoderUtilization float64 `json:"decoder_utilization_percent"`
	// NVENC sessions open now, their average fps and latency (µs). NVML counts fps in whole
	// frames.
	EncoderSessions  int     `json:"encoder_sessions"`
	EncoderFPS       float64 `json:"encoder_fps,omitempty"`
	EncoderLatencyUs float64 `json:"encoder_latency_us,omitempty"`
	PowerWatts       float64 `json:"power_watts"`
	TemperatureC     float64 `json:"temperature_c"`
	// DriverVersion is the same for all GPUs; it is filled per GPU for convenience.
	DriverVersion string `json:"driver_version,omitempty"`
}

// API is the GPU as a worker registers it. EncoderSessions there is the encoder probe's
// session cap, which NVML does not know, so it stays zero here.
func (g GPU) API() api.GPU {
	return api.GPU{
		Index:         g.Index,
		UUID:          g.UUID,
		Name:          g.Name,
		MemoryTotalMB: g.MemoryTotalMB,
	}
}

// Telemetry is the GPU's readings as a worker sends them with a heartbeat.
func (g GPU) Telemetry() api.GPUTelemetry {
	return api.GPUTelemetry{
		Index:              g.Index,
		Utilization:        g.Utilization,
		MemoryUtilization:  g.MemoryUtilization,
		EncoderUtilization: g.EncoderUtilization,
		DecoderUtilization: g.DecoderUtilization,
		MemoryUsedMB:       g.MemoryUsedMB,
		PowerWatts:         g.PowerWatts,
		TemperatureC:       g.TemperatureC,
		EncoderSessions:    g.EncoderSessions,
		EncoderFPS:         g.EncoderFPS,
		EncoderLatencyUs:   g.EncoderLatencyUs,
	}
}

// ErrNoNVIDIA says NVML could not start: no driver, no library, or no permission. The
// error that wraps it carries NVML's own reason.
var ErrNoNVIDIA = errors.New("no NVIDIA GPU")

// ErrNVMLClosed is returned by NVML's methods after Close.
var ErrNVMLClosed = errors.New("NVML closed")

// NVMLError is an NVML call that failed; Return is NVML's code (errors.Is(err,
// nvml.ERROR_GPU_IS_LOST) works through it).
type NVMLError struct {
	Op     string // what was asked: "init", "device count", "device 2 handle"
	Return nvml.Return
	reason string // NVML's text for Return, read while the library was known to be loaded
}

func (e *NVMLError) Error() string { return "nvml " + e.Op + ": " + e.reason }

// Unwrap gives the nvml.Return.
func (e *NVMLError) Unwrap() error { return e.Return }

// nvmlMu serialises every call into NVML, across all NVML values in the process. NVML is a
// process-wide library, and go-nvml keeps process-wide state without a lock (the error-string
// function and the versioned symbols it swaps in when the library loads), so a lock per
// value would not be enough. It is the only package-level state in hw.
var nvmlMu sync.Mutex

// NVML reads NVIDIA GPUs through the driver's NVML library. It is safe for concurrent use.
// The zero value is closed; use OpenNVML.
type NVML struct {
	lib nvml.Interface // nil once closed; guarded by nvmlMu
}

// OpenNVML starts NVML through lib (nil: the system's libnvidia-ml.so.1, loaded with dlopen).
// When NVML does not start, the error wraps ErrNoNVIDIA and an *NVMLError with NVML's reason,
// and no other NVML function has been called: without a driver go-nvml's other functions
// jump through unresolved symbols and kill the process.
func OpenNVML(lib nvml.Interface) (*NVML, error) {
	if lib == nil {
		lib = nvml.New()
	}
	nvmlMu.Lock()
	defer nvmlMu.Unlock()
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("%w: %w", ErrNoNVIDIA, initError(ret))
	}
	return &NVML{lib: lib}, nil
}

// initError explains a failed nvml.Init. It uses Return.Error, not lib.ErrorString: in
// go-nvml v0.13 Return.Error is pure Go until the library has loaded and nvmlErrorString
// (callable before init) after, while lib.ErrorString is an Interface call a caller's mock
// or wrapper may not allow.
func initError(ret nvml.Return) error {
	reason := ret.Error()
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		// go-nvml drops dlopen's message; say what it means.
		reason += " (libnvidia-ml.so.1 did not load: no NVIDIA driver here, or a container started without the NVIDIA runtime)"
	case nvml.ERROR_DRIVER_NOT_LOADED:
		reason += " (the NVIDIA kernel driver is not running)"
	case nvml.ERROR_NO_PERMISSION:
		reason += " (no permission to open /dev/nvidia*)"
	case nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		reason += " (libnvidia-ml and the kernel driver are different versions)"
	}
	return &NVMLError{Op: "init", Return: ret, reason: reason}
}

func callError(op string, ret nvml.Return) error {
	return &NVMLError{Op: op, Return: ret, reason: ret.Error()}
}

// GPUs reads every GPU NVML sees. A reading the GPU does not support (H100s have no NVENC;
// GeForce cards may not report power) or that fails leaves its field zero; only failing to
// count the GPUs or to get one's handle is an error.
func (n *NVML) GPUs() ([]GPU, error) {
	nvmlMu.Lock()
	defer nvmlMu.Unlock()
	if n.lib == nil {
		return nil, fmt.Errorf("read GPUs: %w", ErrNVMLClosed)
	}
	count, ret := n.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("read GPUs: %w", callError("device count", ret))
	}
	driver, ret := n.lib.SystemGetDriverVersion()
	if ret != nvml.SUCCESS {
		driver = ""
	}
	gpus := make([]GPU, 0, count)
	for i := range count {
		dev, ret := n.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("read GPUs: %w", callError(fmt.Sprintf("device %d handle", i), ret))
		}
		g := readGPU(dev)
		g.Index = i
		g.DriverVersion = driver
		gpus = append(gpus, g)
	}
	return gpus, nil
}

// readGPU takes each reading NVML gives; one it refuses stays zero.
func readGPU(dev nvml.Device) GPU {
	const mib = 1 << 20
	var g GPU
	if name, ret := dev.GetName(); ret == nvml.SUCCESS {
		g.Name = name
	}
	if uuid, ret := dev.GetUUID(); ret == nvml.SUCCESS {
		g.UUID = uuid
	}
	if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
		g.MemoryTotalMB = int(mem.Total / mib)
		g.MemoryUsedMB = int(mem.Used / mib)
	}
	if u, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS {
		g.Utilization = float64(u.Gpu)
		g.MemoryUtilization = float64(u.Memory)
	}
	if u, _, ret := dev.GetEncoderUtilization(); ret == nvml.SUCCESS {
		g.EncoderUtilization = float64(u)
	}
	if u, _, ret := dev.GetDecoderUtilization(); ret == nvml.SUCCESS {
		g.DecoderUtilization = float64(u)
	}
	if sessions, fps, latencyUs, ret := dev.GetEncoderStats(); ret == nvml.SUCCESS {
		g.EncoderSessions = sessions
		g.EncoderFPS = float64(fps)
		g.EncoderLatencyUs = float64(latencyUs)
	}
	if mw, ret := dev.GetPowerUsage(); ret == nvml.SUCCESS {
		g.PowerWatts = float64(mw) / 1000
	}
	if c, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
		g.TemperatureC = float64(c)
	}
	return g
}

// Close shuts NVML down. It is idempotent, and no NVML function is called after it, even
// when Shutdown fails.
func (n *NVML) Close() error {
	nvmlMu.Lock()
	defer nvmlMu.Unlock()
	if n.lib == nil {
		return nil
	}
	lib := n.lib
	n.lib = nil
	if ret := lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("close NVML: %w", callError("shutdown", ret))
	}
	return nil
}
