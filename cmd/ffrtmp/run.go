package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/cmd/internal/mastercmd"
	"github.com/ffrtmp/ffrtmp/cmd/internal/workercmd"
	"github.com/ffrtmp/ffrtmp/engine/spec"
	"github.com/ffrtmp/ffrtmp/internal/version"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/tlsconf"
	"github.com/ffrtmp/ffrtmp/worker"
)

// What `ffrtmp run` keeps in its data folder besides apiKeyFile and masterURLFile.
const (
	runDBFile     = "master.db"
	runWorkerDir  = "worker" // the worker's node ID
	runOutDir     = "out"    // default output root
	runEnvPrefix  = envPrefix + "_RUN"
	runConfigPart = "run" // the config file's section
	demoLadder    = "1080p,720p,480p"
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
	fs := cmd.Flags()
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
	return cmd
}

// runSettings is what `ffrtmp run` was asked for, after flags, environment and config file.
type runSettings struct {
	dataDir                 string
	listen                  string
	port                    int
	rtmpPort                int
	rtmpListen              string
	hlsPort                 int
	liveGrace               time.Duration
	ingestURL               string
	rtmpHost                string
	webhookAllow            []string
	tls, insecure           bool
	cert, key               string
	slots                   int
	gpu, demo               bool
	inputRoots, outputRoots []string
	drainTimeout            time.Duration
	metricsAddr             string
	workerMetricsAddr       string
	logLevel                slog.Level
	logLevelName            string
}

// runViper binds cmd's flags, FFRTMP_RUN_* and the config file's run: section.
func runViper(cmd *cobra.Command) (*viper.Viper, error) {
	return sectionViper(cmd, runEnvPrefix, runConfigPart)
}

