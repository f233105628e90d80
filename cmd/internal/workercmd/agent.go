package workercmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ffrtmp/ffrtmp/hw"
	"github.com/ffrtmp/ffrtmp/internal/sdnotify"
	"github.com/ffrtmp/ffrtmp/internal/version"
	"github.com/ffrtmp/ffrtmp/worker"
	"github.com/ffrtmp/ffrtmp/worker/access"
	"github.com/ffrtmp/ffrtmp/worker/executor"
	"github.com/ffrtmp/ffrtmp/worker/hls"
	"github.com/ffrtmp/ffrtmp/worker/metrics"
)

// MaxSlots is the most jobs one worker runs at once.
const MaxSlots = 256

// Config is one worker agent's setup: what ffrtmp-worker's flags say, or what `ffrtmp run`
// decides for its in-process worker.
type Config struct {
	// Master is the client the agent talks through; its key needs the worker role.
	Master worker.Master
	Name   string // node name (default: the host name)
	Labels map[string]string
	Slots  int // jobs at once, 1..MaxSlots
	// DataDir keeps the node ID and, without roots, is where jobs read and write. Created
	// when missing.
	DataDir                 string
	InputRoots, OutputRoots []string
	Protocols               []string // nil: access.DefaultProtocols
	DrainTimeout            time.Duration
	StallTimeout            time.Duration
	// MetricsAddr is the Prometheus /metrics listen address; "" is off.
	MetricsAddr string
	// MetricsAdvertise is the metrics URL the node registers, where Prometheus reaches
	// MetricsAddr; empty: http://<listen host, or this machine's name>:<port>/metrics.
	MetricsAdvertise string
	// ClientCert, when set, says when the client certificate the worker presents expires
	// (ffrtmp_worker_tls_cert_expiry_timestamp_seconds).
	ClientCert func() (time.Time, bool)
	// HLSListener, when set, serves the live HLS this node's jobs write (the first output
	// root's streams/ folder) read-only at /hls/<stream>/...; Run closes it.
	HLSListener net.Listener
	// HLSAdvertise is the HLS base URL the node registers, where players reach HLSListener;
	// empty: http://<listen host, or this machine's name>:<port>/hls/.
	HLSAdvertise string
	// SoftwareOnly offers software encoders only: no NVML, no hardware device probe, and
	// executors that see no device, so a job's hardware "auto" falls back to libx264.
	SoftwareOnly bool
	// Executable is the binary executors run as `Executable exec`; empty: this process's own.
	Executable string
	Logger     *slog.Logger
	// Notify tells systemd (when it started the worker as a Type=notify service) READY=1
	// once the agent has registered, its status, and watchdog pings while it is healthy;
	// ffrtmp-worker sets it, the all-in-one `ffrtmp run` does not.
	Notify bool
}

// softwareOnlyEnv hides the hardware from executors of a software-only worker: CUDA sees no
// device and libva finds no driver (QSV opens through libva), so opening a device fails
// and the engine's hardware "auto" runs in software, as the capabilities said.
var softwareOnlyEnv = []string{"CUDA_VISIBLE_DEVICES=", "LIBVA_DRIVERS_PATH=" + os.DevNull}

