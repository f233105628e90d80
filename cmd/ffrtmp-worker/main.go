// Command ffrtmp-worker turns a machine into farm capacity: it probes what the hardware can
// really do, registers with the master, and runs leased jobs, each in an executor process of
// this same binary.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/hw"
	"github.com/ffrtmp/ffrtmp/internal/version"
	"github.com/ffrtmp/ffrtmp/master/tlsconf"
	"github.com/ffrtmp/ffrtmp/worker"
	"github.com/ffrtmp/ffrtmp/worker/access"
	"github.com/ffrtmp/ffrtmp/worker/executor"
	"github.com/ffrtmp/ffrtmp/worker/metrics"
)

// execSubcommand is the hidden subcommand the worker starts its executors with.
const execSubcommand = "exec"

func main() {
	// The executor child: no flags, no config, the job on stdin.
	if len(os.Args) > 1 && os.Args[1] == execSubcommand {
		os.Exit(executor.Main(os.Stdin, os.Stdout))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ffrtmp-worker: %v\n", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	v := viper.New()
	cmd := &cobra.Command{
		Use:   "ffrtmp-worker",
		Short: "Run an ffrtmp worker: register with the master and transcode the jobs it hands out",
		Long: `The worker probes this machine (NVIDIA GPUs through NVML, hardware devices, the encoders that
really open), registers with the master, and leases jobs up to --max-concurrent-jobs. Each job
runs in an executor process of this binary, so a crash in libav or a driver costs only that
job. Inputs and outputs must lie under --input-roots and --output-roots (default: --data-dir).
SIGTERM drains: no new jobs, running ones get --drain-timeout, the rest go back to the master.

Every flag can also be set as FFRTMP_WORKER_<FLAG> or in a YAML --config file; the API key
also comes from FFMPEG_RTMP_API_KEY.`,
		Example:           `  FFMPEG_RTMP_API_KEY=K ffrtmp-worker --register --master https://master:8080 --ca ca.pem --output-roots /srv/out --input-roots /srv/in`,
		Args:              cobra.NoArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return bind(v, cmd) },
		RunE:              func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), v) },
	}
	fs := cmd.Flags()
	fs.String("config", "", "YAML config file (keys are flag names)")
	fs.Bool("register", true, "register with the master at start (always; kept for the seed's command line)")
	fs.String("master", "http://127.0.0.1:8080", "the master's URL")
	fs.String("api-key", "", "API key with the worker role (also FFMPEG_RTMP_API_KEY)")
	fs.String("cert", "", "client certificate for mTLS (PEM)")
	fs.String("key", "", "client key for mTLS (PEM)")
	fs.String("ca", "", "CA that signs the master's certificate (PEM)")
	fs.String("name", "", "node name shown by the master (default: the host name)")
	fs.Int("max-concurrent-jobs", 1, "jobs run at once")
	fs.StringToString("labels", nil, "labels jobs can require, e.g. zone=eu,tier=gpu")
	fs.String("data-dir", "ffrtmp-worker-data", "folder for the node ID and, without roots, job files")
	fs.StringSlice("input-roots", nil, "folders jobs may read (default: --data-dir)")
	fs.StringSlice("output-roots", nil, "folders jobs may write (default: --data-dir)")
	fs.StringSlice("protocols", access.DefaultProtocols, "protocols job inputs may use")
	fs.Duration("drain-timeout", 5*time.Minute, "on SIGTERM, how long running jobs get to finish")
	fs.Duration("stall-timeout", time.Minute, "an executor that reports nothing for this long is killed")
	fs.Int("metrics-port", 9091, "port of the Prometheus /metrics listener (0: off)")
	fs.String("metrics-listen", "", "address to bind the metrics listener to (empty: all interfaces)")
	fs.String("log-level", "info", "debug, info, warn or error")
	cmd.AddCommand(capsCmd())
	return cmd
}

func bind(v *viper.Viper, cmd *cobra.Command) error {
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return err
	}
	v.SetEnvPrefix("FFRTMP_WORKER")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindEnv("api-key", "FFRTMP_WORKER_API_KEY", "FFMPEG_RTMP_API_KEY"); err != nil {
		return err
	}
	if f := v.GetString("config"); f != "" {
		v.SetConfigFile(f)
		if err := v.ReadInConfig(); err != nil {
			return fmt.Errorf("read config %s: %w", f, err)
		}
	}
	return nil
}

func run(ctx context.Context, v *viper.Viper) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(v.GetString("log-level"))); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", v.GetString("log-level"))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	slots := v.GetInt("max-concurrent-jobs")
	if slots < 1 || slots > 256 {
		return fmt.Errorf("--max-concurrent-jobs %d: want 1..256", slots)
	}
	dataDir := v.GetString("data-dir")
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	pol, err := access.New(v.GetStringSlice("input-roots"), v.GetStringSlice("output-roots"), v.GetStringSlice("protocols"), dataDir)
	if err != nil {
		return err
	}
	ins, outs := pol.Roots()
	log.Info("job access", "input_roots", ins, "output_roots", outs, "protocols", pol.Whitelist())
	var tlsCfg *tls.Config
	if v.GetString("ca") != "" || v.GetString("cert") != "" {
		if tlsCfg, err = tlsconf.Client(v.GetString("ca"), v.GetString("cert"), v.GetString("key")); err != nil {
			return err
		}
	}
	opts := []api.Option{api.WithUserAgent("ffrtmp-worker/" + version.Version)}
	if tlsCfg != nil {
		opts = append(opts, api.WithTLSConfig(tlsCfg))
	}
	key := v.GetString("api-key")
	if key == "" {
		return errors.New("no API key: set FFMPEG_RTMP_API_KEY or --api-key (a key with the worker role)")
	}
	client, err := api.NewClient(v.GetString("master"), key, opts...)
	if err != nil {
		return fmt.Errorf("--master: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	log.Info("probing this machine's hardware")
	report := hw.Probe(ctx, hw.Options{})
	caps := report.Capabilities(slots)
	log.Info("capabilities", "encoders", caps.Encoders, "hardware", caps.Hardware, "gpus", len(caps.GPUs), "nvml", report.NVML)
	tel := newTelemetry()
	available := map[string]bool{}
	for _, e := range report.Encoders {
		available[e.Name] = e.OK
	}
	m := metrics.New(available, tel.read)
	if port := v.GetInt("metrics-port"); port > 0 {
		addr := net.JoinHostPort(v.GetString("metrics-listen"), strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("--metrics-port: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("metrics listening", "addr", ln.Addr().String())
	}
	agent, err := worker.New(worker.Config{
		Master: client, Name: v.GetString("name"), Labels: v.GetStringMapString("labels"), Capabilities: caps,
		Version: version.Version, DataDir: dataDir, Policy: pol,
		Executor:     executor.Command{Path: exe, Args: []string{execSubcommand}},
		Telemetry:    tel.read,
		Metrics:      m,
		DrainTimeout: v.GetDuration("drain-timeout"), StallTimeout: v.GetDuration("stall-timeout"),
		Logger: log,
	})
	if err != nil {
		return err
	}
	defer tel.close()
	return agent.Run(ctx)
}

func capsCmd() *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "caps",
		Short: "Probe and print what this machine can do (the capabilities the worker registers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// libav's complaints about missing devices are in the report, with the reasons.
			slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelError + 1})))
			r := hw.Probe(cmd.Context(), hw.Options{})
			switch output {
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			case "table":
				r.WriteTable(cmd.OutOrStdout())
				return nil
			}
			return fmt.Errorf("-o %q: want table or json", output)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return c
}