// sectionViper binds the flags cmd defines itself (not those it inherits or passes on),
// envPrefix_<FLAG> in the environment and the ffrtmp config file's section: of the same names.
func sectionViper(cmd *cobra.Command, envPrefix, section string) (*viper.Viper, error) {
	v := viper.New()
	own := cmd.LocalNonPersistentFlags()
	if err := v.BindPFlags(own); err != nil {
		return nil, err
	}
	v.SetEnvPrefix(envPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	path, explicit := configPath(cmd)
	if path == "" {
		return v, nil
	}
	f := viper.New()
	f.SetConfigFile(path)
	f.SetConfigType("yaml")
	if err := f.ReadInConfig(); err != nil {
		if explicit || !errors.Is(err, fs.ErrNotExist) {
			return nil, usagef("read config %s: %v", path, err)
		}
		return v, nil
	}
	raw := f.Get(section)
	if raw == nil {
		return v, nil
	}
	values, ok := raw.(map[string]any)
	if !ok {
		return nil, usagef("config %s: %q must be a mapping of flag names to values", path, section)
	}
	for k := range values {
		if fl := own.Lookup(k); fl == nil || k == "config" {
			return nil, usagef("config %s: %s.%s is not a flag of %s (see '%s --help')", path, section, k, cmd.CommandPath(), cmd.CommandPath())
		}
	}
	if err := v.MergeConfigMap(values); err != nil {
		return nil, usagef("config %s: %v", path, err)
	}
	return v, nil
}

// runList reads a list setting; the environment gives one as "a,b" and viper does not split it.
func runList(v *viper.Viper, key string) []string {
	var out []string
	for _, s := range v.GetStringSlice(key) {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func runSettingsFrom(cmd *cobra.Command) (runSettings, error) {
	v, err := runViper(cmd)
	if err != nil {
		return runSettings{}, err
	}
	s := runSettings{
		dataDir: v.GetString("data-dir"), listen: v.GetString("listen"), port: v.GetInt("port"),
		rtmpPort: v.GetInt("rtmp-port"), rtmpListen: v.GetString("rtmp-listen"), liveGrace: v.GetDuration("live-grace"),
		ingestURL: v.GetString("ingest-url"), rtmpHost: v.GetString("rtmp-host"), webhookAllow: runList(v, "webhook-allow-cidr"),
		tls: v.GetBool("tls"), insecure: v.GetBool("insecure"), cert: v.GetString("cert"), key: v.GetString("key"),
		slots: v.GetInt("slots"), gpu: v.GetBool("gpu"), demo: v.GetBool("demo"),
		inputRoots: runList(v, "input-roots"), outputRoots: runList(v, "output-roots"),
		drainTimeout:      v.GetDuration("drain-timeout"),
		metricsAddr:       master.DefaultHost(v.GetString("metrics-addr"), v.GetString("listen")),
		workerMetricsAddr: master.DefaultHost(v.GetString("worker-metrics-addr"), v.GetString("listen")),
		logLevelName:      v.GetString("log-level"), hlsPort: v.GetInt("hls-port"),
	}
	switch {
	case strings.TrimSpace(s.dataDir) == "":
		return s, usagef("--data-dir is empty: give a folder (default %s)", dataDirName)
	case s.port < 0 || s.port > 65535:
		return s, usagef("--port %d: want 0..65535", s.port)
	case s.rtmpPort < -1 || s.rtmpPort > 65535:
		return s, usagef("--rtmp-port %d: want 0..65535, or -1 for no RTMP ingest", s.rtmpPort)
	case s.hlsPort < -1 || s.hlsPort > 65535:
		return s, usagef("--hls-port %d: want 0..65535, or -1 to serve no HLS", s.hlsPort)
	case s.liveGrace <= 0:
		return s, usagef("--live-grace %v: want a positive duration such as 10s", s.liveGrace)
	case s.slots < 1 || s.slots > workercmd.MaxSlots:
		return s, usagef("--slots %d: want 1..%d", s.slots, workercmd.MaxSlots)
	case s.drainTimeout <= 0:
		return s, usagef("--drain-timeout %v: want a positive duration such as 30s", s.drainTimeout)
	case s.cert != "" && s.key == "":
		return s, usagef("--cert %s given without --key: give the certificate's private key too", s.cert)
	case s.key != "" && s.cert == "":
		return s, usagef("--key %s given without --cert: give the certificate too", s.key)
	}
	if err := s.logLevel.UnmarshalText([]byte(s.logLevelName)); err != nil {
		return s, usagef("--log-level %q: want debug, info, warn or error", s.logLevelName)
	}
	if s.rtmpPort >= 0 && s.rtmpListen != "" && !isLoopback(s.rtmpListen) && !s.servesTLS() && !s.insecure {
		return s, usagef("--rtmp-listen %s reaches beyond this machine: stream keys would cross the network in clear; "+
			"serve RTMPS with --tls or --cert and --key, or pass --insecure", s.rtmpListen)
	}
	if !isLoopback(s.listen) && !s.servesTLS() && !s.insecure {
		where := s.listen
		if where == "" {
			where = "(all interfaces)"
		}
		return s, usagef("--listen %s reaches beyond this machine: serve TLS with --tls (a self-signed certificate) "+
			"or --cert and --key, or pass --insecure to serve plain HTTP anyway", where)
	}
	return s, nil
}

func (s runSettings) servesTLS() bool { return s.tls || s.cert != "" }

// isLoopback reports whether a --listen address only takes connections from this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runPaths are where a farm keeps its things, absolute.
type runPaths struct {
	start, data, key, worker, out string
	inputRoots, outputRoots       []string
}

// runData creates the data folder and works out the roots jobs may use.
func runData(s runSettings) (runPaths, error) {
	var p runPaths
	var err error
	if p.start, err = os.Getwd(); err != nil {
		return p, err
	}
	if p.data, err = filepath.Abs(s.dataDir); err != nil {
		return p, usagef("--data-dir %q: %v", s.dataDir, err)
	}
	p.key, p.worker, p.out = filepath.Join(p.data, apiKeyFile), filepath.Join(p.data, runWorkerDir), filepath.Join(p.data, runOutDir)
	for _, d := range []string{p.data, p.out, p.worker} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return p, fmt.Errorf("create the data folder: %w", err)
		}
	}
	p.inputRoots, p.outputRoots = s.inputRoots, s.outputRoots
	if len(p.inputRoots) == 0 {
		p.inputRoots = []string{p.start}
	}
	if len(p.outputRoots) == 0 {
		p.outputRoots = []string{p.out}
	}
	return p, nil
}

// runFarm runs the master and the worker until ctx ends, then drains the worker and stops
// the master.
func runFarm(ctx context.Context, s runSettings, stderr io.Writer) error {
	p, err := runData(s)
	if err != nil {
		return err
	}
	userKey, fresh, err := ensureAPIKey(p.key)
	if err != nil {
		return err
	}
	// The worker's own key lives only in this process: it can do no more than a worker.
	workerKey, err := newAPIKey()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: s.logLevel}))
	m, err := startMaster(ctx, s, p.data, userKey, workerKey, log)
	if err != nil {
		return err
	}
	apiURL := m.URL()
	if err := os.WriteFile(filepath.Join(p.data, masterURLFile), []byte(apiURL+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", masterURLFile, err)
	}
	// The master outlives ctx: it must answer the draining worker.
	masterCtx, stopMaster := context.WithCancel(context.Background())
	defer stopMaster()
	masterDone := make(chan error, 1)
	go func() { masterDone <- m.Run(masterCtx) }()

	caFile := ""
	if s.servesTLS() {
		caFile = s.cert
		if caFile == "" {
			caFile = filepath.Join(p.data, tlsconf.SelfSignedCertFile)
		}
	}
	workerClient, err := runLocalClient(apiURL, workerKey, caFile)
	if err != nil {
		stopMaster()
		<-masterDone
		return err
	}
	hlsLn, hlsBase, err := runHLSListener(s)
	if err != nil {
		stopMaster()
		<-masterDone
		return err
	}
	workerCtx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	workerDone := make(chan error, 1)
	go func() {
		workerDone <- workercmd.Run(workerCtx, workercmd.Config{
			Master: workerClient, Slots: s.slots, DataDir: p.worker,
			InputRoots: p.inputRoots, OutputRoots: p.outputRoots,
			DrainTimeout: s.drainTimeout, MetricsAddr: s.workerMetricsAddr,
			SoftwareOnly: !s.gpu, Logger: log,
			HLSListener: hlsLn, HLSAdvertise: hlsBase,
		})
	}()

	runBanner{s: s, p: p, url: apiURL, key: userKey, fresh: fresh, caFile: caFile, ingest: runIngestURL(s, m.RTMPAddr()), hls: hlsBase}.write(stderr)
	if s.demo {
		if userClient, err := runLocalClient(apiURL, userKey, caFile); err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
		} else {
			go runDemo(workerCtx, userClient, p.outputRoots[0], p.start, stderr)
		}
	}

	var workerErr, masterErr error
	select {
	case <-ctx.Done():
		fmt.Fprintf(stderr, "\nstopping: the worker drains (running jobs get %v; Ctrl-C again to stop at once)\n", s.drainTimeout)
		drained := make(chan struct{})
		defer close(drained)
		forceStopOnSecondSignal(stderr, "second interrupt: stopping now; the master requeues unfinished jobs when the farm runs again", drained)
		workerErr = <-workerDone
		stopMaster()
		masterErr = <-masterDone
	case workerErr = <-workerDone:
		if workerErr == nil {
			workerErr = errors.New("the worker stopped unexpectedly")
		}
		stopMaster()
		masterErr = <-masterDone
	case masterErr = <-masterDone:
		if masterErr == nil {
			masterErr = errors.New("the master stopped unexpectedly")
		}
		stopWorker()
		workerErr = <-workerDone
	}
	if err := errors.Join(workerErr, masterErr); err != nil {
		return err
	}
	again := "ffrtmp run"
	if p.data != filepath.Join(p.start, dataDirName) {
		again += " --data-dir " + shellQuote(s.dataDir)
	}
	fmt.Fprintf(stderr, "stopped; jobs and key stay in %s for the next `%s` here\n", displayPath(p.start, p.data), again)
	return nil
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
	mv := viper.New()
	if err := mv.BindPFlags(mfs); err != nil {
		return nil, err
	}
	for k, val := range map[string]any{
		"listen": s.listen, "port": s.port, "metrics-addr": s.metricsAddr, "db": filepath.Join(dataAbs, runDBFile),
		"api-key": userKey, "tls": s.tls, "cert": s.cert, "key": s.key, "log-level": s.logLevelName,
		"rtmp-port": s.rtmpPort, "rtmp-listen": s.rtmpListen, "live-grace": s.liveGrace, "ingest-url": s.ingestURL,
		"rtmp-host":          s.rtmpHost,
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

// selfSignedHosts are the names a self-signed certificate of a master listening on listen
// covers: the local ones, the host name and the listen address (every interface's for all).
func selfSignedHosts(listen string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	ip := net.ParseIP(listen)
	if ip != nil && !ip.IsUnspecified() {
		return append(hosts, ip.String())
	}
	if ip == nil && listen != "" {
		return append(hosts, listen)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
			hosts = append(hosts, n.IP.String())
		}
	}
	return hosts
}