// Run probes the machine, starts the metrics listener when asked, and runs an agent until
// ctx ends; then the agent drains (running jobs get DrainTimeout, the rest go back to the
// master) and Run returns nil.
func Run(ctx context.Context, cfg Config) error {
	if cfg.HLSListener != nil {
		defer cfg.HLSListener.Close() // also where Run fails before serving it
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	pol, err := prepare(cfg, log)
	if err != nil {
		return err
	}
	ex, err := executorCommand(cfg, log)
	if err != nil {
		return err
	}
	report := hw.Probe(ctx, hw.Options{SoftwareOnly: cfg.SoftwareOnly})
	caps := report.Capabilities(cfg.Slots)
	log.Info("capabilities", "encoders", caps.Encoders, "hardware", caps.Hardware, "gpus", len(caps.GPUs), "nvml", report.NVML)
	tel := newTelemetry(!cfg.SoftwareOnly)
	defer tel.close()
	available := map[string]bool{}
	for _, e := range report.Encoders {
		available[e.Name] = e.OK
	}
	m := metrics.New(available, tel.read)
	if cfg.ClientCert != nil {
		m.ClientCert(cfg.ClientCert)
	}
	m.GPUs(caps.GPUs)
	metricsURL, stopMetrics, err := serveMetrics(cfg.MetricsAddr, cfg.MetricsAdvertise, m, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	_, outs := pol.Roots()
	hlsBase, stopHLS := serveHLS(ctx, cfg, outs[0], log)
	defer stopHLS()
	agent, err := worker.New(worker.Config{
		Master: cfg.Master, Name: cfg.Name, Labels: cfg.Labels, Capabilities: caps,
		Version: version.Version, DataDir: cfg.DataDir, Policy: pol,
		Executor:     ex,
		Telemetry:    tel.read,
		Metrics:      m,
		HLSBaseURL:   hlsBase,
		MetricsURL:   metricsURL,
		DrainTimeout: cfg.DrainTimeout, StallTimeout: cfg.StallTimeout,
		Logger: log,
	})
	if err != nil {
		return err
	}
	if !cfg.Notify {
		return agent.Run(ctx)
	}
	svc := sdnotify.Service{Ready: agent.Registered(), Health: agent.Health, Status: agent.Status, Logger: log}
	return svc.Run(ctx, agent.Run)
}

// prepare checks cfg, creates the data folder and returns the jobs' access policy.
func prepare(cfg Config, log *slog.Logger) (*access.Policy, error) {
	if cfg.Master == nil {
		return nil, errors.New("worker: no master client")
	}
	if cfg.Slots < 1 || cfg.Slots > MaxSlots {
		return nil, fmt.Errorf("%d concurrent jobs: want 1..%d", cfg.Slots, MaxSlots)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	pol, err := access.New(cfg.InputRoots, cfg.OutputRoots, cfg.Protocols, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ins, outs := pol.Roots()
	log.Info("job access", "input_roots", ins, "output_roots", outs, "protocols", pol.Whitelist())
	return pol, nil
}

// executorCommand is how the agent starts an executor: this binary (or cfg.Executable) with
// ExecArg, seeing no hardware when the worker is software only.
func executorCommand(cfg Config, log *slog.Logger) (executor.Command, error) {
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return executor.Command{}, err
		}
	}
	ex := executor.Command{Path: exe, Args: []string{ExecArg}}
	if cfg.SoftwareOnly {
		ex.Env = append(os.Environ(), softwareOnlyEnv...)
		log.Info("software only: no GPU or hardware device is probed or used")
	} else {
		log.Info("probing this machine's hardware")
	}
	return ex, nil
}

// serveMetrics serves m at /metrics on addr ("": not at all) until stop is called; url is
// where Prometheus finds it: advertise, or one made from the listener's address.
func serveMetrics(addr, advertise string, m *metrics.Metrics, log *slog.Logger) (url string, stop func(), err error) {
	if addr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("metrics listener on %s: %w", addr, err)
	}
	url = advertise
	if url == "" {
		url = "http://" + advertisedHostPort(ln.Addr()) + "/metrics"
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("metrics listening", "addr", ln.Addr().String(), "url", url)
	return url, func() { srv.Close() }, nil
}

// serveHLS serves the live HLS under outRoot's streams/ folder on cfg.HLSListener, when
// there is one, until stop is called; base is the URL the node registers for it ("" without).
func serveHLS(ctx context.Context, cfg Config, outRoot string, log *slog.Logger) (base string, stop func()) {
	if cfg.HLSListener == nil {
		return "", func() {}
	}
	base = cfg.HLSAdvertise
	if base == "" {
		base = HLSBaseURL(cfg.HLSListener.Addr())
	}
	srv := &hls.Server{Dir: filepath.Join(outRoot, "streams"), Logger: log}
	hlsCtx, stopHLS := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(hlsCtx, cfg.HLSListener) }()
	log.Info("serving live HLS", "addr", cfg.HLSListener.Addr().String(), "dir", srv.Dir, "base_url", base)
	return base, func() {
		stopHLS()
		if err := <-done; err != nil {
			log.Warn("hls server", "err", err)
		}
	}
}

// HLSBaseURL is the HLS base URL of a server listening on addr: its host when it listens on
// one address, else this machine's name.
func HLSBaseURL(addr net.Addr) string {
	return "http://" + advertisedHostPort(addr) + hls.Prefix
}

// advertisedHostPort is host:port of a listener as others reach it: its address when it
// listens on one, else this machine's name.
func advertisedHostPort(addr net.Addr) string {
	host, port := "localhost", "0"
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
		if ta.IP != nil && !ta.IP.IsUnspecified() {
			host = ta.IP.String()
		} else if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return net.JoinHostPort(host, port)
}
