package main

// `ffrtmp run`: the command, and the farm's lifecycle: start the master, then the worker;
// on Ctrl-C drain the worker, then stop the master.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ffrtmp/ffrtmp/cmd/internal/config"
	"github.com/ffrtmp/ffrtmp/cmd/internal/mastercmd"
	"github.com/ffrtmp/ffrtmp/cmd/internal/workercmd"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/worker/hls"
)

// What `ffrtmp run` keeps in its data folder besides apiKeyFile and masterURLFile.
const (
	runDBFile     = "master.db"
	runWorkerDir  = "worker" // the worker's node ID
	runOutDir     = "out"    // default output root
	runEnvPrefix  = envPrefix + "_RUN"
	runConfigPart = "run" // the config file's section
)

func newRunCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a whole farm on this machine: master, worker and API, no configuration needed",
		Long: `Run starts a master (REST API, scheduler, bbolt database) and one worker in this process;
the worker runs each job in an executor process of this binary, as ffrtmp-worker does.

Everything lives in ./` + dataDirName + ` (--data-dir): the database (` + runDBFile + `), the API key
(` + apiKeyFile + `, admin role, generated on the first run and shown once), the API's URL
(` + masterURLFile + `), the worker's state (` + runWorkerDir + `/) and the outputs (` + runOutDir + `/). The other ffrtmp
commands, run in the same folder, find the farm through these files. Jobs may read files
under the folder ffrtmp run started in and write under ` + dataDirName + `/` + runOutDir + ` (--input-roots,
--output-roots).

The API listens on 127.0.0.1:8080. Listening beyond loopback (--listen 0.0.0.0) needs TLS
(--tls for a self-signed certificate, or --cert and --key) or an explicit --insecure.
Without --gpu the worker offers software encoders only and uses no GPU; with --gpu it probes
and offers CUDA, NVENC, QSV and VAAPI like ffrtmp-worker.

Live streams: the RTMP ingest listens on port 1935 of the --listen address (--rtmp-port,
--rtmp-listen; RTMPS with TLS). Create a stream (POST /v1/streams) and publish to
rtmp://127.0.0.1:1935/live/<stream key>: the worker writes the stream's preset ladder as live
HLS under ` + dataDirName + `/` + runOutDir + `/streams/<name>/, until the publisher stops; the
worker serves it at http://127.0.0.1:8088/hls/<name>/master.m3u8 (--hls-port) while it lasts.
With the ingest on other machines (ffrtmp ingest), --ingest-url rtmp://host:port points
streams there (--rtmp-port -1 turns this one off).

Ctrl-C (or SIGTERM) drains: no new jobs, running ones get --drain-timeout to finish, the rest
go back to the queue; then the master stops and the database stays for the next run.

Every flag can also be set as ` + runEnvPrefix + `_<FLAG> (e.g. ` + runEnvPrefix + `_SLOTS=2) or under "` + runConfigPart + `:"
in the config file (~/.config/ffrtmp/config.yaml, --config or FFRTMP_CONFIG). Flags win over
the environment, which wins over the file.`,
		Example: `  ffrtmp run
  ffrtmp run --demo
  ffrtmp run --slots 4 --gpu --port 9000
  ffrtmp run --listen 0.0.0.0 --tls
  ` + runEnvPrefix + `_SLOTS=2 ffrtmp run --input-roots /srv/media`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := runSettingsFrom(cmd)
			if err != nil {
				return err
			}
			return runFarm(cmd.Context(), s, cmd.ErrOrStderr())
		},
	}
	addRunFlags(cmd.Flags())
	return cmd
}

