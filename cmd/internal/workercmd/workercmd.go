// Package workercmd is the worker's command line, shared by ffrtmp-worker and `ffrtmp
// worker`: flags, environment and config file (viper), the caps subcommand, and Run, which
// starts an agent from a Config (also used in-process by `ffrtmp run`).
package workercmd

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/cmd/internal/config"
	"github.com/ffrtmp/ffrtmp/cmd/internal/logs"
	"github.com/ffrtmp/ffrtmp/hw"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/internal/version"
	"github.com/ffrtmp/ffrtmp/worker/access"
)

// EnvPrefix prefixes the environment variable of every flag: --max-concurrent-jobs is
// FFRTMP_WORKER_MAX_CONCURRENT_JOBS. The API key also comes from FFMPEG_RTMP_API_KEY.
const EnvPrefix = "FFRTMP_WORKER"

// ExecArg is the hidden first argument a binary that runs workers is re-executed with to
// become an executor: its main must hand such a process to executor.Main before anything else.
const ExecArg = "exec"

// New returns the worker command named use ("ffrtmp-worker" or "worker").
func New(use string) *cobra.Command {
	var v *viper.Viper // bound before the command runs
	name := use
	if use == "worker" {
		name = "ffrtmp worker"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run an ffrtmp worker: register with the master and transcode the jobs it hands out",
		Long: `The worker probes this machine (NVIDIA GPUs through NVML, hardware devices, the encoders that
really open), registers with the master, and leases jobs up to --max-concurrent-jobs. Each job
runs in an executor process of this binary, so a crash in libav or a driver costs only that
job. Inputs and outputs must lie under --input-roots and --output-roots (default: --data-dir).
SIGTERM drains: no new jobs, running ones get --drain-timeout, the rest go back to the master.

Every flag can also be set as ` + EnvPrefix + `_<FLAG> or in a YAML --config file; the API key
also comes from FFMPEG_RTMP_API_KEY.`,
		Example: `  FFMPEG_RTMP_API_KEY=K ` + name + ` --register --master https://master:8080 --ca ca.pem --output-roots /srv/out --input-roots /srv/in
  FFMPEG_RTMP_API_KEY=K ` + name + ` --master https://m1:8080,https://m2:8080,https://m3:8080 --ca ca.pem
  ` + EnvPrefix + `_MAX_CONCURRENT_JOBS=4 ` + name + ` --config /etc/ffrtmp/worker.yaml
  ` + name + ` caps -o json`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) (err error) {
			v, err = bind(cmd)
			return err
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runCommand(cmd, v) },
	}
	fs := cmd.Flags()
	fs.String("config", "", "YAML config file (keys are flag names)")
	fs.Bool("register", true, "register with the master at start (always; kept for the seed's command line)")
	fs.String("master", "http://127.0.0.1:8080", "the master's URL; for a cluster, every master's, comma-separated (the worker moves to the next when one is down)")
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
	fs.String("metrics-advertise", "", "metrics URL Prometheus reaches this node at, registered for the master's service discovery (default: http://<listen host or host name>:<port>/metrics)")
	fs.String("hls-listen", "", "serve the live HLS this node writes at /hls/ on this address, e.g. :8088 (empty: off)")
	fs.String("hls-advertise", "", "HLS base URL players reach this node at (default: http://<listen host or host name>:<port>/hls/)")
	logs.Flags(fs)
	cmd.AddCommand(capsCmd(name))
	return cmd
}

// bind reads the worker's flags, FFRTMP_WORKER_* (FFMPEG_RTMP_API_KEY for --api-key) and
// the --config file.
func bind(cmd *cobra.Command) (*viper.Viper, error) {
	return config.Bind(cmd.Flags(), config.Sources{EnvPrefix: EnvPrefix, ExtraEnv: map[string]string{"api-key": "FFMPEG_RTMP_API_KEY"}, FileFlag: "config"})
}

// runCommand turns the bound flags, environment and file into a Config and runs the agent.
func runCommand(cmd *cobra.Command, v *viper.Viper) error {
	log, err := logs.New(v.GetString("log-level"), v.GetString("log-format"), os.Stderr)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	slots := v.GetInt("max-concurrent-jobs")
	if slots < 1 || slots > MaxSlots {
		return fmt.Errorf("--max-concurrent-jobs %d: want 1..%d", slots, MaxSlots)
	}
	var tlsCfg *tls.Config
	if v.GetString("ca") != "" || v.GetString("cert") != "" {
		var err error
		if tlsCfg, err = tlsconf.Client(v.GetString("ca"), v.GetString("cert"), v.GetString("key")); err != nil {
			return err
		}
	}
	key := v.GetString("api-key")
	if key == "" {
		return errors.New("no API key: set FFMPEG_RTMP_API_KEY or --api-key (a key with the worker role)")
	}
	client, err := api.NewClient(v.GetString("master"), key,
		api.WithUserAgent("ffrtmp-worker/"+version.Version), api.WithTLSConfig(tlsCfg), api.WithLogger(log))
	if err != nil {
		return fmt.Errorf("--master: %w", err)
	}
	metricsAddr := ""
	if port := v.GetInt("metrics-port"); port > 0 {
		metricsAddr = net.JoinHostPort(v.GetString("metrics-listen"), strconv.Itoa(port))
	}
	if adv := v.GetString("metrics-advertise"); adv != "" {
		if u, err := url.Parse(adv); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" ||
			u.User != nil || u.RawQuery != "" || !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("--metrics-advertise %q: want http(s)://host:port/metrics", adv)
		}
	}
	var hlsLn net.Listener
	if addr := v.GetString("hls-listen"); addr != "" {
		if adv := v.GetString("hls-advertise"); adv != "" {
			if u, err := url.Parse(adv); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("--hls-advertise %q: want http(s)://host:port/hls/", adv)
			}
		}
		if hlsLn, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("--hls-listen: %w", err)
		}
	}
	labels, err := config.Map(v, "labels")
	if err != nil {
		return err
	}
	return Run(cmd.Context(), Config{
		Master: client, Name: v.GetString("name"), Labels: labels, Slots: slots,
		DataDir:    v.GetString("data-dir"),
		InputRoots: config.List(v, "input-roots"), OutputRoots: config.List(v, "output-roots"),
		Protocols:    config.List(v, "protocols"),
		DrainTimeout: v.GetDuration("drain-timeout"), StallTimeout: v.GetDuration("stall-timeout"),
		MetricsAddr: metricsAddr, MetricsAdvertise: v.GetString("metrics-advertise"), Logger: log,
		ClientCert:  func() (time.Time, bool) { return tlsconf.ClientNotAfter(tlsCfg) },
		HLSListener: hlsLn, HLSAdvertise: v.GetString("hls-advertise"),
		Notify: true,
	})
}

func capsCmd(parent string) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "caps",
		Short:   "Probe and print what this machine can do (the capabilities the worker registers)",
		Example: "  " + parent + " caps\n  " + parent + " caps -o json",
		Args:    cobra.NoArgs,
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
