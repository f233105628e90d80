package hw

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/ffrtmp/ffrtmp/api"
)

// strict fills every unset *Func field of a go-nvml mock with a stub that fails the test and
// answers ERROR_UNKNOWN, so any NVML call a test did not expect is caught by name (without a
// driver such a call would kill the process).
func strict(t *testing.T, m any) {
	t.Helper()
	retType := reflect.TypeFor[nvml.Return]()
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if f.Kind() != reflect.Func || !f.CanSet() || !f.IsNil() || !strings.HasSuffix(name, "Func") {
			continue
		}
		ft, method := f.Type(), v.Type().Name()+"."+strings.TrimSuffix(name, "Func")
		f.Set(reflect.MakeFunc(ft, func([]reflect.Value) []reflect.Value {
			t.Errorf("unexpected NVML call %s", method)
			out := make([]reflect.Value, ft.NumOut())
			for j := range out {
				out[j] = reflect.Zero(ft.Out(j))
				if ft.Out(j) == retType {
					out[j] = reflect.ValueOf(nvml.ERROR_UNKNOWN)
				}
			}
			return out
		}))
	}
}

// reading is what a fake GPU answers.
type reading struct {
	name, uuid           string
	mem                  nvml.Memory
	util                 nvml.Utilization
	enc, dec             uint32
	sessions             int
	fps, latencyUs       uint32
	powerMW, temperature uint32
}

func fakeDevice(t *testing.T, r reading) *mock.Device {
	d := &mock.Device{
		GetNameFunc:               func() (string, nvml.Return) { return r.name, nvml.SUCCESS },
		GetUUIDFunc:               func() (string, nvml.Return) { return r.uuid, nvml.SUCCESS },
		GetMemoryInfoFunc:         func() (nvml.Memory, nvml.Return) { return r.mem, nvml.SUCCESS },
		GetUtilizationRatesFunc:   func() (nvml.Utilization, nvml.Return) { return r.util, nvml.SUCCESS },
		GetEncoderUtilizationFunc: func() (uint32, uint32, nvml.Return) { return r.enc, 167000, nvml.SUCCESS },
		GetDecoderUtilizationFunc: func() (uint32, uint32, nvml.Return) { return r.dec, 167000, nvml.SUCCESS },
		GetEncoderStatsFunc:       func() (int, uint32, uint32, nvml.Return) { return r.sessions, r.fps, r.latencyUs, nvml.SUCCESS },
		GetPowerUsageFunc:         func() (uint32, nvml.Return) { return r.powerMW, nvml.SUCCESS },
		GetTemperatureFunc: func(s nvml.TemperatureSensors) (uint32, nvml.Return) {
			if s != nvml.TEMPERATURE_GPU {
				t.Errorf("GetTemperature(%v), want TEMPERATURE_GPU", s)
			}
			return r.temperature, nvml.SUCCESS
		},
	}
	strict(t, d)
	return d
}

// fakeLib is an NVML that starts and sees devs.
func fakeLib(t *testing.T, driver string, devs ...nvml.Device) *mock.Interface {
	lib := &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return driver, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i < 0 || i >= len(devs) {
				t.Errorf("DeviceGetHandleByIndex(%d) with %d devices", i, len(devs))
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			return devs[i], nvml.SUCCESS
		},
	}
	strict(t, lib)
	return lib
}