// addRunFlags defines the flags of `ffrtmp run` on fs.
func addRunFlags(fs *pflag.FlagSet) {
	fs.String("data-dir", dataDirName, "folder of the database, key, worker state and outputs")
	fs.String("listen", "127.0.0.1", "API address; beyond loopback it needs --tls, --cert or --insecure")
	fs.Int("port", 8080, "API port (0: any free one, written to "+masterURLFile+")")
	fs.Int("rtmp-port", 1935, "RTMP ingest port for live streams (0: any free one, -1: no ingest); RTMPS when the API serves TLS")
	fs.String("rtmp-listen", "", "address to bind the RTMP ingest to (empty: the --listen address)")
	fs.Int("hls-port", 8088, "port on the --listen address where the worker serves live HLS at /hls/ (0: any free one, -1: off)")
	fs.Duration("live-grace", 10*time.Second, "how long a live stream stays live after its publisher left; a reconnect within it continues the same job")
	fs.String("rtmp-host", "", "host publishers are told to push to in a stream's ingest_url (empty: the --rtmp-listen or --listen host, or this machine's name with --listen 0.0.0.0)")
	fs.String("ingest-url", "", "public address of standalone ingests (ffrtmp ingest), rtmp(s)://host:port: streams' ingest_url points there (e.g. with --rtmp-port -1)")
	fs.Bool("tls", false, "serve HTTPS with a self-signed certificate (kept in --data-dir)")
	fs.String("cert", "", "TLS certificate (PEM) to serve instead of a self-signed one")
	fs.String("key", "", "private key (PEM) of --cert")
	fs.Bool("insecure", false, "allow plain HTTP beyond loopback (keys cross the network in clear)")
	fs.StringSlice("webhook-allow-cidr", nil, mastercmd.WebhookAllowUsage)
	fs.String("keys-file", "", "YAML file of more API keys (hashed, with roles and tenants) beside the farm's own admin key, as ffrtmp-master takes it; re-read on SIGHUP")
	fs.Int("slots", 1, "jobs the worker runs at once")
	fs.Bool("gpu", false, "let the worker use GPUs and hardware (CUDA, NVENC, QSV, VAAPI)")
	fs.StringSlice("input-roots", nil, "folders jobs may read (default: the current folder)")
	fs.StringSlice("output-roots", nil, "folders jobs may write (default: <data-dir>/"+runOutDir+")")
	fs.Duration("drain-timeout", 30*time.Second, "on Ctrl-C, how long running jobs get before they are requeued")
	fs.String("metrics-addr", "", "master's /metrics address, e.g. :9090 (without a host: the --listen address; empty: off)")
	fs.String("worker-metrics-addr", "", "worker's /metrics address, e.g. :9091 (without a host: the --listen address; empty: off)")
	fs.Bool("demo", false, "submit a demo job (1080p into an HLS ladder) and show its progress")
	fs.String("log-level", "warn", "master and worker log level: debug, info, warn or error")
	fs.String("config", "", "file whose "+runConfigPart+": section sets these flags (default ~/.config/ffrtmp/"+configFileName+")")
}

// runFarm runs the master and the worker until ctx ends, then drains the worker and stops
// the master.
func runFarm(ctx context.Context, s runSettings, stderr io.Writer) error {
	p, err := runData(s)
	if err != nil {
		return err
	}
	keys, err := makeRunKeys(p.key)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: s.logLevel}))
	m, err := startMaster(ctx, s, p.data, keys.user, keys.worker, log)
	if err != nil {
		return err
	}
	apiURL := m.URL()
	if err := writeMasterURL(p.data, apiURL); err != nil {
		return err
	}
	// The master outlives ctx: it must answer the draining worker.
	mp := goRun(context.Background(), m.Run)
	defer mp.stop()
	caFile := s.caFile(p.data)
	wp, hlsBase, err := startWorker(ctx, s, p, apiURL, keys.worker, caFile, log)
	if err != nil {
		_ = mp.end() // the worker's error is the one to tell
		return err
	}
	defer wp.stop()

	runBanner{s: s, p: p, url: apiURL, key: keys.user, fresh: keys.fresh, caFile: caFile, ingest: runIngestURL(s, m.RTMPAddr()), hls: hlsBase}.write(stderr)
	if s.demo {
		startDemo(wp.ctx, apiURL, keys.user, caFile, p, stderr)
	}
	if err := waitFarm(ctx, s, mp, wp, stderr); err != nil {
		return err
	}
	writeStopped(stderr, s, p)
	return nil
}

// runningPart is the master or the worker of `ffrtmp run`, running in a goroutine of its own.
type runningPart struct {
	ctx  context.Context // the part's; ends when it is stopped
	stop context.CancelFunc
	done chan error // run's answer
}

// goRun runs run in a goroutine, under a context of its own derived from ctx.
func goRun(ctx context.Context, run func(context.Context) error) *runningPart {
	ctx, stop := context.WithCancel(ctx)
	p := &runningPart{ctx: ctx, stop: stop, done: make(chan error, 1)}
	go func() { p.done <- run(ctx) }()
	return p
}

// end stops the part and waits for it to return.
func (p *runningPart) end() error {
	p.stop()
	return <-p.done
}

// startWorker starts the in-process worker, a client of the farm's master at apiURL with the
// worker's key, and its HLS listener; it drains when ctx ends. hlsBase is the listener's base
// URL ("" without one).
func startWorker(ctx context.Context, s runSettings, p runPaths, apiURL, key, caFile string, log *slog.Logger) (w *runningPart, hlsBase string, err error) {
	client, err := runLocalClient(apiURL, key, caFile)
	if err != nil {
		return nil, "", err
	}
	hlsLn, hlsBase, err := runHLSListener(s)
	if err != nil {
		return nil, "", err
	}
	cfg := workercmd.Config{
		Master: client, Slots: s.slots, DataDir: p.worker,
		InputRoots: p.inputRoots, OutputRoots: p.outputRoots,
		DrainTimeout: s.drainTimeout, MetricsAddr: s.workerMetricsAddr,
		SoftwareOnly: !s.gpu, Logger: log,
		HLSListener: hlsLn, HLSAdvertise: hlsBase,
	}
	return goRun(ctx, func(ctx context.Context) error { return workercmd.Run(ctx, cfg) }), hlsBase, nil
}

