package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/cmd/internal/logs"
	"github.com/ffrtmp/ffrtmp/internal/sdnotify"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/rtmp/standalone"
)

// The standalone RTMP ingest's settings: its own flags as FFRTMP_INGEST_<FLAG> and under
// "ingest:" in the config file; the master and key like every client command's.
const (
	ingestEnvPrefix  = envPrefix + "_INGEST"
	ingestConfigPart = "ingest"
	// ingestStatsMax keeps the counters well inside the master's 30 s: a stream whose ingest
	// reports nothing for that long is taken as left.
	ingestStatsMax = 10 * time.Second
)

func newIngestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Run the RTMP ingest on its own, in front of a master",
		Long: `ingest runs the live streams' RTMP ingest on this machine, for a master elsewhere: publishers
push to rtmp://<this host>:1935/live/<stream key>, the master decides who may publish (and
which workers may play) over its API, and the live jobs it starts play each stream from this
ingest's --relay-url. The master's own ingest can then be off (--rtmp-port -1); its
--ingest-url rtmp://<public address>:1935 gives streams an ingest_url that points here.

The API key needs the ingest role (` + "`ffrtmp master gen-key --role ingest`" + `; an admin key works too).
--master and --api-key are found like every client command's: flags, FFRTMP_MASTER and
FFRTMP_API_KEY, the config file, or the ffrtmp-data/ folder of ` + "`ffrtmp run`" + ` here. Give every
master of a cluster, comma-separated, and the ingest moves to the next when one is down.

A master that does not answer within a few seconds refuses the publisher (logged), rather than
holding it. What happens to streams (published, unpublished, their counters every
--stats-interval) is queued and delivered to the master in order, retried while it is away.
--grace must match the master's --live-grace: a publisher who comes back within it continues
its stream and job. SIGTERM or Ctrl-C closes every connection and gives the master a few
seconds to hear that the streams ended.

The ingest's own flags can also be set as ` + ingestEnvPrefix + `_<FLAG> or under "` + ingestConfigPart + `:" in the
config file.`,
		Example: `  ffrtmp ingest --master https://master:8080 --api-key K
  ffrtmp ingest --master https://master:8080 --ca master-ca.pem --listen :1935 --relay-url rtmp://edge-1.internal:1935
  ffrtmp ingest --master https://m1:8080,https://m2:8080,https://m3:8080 --ca master-ca.pem
  ffrtmp ingest --tls --tls-cert live.pem --tls-key live-key.pem --metrics-addr :9092`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := ingestSettingsFrom(cmd)
			if err != nil {
				return err
			}
			log, err := logs.New(s.logLevel, s.logFormat, cmd.ErrOrStderr())
			if err != nil {
				return usagef("%v", err)
			}
			c, err := connect(cmd, api.WithLogger(log))
			if err != nil {
				return err
			}
			return runIngest(cmd.Context(), s, c, log, cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.String("listen", ":1935", "RTMP listen address")
	fs.String("relay-url", "", "where workers play live streams from this ingest, rtmp(s)://host:port (default: the --listen host, or this machine's name, and port)")
	fs.Bool("tls", false, "serve RTMPS; without --tls-cert/--tls-key with a self-signed certificate made at start")
	fs.String("tls-cert", "", "RTMPS certificate (PEM); re-read when it changes")
	fs.String("tls-key", "", "private key (PEM) of --tls-cert")
	fs.Duration("grace", 10*time.Second, "how long a stream whose publisher left keeps its live job's player; must match the master's --live-grace")
	fs.Duration("stats-interval", 5*time.Second, "how often every live stream's counters go to the master (at most "+ingestStatsMax.String()+")")
	fs.Int("max-conns", 256, "RTMP connections open at once")
	fs.String("metrics-addr", "", "Prometheus /metrics address for ffrtmp_rtmp_* and ffrtmp_ingest_*, e.g. :9092 (empty: off)")
	logs.Flags(fs)
	addClientFlags(cmd)
	return cmd
}

// ingestSettings is what `ffrtmp ingest` was asked for.
type ingestSettings struct {
	listen, relay     string
	tls               bool
	tlsCert, tlsKey   string
	grace, statsEvery time.Duration
	maxConns          int
	metricsAddr       string
	logLevel          string
	logFormat         string
}