func open(t *testing.T, lib nvml.Interface) *NVML {
	t.Helper()
	n, err := OpenNVML(lib)
	if err != nil {
		t.Fatalf("OpenNVML: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

const mib = 1 << 20

var (
	h100 = reading{
		name: "NVIDIA H100 80GB HBM3", uuid: "GPU-9d1a4c2e-0000-4b6f-8a55-3c1e2f6a7b80",
		mem:  nvml.Memory{Total: 81559 * mib, Used: 2048*mib + 12345, Free: 79511 * mib},
		util: nvml.Utilization{Gpu: 87, Memory: 41},
		enc:  0, dec: 63, // no NVENC: encoder readings supported but zero
		powerMW: 512345, temperature: 58,
	}
	rtx = reading{
		name: "NVIDIA GeForce RTX 4090", uuid: "GPU-1f2e3d4c-5b6a-4978-8877-665544332211",
		mem:  nvml.Memory{Total: 24564 * mib, Used: 1500 * mib},
		util: nvml.Utilization{Gpu: 35, Memory: 12},
		enc:  71, dec: 20, sessions: 3, fps: 60, latencyUs: 1200,
		powerMW: 285500, temperature: 64,
	}
)

func TestOpenNVMLInitFails(t *testing.T) {
	for _, tc := range []struct {
		ret  nvml.Return
		want string
	}{
		{nvml.ERROR_LIBRARY_NOT_FOUND, "libnvidia-ml.so.1 did not load"},
		{nvml.ERROR_DRIVER_NOT_LOADED, "kernel driver is not running"},
		{nvml.ERROR_NO_PERMISSION, "no permission"},
		{nvml.ERROR_UNKNOWN, "ERROR_UNKNOWN"},
	} {
		t.Run(tc.ret.Error(), func(t *testing.T) {
			lib := &mock.Interface{InitFunc: func() nvml.Return { return tc.ret }}
			strict(t, lib) // any call after the failed Init fails the test
			n, err := OpenNVML(lib)
			if n != nil {
				t.Errorf("OpenNVML returned an NVML with error %v", err)
			}
			if !errors.Is(err, ErrNoNVIDIA) {
				t.Fatalf("error %v does not wrap ErrNoNVIDIA", err)
			}
			if !errors.Is(err, tc.ret) {
				t.Errorf("error %v does not carry %v", err, tc.ret)
			}
			var nerr *NVMLError
			if !errors.As(err, &nerr) || nerr.Op != "init" || nerr.Return != tc.ret {
				t.Errorf("error %v: NVMLError = %+v", err, nerr)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "no NVIDIA GPU: nvml init: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want NVML's reason containing %q", msg, tc.want)
			}
			if got := len(lib.InitCalls()); got != 1 {
				t.Errorf("Init called %d times", got)
			}
		})
	}
}

func TestGPUsReadsEveryGPU(t *testing.T) {
	n := open(t, fakeLib(t, "570.124.06", fakeDevice(t, h100), fakeDevice(t, rtx)))
	got, err := n.GPUs()
	if err != nil {
		t.Fatal(err)
	}
	want := []GPU{{
		Index: 0, UUID: h100.uuid, Name: h100.name,
		MemoryTotalMB: 81559, MemoryUsedMB: 2048,
		Utilization: 87, MemoryUtilization: 41,
		EncoderUtilization: 0, DecoderUtilization: 63,
		PowerWatts: 512.345, TemperatureC: 58,
		DriverVersion: "570.124.06",
	}, {
		Index: 1, UUID: rtx.uuid, Name: rtx.name,
		MemoryTotalMB: 24564, MemoryUsedMB: 1500,
		Utilization: 35, MemoryUtilization: 12,
		EncoderUtilization: 71, DecoderUtilization: 20,
		EncoderSessions: 3, EncoderFPS: 60, EncoderLatencyUs: 1200,
		PowerWatts: 285.5, TemperatureC: 64,
		DriverVersion: "570.124.06",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GPUs() =\n%+v\nwant\n%+v", got, want)
	}

	if a := got[1].API(); a != (api.GPU{Index: 1, UUID: rtx.uuid, Name: rtx.name, MemoryTotalMB: 24564}) {
		t.Errorf("API() = %+v (EncoderSessions is the probe's cap, not NVML's open sessions)", a)
	}
	wantTel := api.GPUTelemetry{
		Index: 1, Utilization: 35, MemoryUtilization: 12, EncoderUtilization: 71,
		DecoderUtilization: 20, MemoryUsedMB: 1500, PowerWatts: 285.5, TemperatureC: 64,
		EncoderSessions: 3, EncoderFPS: 60, EncoderLatencyUs: 1200,
	}
	if tel := got[1].Telemetry(); tel != wantTel {
		t.Errorf("Telemetry() = %+v, want %+v", tel, wantTel)
	}
}

func TestGPUsUnsupportedReadingsStayZero(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_UNKNOWN, nvml.ERROR_GPU_IS_LOST} {
		t.Run(ret.Error(), func(t *testing.T) {
			// A GPU that gives its name and memory and refuses everything else.
			d := &mock.Device{
				GetNameFunc:               func() (string, nvml.Return) { return "Tesla T4", nvml.SUCCESS },
				GetMemoryInfoFunc:         func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 15360 * mib}, nvml.SUCCESS },
				GetUUIDFunc:               func() (string, nvml.Return) { return "", ret },
				GetUtilizationRatesFunc:   func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: 9}, ret },
				GetEncoderUtilizationFunc: func() (uint32, uint32, nvml.Return) { return 9, 9, ret },
				GetDecoderUtilizationFunc: func() (uint32, uint32, nvml.Return) { return 9, 9, ret },
				GetEncoderStatsFunc:       func() (int, uint32, uint32, nvml.Return) { return 9, 9, 9, ret },
				GetPowerUsageFunc:         func() (uint32, nvml.Return) { return 9, ret },
				GetTemperatureFunc:        func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 9, ret },
			}
			strict(t, d)
			lib := fakeLib(t, "", d, fakeDevice(t, rtx))
			lib.SystemGetDriverVersionFunc = func() (string, nvml.Return) { return "junk", ret }
			n := open(t, lib)

			got, err := n.GPUs()
			if err != nil {
				t.Fatalf("GPUs: %v", err)
			}
			if len(got) != 2 {
				t.Fatalf("got %d GPUs, want 2", len(got))
			}
			if want := (GPU{Index: 0, Name: "Tesla T4", MemoryTotalMB: 15360}); got[0] != want {
				t.Errorf("GPU 0 = %+v, want %+v", got[0], want)
			}
			if got[1].Name != rtx.name || got[1].EncoderSessions != 3 || got[1].DriverVersion != "" {
				t.Errorf("GPU 1 = %+v: the other GPU's readings should not be affected", got[1])
			}
		})
	}
}