// runLocalClient is a client of this process's own master. With TLS it trusts caFile, the
// certificate the master serves; when that does not name the URL's host (a certificate for
// the public name, reached here through 127.0.0.1) it checks the certificate's first name.
func runLocalClient(rawURL, key, caFile string) (*api.Client, error) {
	opts := []api.Option{api.WithUserAgent("ffrtmp-run/" + version.Version)}
	if caFile != "" {
		tc, err := tlsconf.Client(caFile, "", "")
		if err != nil {
			return nil, err
		}
		host := ""
		if u, err := url.Parse(rawURL); err == nil {
			host = u.Hostname()
		}
		if leaf := firstCert(caFile); leaf != nil && leaf.VerifyHostname(host) != nil && len(leaf.DNSNames) > 0 {
			tc.ServerName = leaf.DNSNames[0]
		}
		opts = append(opts, api.WithTLSConfig(tc))
	}
	return api.NewClient(rawURL, key, opts...)
}

// firstCert is the first certificate of a PEM file, or nil.
func firstCert(path string) *x509.Certificate {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil
	}
	return c
}

// newAPIKey makes a key in the format of `ffrtmp master gen-key`.
func newAPIKey() (string, error) { return auth.Mint(auth.KeyPrefix) }

// ensureAPIKey returns the key kept at path, or makes one and keeps it there (mode 0600);
// fresh says it was made now.
func ensureAPIKey(path string) (key string, fresh bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key = strings.TrimSpace(string(b))
		if key == "" {
			return "", false, fmt.Errorf("%s is empty: delete it and ffrtmp run makes a new key", path)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			// Others could read the admin key: make it private again.
			if err := os.Chmod(path, 0o600); err != nil {
				return "", false, fmt.Errorf("make %s private (chmod 600): %w", path, err)
			}
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read the API key: %w", err)
	}
	if key, err = newAPIKey(); err != nil {
		return "", false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("keep the API key: %w", err)
	}
	if _, err = f.WriteString(key + "\n"); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("keep the API key: %w", err)
	}
	return key, true, nil
}