func ingestSettingsFrom(cmd *cobra.Command) (ingestSettings, error) {
	v, err := sectionViper(cmd, ingestEnvPrefix, ingestConfigPart)
	if err != nil {
		return ingestSettings{}, err
	}
	s := ingestSettings{listen: v.GetString("listen"), relay: v.GetString("relay-url"), tls: v.GetBool("tls"),
		tlsCert: v.GetString("tls-cert"), tlsKey: v.GetString("tls-key"), grace: v.GetDuration("grace"),
		statsEvery: v.GetDuration("stats-interval"), maxConns: v.GetInt("max-conns"), metricsAddr: v.GetString("metrics-addr")}
	switch {
	case s.grace <= 0:
		return s, usagef("--grace %v: want a positive duration such as 10s, the master's --live-grace", s.grace)
	case s.statsEvery <= 0 || s.statsEvery > ingestStatsMax:
		return s, usagef("--stats-interval %v: want up to %v (the master takes a stream it hears nothing of for 30 s as left)", s.statsEvery, ingestStatsMax)
	case s.maxConns < 1:
		return s, usagef("--max-conns %d: want at least 1", s.maxConns)
	case s.tlsCert != "" && s.tlsKey == "":
		return s, usagef("--tls-cert %s given without --tls-key: give the certificate's private key too", s.tlsCert)
	case s.tlsKey != "" && s.tlsCert == "":
		return s, usagef("--tls-key %s given without --tls-cert: give the certificate too", s.tlsKey)
	}
	if _, _, err := net.SplitHostPort(s.listen); err != nil {
		return s, usagef("--listen %q: want host:port or :port (%v)", s.listen, err)
	}
	if s.relay != "" {
		if s.relay, err = api.CheckRTMPBase(s.relay); err != nil {
			return s, usagef("--relay-url: %v", err)
		}
	}
	s.logLevel, s.logFormat = v.GetString("log-level"), v.GetString("log-format")
	if _, err := logs.New(s.logLevel, s.logFormat, io.Discard); err != nil {
		return s, usagef("%v", err)
	}
	return s, nil
}

// runIngest serves the ingest until ctx ends.
func runIngest(ctx context.Context, s ingestSettings, c *conn, log *slog.Logger, stderr io.Writer) error {
	if err := checkIngestKey(ctx, c, log); err != nil {
		return err
	}
	var tc *tls.Config
	if s.tls || s.tlsCert != "" {
		var err error
		if tc, err = tlsconf.Server(tlsconf.Options{Enabled: true, CertFile: s.tlsCert, KeyFile: s.tlsKey}, log); err != nil {
			return fmt.Errorf("RTMPS (--tls-cert %s, --tls-key %s): %w", s.tlsCert, s.tlsKey, err)
		}
	}
	reg := prometheus.NewRegistry()
	in, err := standalone.New(standalone.Config{Master: c.Client, Listen: s.listen, TLS: tc, RelayURL: s.relay,
		Grace: s.grace, StatsInterval: s.statsEvery, MaxConns: s.maxConns, Registerer: reg, Logger: log})
	if err != nil {
		return err
	}
	metricsURL, stopMetrics, err := serveIngestMetrics(s.metricsAddr, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	ingestBanner{s: s, c: c, in: in, metrics: metricsURL}.write(stderr)
	// READY=1 once the RTMP listener serves (whether the master answers or not: publishers
	// are refused until it does, and the status says so).
	svc := sdnotify.Service{Ready: in.Serving(), Health: in.Health, Status: in.Status, Logger: log}
	err = svc.Run(ctx, in.Run)
	fmt.Fprintln(stderr, "ingest stopped")
	return err
}

// checkIngestKey asks the master whether it takes the key, so a wrong key stops the ingest
// at once; a master that does not answer yet is only a warning (publishes are refused until
// it does).
func checkIngestKey(ctx context.Context, c *conn, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := c.Client.Ready(ctx)
	var ae *api.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden):
		return authError{fmt.Errorf("the master at %s refuses the API key from %s: give a key with the ingest role (ffrtmp master gen-key --role ingest): %w",
			c.Master, c.KeyFrom, err)}
	default:
		log.Warn("the master does not answer now: publishers are refused until it does", "master", c.Master, "err", err)
		return nil
	}
}

// serveIngestMetrics serves reg on addr's /metrics; "" serves nothing.
func serveIngestMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (url string, stop func(), err error) {
	if addr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/metrics", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// ingestBanner is what `ffrtmp ingest` says at start: where to publish, what the master is told.
type ingestBanner struct {
	s       ingestSettings
	c       *conn
	in      *standalone.Ingest
	metrics string
}

func (b ingestBanner) write(w io.Writer) {
	relay := b.in.Relay()
	proto := "RTMP"
	if b.s.tls || b.s.tlsCert != "" {
		proto = "RTMPS"
	}
	fmt.Fprintf(w, "ffrtmp ingest running: %s on %s for the master at %s\n", proto, b.in.Addr(), b.c.Master)
	fmt.Fprintf(w, "  publish  %s/%s/<stream key>\n", relay, api.LiveApp)
	fmt.Fprintf(w, "  relay    %s (workers play live streams from here: they must reach it)\n", relay)
	key := "API key from " + b.c.KeyFrom
	if b.c.KeyFrom == "" {
		key = "API key given"
	}
	fmt.Fprintf(w, "  master   %s (%s; it needs the ingest or admin role)\n", b.c.Master, key)
	fmt.Fprintf(w, "  grace    %v (the master's --live-grace must be the same)\n", b.s.grace)
	if b.metrics != "" {
		fmt.Fprintf(w, "  metrics  %s\n", b.metrics)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Tell the master where publishers find this ingest, so streams' ingest_url points here:")
	fmt.Fprintf(w, "  ffrtmp master ... --ingest-url %s   (its public address; --rtmp-port -1 turns the master's own off)\n", relay)
	fmt.Fprintln(w, "Ctrl-C to stop.")
}