func TestGPUsFails(t *testing.T) {
	t.Run("device count", func(t *testing.T) {
		lib := fakeLib(t, "570.124.06")
		lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
		n := open(t, lib)
		got, err := n.GPUs()
		if err == nil || !errors.Is(err, nvml.ERROR_UNKNOWN) || !strings.Contains(err.Error(), "device count") {
			t.Errorf("GPUs() = %v, %v; want a device count error", got, err)
		}
		if errors.Is(err, ErrNoNVIDIA) {
			t.Errorf("error %v says no NVIDIA GPU, but NVML started", err)
		}
	})
	t.Run("device handle", func(t *testing.T) {
		lib := fakeLib(t, "570.124.06", fakeDevice(t, h100), fakeDevice(t, rtx))
		handle := lib.DeviceGetHandleByIndexFunc
		lib.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
			if i == 1 {
				return nil, nvml.ERROR_GPU_IS_LOST
			}
			return handle(i)
		}
		n := open(t, lib)
		got, err := n.GPUs()
		var nerr *NVMLError
		if !errors.As(err, &nerr) || nerr.Return != nvml.ERROR_GPU_IS_LOST || nerr.Op != "device 1 handle" {
			t.Errorf("GPUs() = %v, %v; want the handle error of device 1", got, err)
		}
	})
	t.Run("no GPUs", func(t *testing.T) {
		n := open(t, fakeLib(t, "570.124.06"))
		got, err := n.GPUs()
		if err != nil || len(got) != 0 {
			t.Errorf("GPUs() = %v, %v; want none and no error", got, err)
		}
	})
}