// runBanner is what `ffrtmp run` says at start: where the farm is, how to reach it and what
// to try first.
type runBanner struct {
	s                runSettings
	p                runPaths
	url, key, caFile string
	ingest           string // where publishers push to (the stream key follows); empty: no ingest
	hls              string // the worker's HLS base URL (the stream name follows); empty: none
	fresh            bool   // the key was made now: show it, this once
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
	return ln, "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + worker.HLSPrefix, nil
}

// runIngestURL is the RTMP ingest's URL for publishers on this machine (the stream key
// follows it): the standalone ingests' with --ingest-url, the --rtmp-host's with it; ""
// without an ingest.
func runIngestURL(s runSettings, addr net.Addr) string {
	if u, err := api.CheckRTMPBase(s.ingestURL); err == nil {
		return u + "/" + api.LiveApp + "/"
	}
	ta, ok := addr.(*net.TCPAddr)
	if !ok || ta == nil {
		return ""
	}
	host := "127.0.0.1"
	if ip := ta.IP; s.rtmpHost != "" {
		host = s.rtmpHost
	} else if ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		host = ip.String()
	}
	scheme := "rtmp"
	if s.servesTLS() {
		scheme = "rtmps"
	}
	return fmt.Sprintf("%s://%s/live/", scheme, net.JoinHostPort(host, strconv.Itoa(ta.Port)))
}

