package main

// The settings of `ffrtmp run`: its flags, FFRTMP_RUN_* and the config file's run: section,
// checked before anything starts.

import (
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/cmd/internal/config"
	"github.com/ffrtmp/ffrtmp/cmd/internal/workercmd"
	"github.com/ffrtmp/ffrtmp/master"
)

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
	keysFile                string // more API keys (hashed, with roles), beside the farm's own
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

// runSettingsFrom reads and checks the settings: flags, FFRTMP_RUN_* and the config file's
// run: section.
func runSettingsFrom(cmd *cobra.Command) (runSettings, error) {
	v, err := sectionViper(cmd, runEnvPrefix, runConfigPart)
	if err != nil {
		return runSettings{}, err
	}
	s := runSettings{
		dataDir: v.GetString("data-dir"), listen: v.GetString("listen"), port: v.GetInt("port"),
		rtmpPort: v.GetInt("rtmp-port"), rtmpListen: v.GetString("rtmp-listen"), liveGrace: v.GetDuration("live-grace"),
		ingestURL: v.GetString("ingest-url"), rtmpHost: v.GetString("rtmp-host"), webhookAllow: config.List(v, "webhook-allow-cidr"),
		tls: v.GetBool("tls"), insecure: v.GetBool("insecure"), cert: v.GetString("cert"), key: v.GetString("key"),
		slots: v.GetInt("slots"), gpu: v.GetBool("gpu"), demo: v.GetBool("demo"),
		inputRoots: config.List(v, "input-roots"), outputRoots: config.List(v, "output-roots"),
		drainTimeout:      v.GetDuration("drain-timeout"),
		metricsAddr:       master.DefaultHost(v.GetString("metrics-addr"), v.GetString("listen")),
		workerMetricsAddr: master.DefaultHost(v.GetString("worker-metrics-addr"), v.GetString("listen")),
		logLevelName:      v.GetString("log-level"), hlsPort: v.GetInt("hls-port"),
		keysFile: v.GetString("keys-file"),
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