func TestCloseShutsDownOnce(t *testing.T) {
	lib := fakeLib(t, "570.124.06", fakeDevice(t, rtx))
	n, err := OpenNVML(lib)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.GPUs(); err != nil {
		t.Fatal(err)
	}
	calls := len(lib.DeviceGetCountCalls())
	for range 3 {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if got := len(lib.ShutdownCalls()); got != 1 {
		t.Errorf("Shutdown called %d times, want 1", got)
	}
	if _, err := n.GPUs(); !errors.Is(err, ErrNVMLClosed) {
		t.Errorf("GPUs after Close: %v, want ErrNVMLClosed", err)
	}
	if got := len(lib.DeviceGetCountCalls()); got != calls {
		t.Errorf("GPUs after Close called DeviceGetCount")
	}

	var zero NVML
	if _, err := zero.GPUs(); !errors.Is(err, ErrNVMLClosed) {
		t.Errorf("zero NVML GPUs: %v, want ErrNVMLClosed", err)
	}
	if err := zero.Close(); err != nil {
		t.Errorf("zero NVML Close: %v", err)
	}
}

func TestCloseShutdownFails(t *testing.T) {
	lib := fakeLib(t, "570.124.06", fakeDevice(t, rtx))
	lib.ShutdownFunc = func() nvml.Return { return nvml.ERROR_UNKNOWN }
	n, err := OpenNVML(lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); !errors.Is(err, nvml.ERROR_UNKNOWN) {
		t.Errorf("Close: %v, want the Shutdown error", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := n.GPUs(); !errors.Is(err, ErrNVMLClosed) {
		t.Errorf("GPUs after a failed Close: %v, want ErrNVMLClosed", err)
	}
	if got := len(lib.ShutdownCalls()); got != 1 {
		t.Errorf("Shutdown called %d times, want 1", got)
	}
}

// TestGPUsConcurrent reads from many goroutines while one closes: NVML calls never overlap,
// none comes after Shutdown, and every read either succeeds whole or says NVML is closed.
func TestGPUsConcurrent(t *testing.T) {
	var inFlight atomic.Int32
	var shut atomic.Bool
	enter := func(what string) func() {
		if inFlight.Add(1) != 1 {
			t.Errorf("%s: NVML calls overlap", what)
		}
		if shut.Load() {
			t.Errorf("%s after Shutdown", what)
		}
		return func() { inFlight.Add(-1) }
	}
	guard := func(d *mock.Device) *mock.Device {
		get := d.GetEncoderStatsFunc
		d.GetEncoderStatsFunc = func() (int, uint32, uint32, nvml.Return) {
			defer enter("GetEncoderStats")()
			return get()
		}
		return d
	}
	lib := fakeLib(t, "570.124.06", guard(fakeDevice(t, h100)), guard(fakeDevice(t, rtx)))
	count := lib.DeviceGetCountFunc
	lib.DeviceGetCountFunc = func() (int, nvml.Return) {
		defer enter("DeviceGetCount")()
		return count()
	}
	lib.ShutdownFunc = func() nvml.Return {
		defer enter("Shutdown")()
		shut.Store(true)
		return nvml.SUCCESS
	}
	n := open(t, lib)

	var readers sync.WaitGroup
	var ok atomic.Int32
	someRead, readersDone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	for range 8 {
		readers.Go(func() {
			for range 200 {
				gpus, err := n.GPUs()
				switch {
				case errors.Is(err, ErrNVMLClosed):
					return
				case err != nil:
					t.Errorf("GPUs: %v", err)
					return
				case len(gpus) != 2 || gpus[1].EncoderSessions != 3:
					t.Errorf("GPUs = %+v", gpus)
				}
				if ok.Add(1) == 100 {
					once.Do(func() { close(someRead) })
				}
			}
		})
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		select { // close while reads are still going on
		case <-someRead:
		case <-readersDone:
		}
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	readers.Wait()
	close(readersDone)
	<-closed
	if ok.Load() < 100 {
		t.Errorf("only %d reads succeeded", ok.Load())
	}
	if got := len(lib.ShutdownCalls()); got != 1 {
		t.Errorf("Shutdown called %d times, want 1", got)
	}
}

// TestOpenNVMLWithoutDriver uses the real go-nvml on this machine. Without libnvidia-ml.so.1
// go-nvml's dlopen fails and Init answers ERROR_LIBRARY_NOT_FOUND; with the library but no
// driver, ERROR_DRIVER_NOT_LOADED. Either way this process must survive and say no GPU.
func TestOpenNVMLWithoutDriver(t *testing.T) {
	n, err := OpenNVML(nil)
	if err == nil {
		gpus, gerr := n.GPUs()
		_ = n.Close()
		t.Skipf("NVML works on this machine (%d GPUs, %v); run the -tags nvidia tests", len(gpus), gerr)
	}
	t.Logf("OpenNVML(nil): %v", err)
	if !errors.Is(err, ErrNoNVIDIA) {
		t.Fatalf("error %v does not wrap ErrNoNVIDIA", err)
	}
	var nerr *NVMLError
	if !errors.As(err, &nerr) {
		t.Fatalf("error %v carries no NVMLError", err)
	}
	// Opening again after a failure is just as safe.
	if _, err := OpenNVML(nil); !errors.Is(err, ErrNoNVIDIA) {
		t.Errorf("second OpenNVML(nil): %v", err)
	}
}