func (b runBanner) write(w io.Writer) {
	enc := "software encoders only (--gpu to use GPUs)"
	if b.s.gpu {
		enc = "GPUs and hardware encoders where they open"
	}
	slots := "1 job"
	if b.s.slots > 1 {
		slots = fmt.Sprintf("%d jobs", b.s.slots)
	}
	rel := func(path string) string { return displayPath(b.p.start, path) }
	fmt.Fprintf(w, "ffrtmp farm running: a master and a worker for %s at a time, %s\n", slots, enc)
	fmt.Fprintf(w, "  API      %s\n", b.url)
	if !isLoopback(b.s.listen) {
		fmt.Fprintf(w, "  network  %s from other machines\n", b.networkURL())
	}
	if b.fresh {
		fmt.Fprintf(w, "  API key  %s\n", b.key)
		fmt.Fprintf(w, "           (admin role; shown only now, kept in %s)\n", rel(b.p.key))
	} else {
		fmt.Fprintf(w, "  API key  in %s (admin role)\n", rel(b.p.key))
	}
	if b.caFile != "" {
		how := "clients pass it as --ca or FFRTMP_CA"
		if b.s.cert == "" {
			how = "the CLI in this folder trusts it; elsewhere --ca or FFRTMP_CA"
		}
		fmt.Fprintf(w, "  TLS      %s (%s)\n", rel(b.caFile), how)
	}
	fmt.Fprintf(w, "  inputs   %s\n", strings.Join(b.p.inputRoots, ", "))
	fmt.Fprintf(w, "  outputs  %s\n", strings.Join(b.p.outputRoots, ", "))
	if b.ingest != "" {
		fmt.Fprintf(w, "  RTMP     %s<stream key>\n", b.ingest)
	}
	if b.hls != "" {
		fmt.Fprintf(w, "  HLS      %s<stream name>/master.m3u8 (while live)\n", b.hls)
	}
	if b.s.metricsAddr != "" {
		fmt.Fprintf(w, "  metrics  http://%s/metrics\n", b.s.metricsAddr)
	}
	fmt.Fprintln(w)
	// The other commands find the farm through ./ffrtmp-data; elsewhere they need telling.
	if b.p.data != filepath.Join(b.p.start, dataDirName) {
		fmt.Fprintln(w, "Point the ffrtmp CLI at this farm:")
		fmt.Fprintf(w, "  export FFRTMP_MASTER=%s FFRTMP_API_KEY=$(cat %s)\n", b.url, shellQuote(b.p.key))
		if b.caFile != "" {
			fmt.Fprintf(w, "  export FFRTMP_CA=%s\n", shellQuote(b.caFile))
		}
		fmt.Fprintln(w, "then try:")
	} else {
		fmt.Fprintln(w, "Try, in this folder:")
	}
	fmt.Fprintf(w, "  ffrtmp jobs submit --scenario 720p30-h264 --output %s --wait\n", rel(filepath.Join(b.p.outputRoots[0], "first.mp4")))
	fmt.Fprintln(w, "  ffrtmp jobs list")
	fmt.Fprintln(w, "  ffrtmp nodes list")
	fmt.Fprintln(w)
	if b.ingest != "" {
		b.writeLive(w, rel)
	}
	fmt.Fprintf(w, "Ctrl-C to stop (running jobs get %v to finish).\n", b.s.drainTimeout)
}