// waitFarm waits for ctx to end or for a part to stop, then stops the rest in order: the
// worker first (it drains, and the master must answer it while it does), the master last.
func waitFarm(ctx context.Context, s runSettings, master, worker *runningPart, stderr io.Writer) error {
	var workerErr, masterErr error
	select {
	case <-ctx.Done():
		fmt.Fprintf(stderr, "\nstopping: the worker drains (running jobs get %v; Ctrl-C again to stop at once)\n", s.drainTimeout)
		drained := make(chan struct{})
		defer close(drained)
		forceStopOnSecondSignal(stderr, "second interrupt: stopping now; the master requeues unfinished jobs when the farm runs again", drained)
		workerErr = <-worker.done
		masterErr = master.end()
	case workerErr = <-worker.done:
		if workerErr == nil {
			workerErr = errors.New("the worker stopped unexpectedly")
		}
		masterErr = master.end()
	case masterErr = <-master.done:
		if masterErr == nil {
			masterErr = errors.New("the master stopped unexpectedly")
		}
		workerErr = worker.end()
	}
	return errors.Join(workerErr, masterErr)
}

// forceStopOnSecondSignal ends the process, saying msg, at a second Ctrl-C (or SIGTERM)
// before done closes. For `ffrtmp run` (during the drain): executors die with it (their
// parent-death signal) and the master requeues their jobs when it next runs.
func forceStopOnSecondSignal(stderr io.Writer, msg string, done <-chan struct{}) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sig)
		select {
		case <-sig:
			fmt.Fprintln(stderr, msg)
			os.Exit(exitFailed)
		case <-done:
		}
	}()
}

// startMaster builds the master's configuration with the master command's own defaults and
// checks (mastercmd), then adds what the all-in-one decides: its data folder, the user's
// admin key and the in-process worker's key.
func startMaster(ctx context.Context, s runSettings, dataAbs, userKey, workerKey string, log *slog.Logger) (*master.Master, error) {
	mfs := pflag.NewFlagSet("master", pflag.ContinueOnError)
	mastercmd.Flags(mfs)
	mv, err := config.Bind(mfs, config.Sources{}) // the defaults: no environment, no file
	if err != nil {
		return nil, err
	}
	for k, val := range map[string]any{
		"listen": s.listen, "port": s.port, "metrics-addr": s.metricsAddr, "db": filepath.Join(dataAbs, runDBFile),
		"api-key": userKey, "tls": s.tls, "cert": s.cert, "key": s.key, "log-level": s.logLevelName,
		"rtmp-port": s.rtmpPort, "rtmp-listen": s.rtmpListen, "live-grace": s.liveGrace, "ingest-url": s.ingestURL,
		"rtmp-host":          s.rtmpHost,
		"keys-file":          s.keysFile,
		"webhook-allow-cidr": s.webhookAllow,
	} {
		mv.Set(k, val)
	}
	cfg, err := mastercmd.Config(mv)
	if err != nil {
		return nil, usageError{err}
	}
	cfg.Logger = log
	cfg.APIKeys = append(cfg.APIKeys, auth.StaticKey("ffrtmp-run-worker", auth.RoleWorker, workerKey))
	if s.tls && s.cert == "" && !isLoopback(s.listen) {
		cfg.TLS.Hosts = selfSignedHosts(s.listen)
	}
	m, err := master.New(ctx, cfg)
	switch {
	case errors.Is(err, syscall.EADDRINUSE) && strings.Contains(err.Error(), "RTMP ingest"):
		return nil, fmt.Errorf("%w: another ffrtmp run, master or RTMP server may hold port %d; pick another with --rtmp-port (0: any free one, -1: no ingest)", err, s.rtmpPort)
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("%w: another ffrtmp run or master may hold port %d; pick another with --port", err, s.port)
	case err != nil:
		return nil, fmt.Errorf("start the master: %w", err)
	}
	return m, nil
}

// runHLSListener binds the worker's HLS listener on the --listen address and returns it
// with the base URL players on this machine reach it at (the stream name follows); nil and
// "" with --hls-port -1.
func runHLSListener(s runSettings) (net.Listener, string, error) {
	if s.hlsPort < 0 {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.listen, strconv.Itoa(s.hlsPort)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			err = fmt.Errorf("%w: another ffrtmp run or worker may hold port %d; pick another with --hls-port (0: any free one, -1: off)", err, s.hlsPort)
		}
		return nil, "", fmt.Errorf("HLS listener: %w", err)
	}
	ta, _ := ln.Addr().(*net.TCPAddr)
	host := "127.0.0.1"
	if ta != nil && ta.IP != nil && !ta.IP.IsUnspecified() && !ta.IP.IsLoopback() {
		host = ta.IP.String()
	}
	port := 0
	if ta != nil {
		port = ta.Port
	}
	return ln, "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + hls.Prefix, nil
}