// writeLive says how to go live: create a stream, publish to the ingest with its key.
func (b runBanner) writeLive(w io.Writer, rel func(string) string) {
	cacert := ""
	if b.caFile != "" {
		cacert = " --cacert " + shellQuote(rel(b.caFile))
	}
	fmt.Fprintln(w, "Go live: create a stream (the answer's stream_key is shown only then), publish to it, and")
	fmt.Fprintf(w, "its HLS ladder is written to %s:\n", rel(filepath.Join(b.p.outputRoots[0], "streams", "cam1")))
	fmt.Fprintf(w, "  curl%s -H \"Authorization: Bearer $(cat %s)\" -d '{\"name\":\"cam1\",\"preset\":\"abr-480p\"}' %s/v1/streams\n",
		cacert, shellQuote(rel(b.p.key)), b.url)
	fmt.Fprintf(w, "  ffmpeg -re -i input.mp4 -c:v libx264 -c:a aac -f flv '%s<stream key>'\n", b.ingest)
	if b.hls != "" {
		fmt.Fprintf(w, "  ffplay %scam1/master.m3u8   (the stream's hls_url)\n", b.hls)
	}
	fmt.Fprintln(w)
}

// networkURL is the API's URL as other machines reach it: the --listen address, or this
// machine's name when it listens on all interfaces.
func (b runBanner) networkURL() string {
	scheme, rest, _ := strings.Cut(b.url, "://")
	_, port, _ := net.SplitHostPort(rest)
	host := b.s.listen
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// displayPath shows p relative to dir when it lies inside it.
func displayPath(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
		return r
	}
	return p
}

func shellQuote(s string) string {
	if !strings.ContainsAny(s, " '\"$`\\!*?[]{}()&;|<>~#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// demoSpec is the demo job: a synthetic 1920x1080 30 fps 10 s source into a 1080p, 720p and
// 480p HLS ladder with libx264 veryfast, as `ffrtmp transcode --ladder 1080p,720p,480p --hls`
// builds it.
func demoSpec(target string) (spec.Spec, error) {
	s := spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 1920, Height: 1080, FPS: spec.Rate{Num: 30, Den: 1}, Duration: 10}},
		Hardware: spec.Hardware{Mode: spec.HardwareNone}}
	base := spec.Output{Target: target, Container: "hls", Video: &spec.Video{Codec: "libx264", Preset: "veryfast"}, Audio: &spec.Audio{Codec: "aac"}}
	var err error
	s.Outputs, err = spec.LadderOutputs(demoLadder, base)
	return s, err
}

// runDemo submits the demo job and prints its progress as lines until it ends.
func runDemo(ctx context.Context, c *api.Client, outRoot, start string, w io.Writer) {
	dir := filepath.Join(outRoot, "demo")
	s, err := demoSpec(dir)
	if err != nil {
		fmt.Fprintf(w, "demo: %v\n", err)
		return
	}
	job, err := c.SubmitJob(ctx, api.JobRequest{Spec: &s, Labels: map[string]string{"demo": "true"}}, "")
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(w, "demo: submit: %v\n", err)
		}
		return
	}
	fmt.Fprintf(w, "demo: job %s: synthetic 1920x1080 30 fps, 10 s → HLS %s (libx264 veryfast)\n", job.ID, demoLadder)
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		j, err := c.GetJob(ctx, job.ID)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(w, "demo: %v\n", err)
			}
			return
		}
		switch j.Status {
		case api.StatusCompleted:
			took := ""
			if j.StartedAt != nil && j.FinishedAt != nil {
				took = fmt.Sprintf(" in %.1fs", j.FinishedAt.Sub(*j.StartedAt).Seconds())
			}
			fmt.Fprintf(w, "demo: done%s; master playlist: %s\n", took, displayPath(start, filepath.Join(dir, "master.m3u8")))
			return
		case api.StatusFailed, api.StatusCanceled:
			why := ""
			if j.Error != nil {
				why = ": " + j.Error.Message
			}
			fmt.Fprintf(w, "demo: %s%s (ffrtmp jobs get %s)\n", j.Status, why, j.ID)
			return
		}
		line := demoProgressLine(j)
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
	}
}

func demoProgressLine(j *api.Job) string {
	p := j.Progress
	if p == nil || j.Status != api.StatusRunning {
		return fmt.Sprintf("demo: %s", j.Status)
	}
	eta := "?"
	if p.ETA != nil {
		eta = fmt.Sprintf("%.0fs", *p.ETA)
	}
	return fmt.Sprintf("demo: %5.1f%%  %6.1f fps  %5.2fx  ETA %s", p.Percent, p.FPS, p.Speed, eta)
}
