package master

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/live"
	"github.com/ffrtmp/ffrtmp/rtmp"
)

// liveApp is the RTMP application publishers and players use: rtmp://host/live/<key or ID>.
const liveApp = api.LiveApp

// ingest answers the RTMP server's questions and news with the farm's streams.
type ingest struct{ streams *live.Streams }

var (
	_ rtmp.Authorizer = ingest{}
	_ rtmp.Observer   = ingest{}
)

func (in ingest) AuthorizePublish(ctx context.Context, app, key string) (string, string, error) {
	if app != liveApp {
		return "", "", fmt.Errorf("unknown application %q: publish to rtmp://host/%s/<stream key>", app, liveApp)
	}
	id, err := in.streams.AuthorizePublish(ctx, key)
	return id, "", err // in-process: its news needs no session to be believed
}

func (in ingest) AuthorizePlay(ctx context.Context, app, name, token string) error {
	if app != liveApp {
		return fmt.Errorf("unknown application %q", app)
	}
	return in.streams.AuthorizePlay(ctx, name, token)
}

func (in ingest) Published(id string, info rtmp.StreamInfo) {
	si := api.StreamInput{VideoCodec: info.VideoCodec, Width: info.Width, Height: info.Height,
		FPS: info.FPS, AudioCodec: info.AudioCodec, SampleRate: info.SampleRate, Channels: info.Channels, Remote: info.Remote}
	if info.Continued {
		in.streams.Continued(id, si)
		return
	}
	in.streams.Published(id, si)
}

func (in ingest) Unpublished(id string, stats rtmp.StreamStats) {
	in.streams.Unpublished(id, stats.Bytes)
}

// listenIngest binds the RTMP ingest's port when one is configured.
func (m *Master) listenIngest() error {
	if m.cfg.RTMPListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.cfg.RTMPListen)
	if err != nil {
		return fmt.Errorf("RTMP ingest: listen on %s: %w", m.cfg.RTMPListen, err)
	}
	m.rln = ln
	return nil
}

// liveConfig is the live streams' setup: where publishers push to (the ingest on this
// master, when it runs one, or standalone ingests) and what workers play from.
func (m *Master) liveConfig() live.Config {
	cfg := m.cfg
	sc := live.Config{Grace: cfg.LiveGrace, Stale: cfg.Farm.LiveStale, IngestHost: m.ingestHost(), RelayHost: cfg.RTMPRelayHost,
		IngestURL: cfg.IngestURL, Tenants: m.keys.Tenant, Logger: m.log}
	if m.rln != nil {
		sc.IngestPort = m.rln.Addr().(*net.TCPAddr).Port
		sc.IngestTLS = m.tls != nil
		if h, _, err := net.SplitHostPort(cfg.RTMPListen); err == nil && h != "" {
			if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
				sc.RelayHost = h // workers play from where the ingest listens
			}
		}
		sc.Stats = func(id string) (live.IngestStats, bool) {
			if m.rtmp == nil {
				return live.IngestStats{}, false
			}
			_, st, ok := m.rtmp.Live(id)
			return live.IngestStats{Bytes: st.Bytes, BitrateBPS: st.BitrateBPS}, ok
		}
	} else if m.ingest != nil {
		// A cluster member's ingest: publishers are told this member's ingest (or
		// --rtmp-host, the name that reaches every member's); its news comes as a standalone
		// ingest's.
		sc.IngestPort = m.ingest.Addr().(*net.TCPAddr).Port
		sc.IngestTLS = m.tls != nil
	}
	return sc
}

// startRTMP builds the RTMP server over the streams, when the ingest's port is bound.
func (m *Master) startRTMP(streams *live.Streams) (err error) {
	if m.rln == nil {
		return nil
	}
	// The ingest holds a live job's input for the streams' grace (the job's input timeout is
	// longer), so a publisher who comes back within it continues the job.
	m.rtmp, err = rtmp.NewServer(rtmp.Config{Listen: m.cfg.RTMPListen, TLS: ingestTLS(m.tls), Auth: ingest{streams},
		Observer: ingest{streams}, Logger: m.log.With("component", "rtmp"), Registerer: m.metrics.Registry(),
		Grace: streams.Grace()})
	if err != nil {
		return fmt.Errorf("RTMP ingest: %w", err)
	}
	return nil
}

// ingestHost is the host publishers are told to push to: --rtmp-host, else the host the
// ingest listens on, else (it listens on every interface) this machine's name. Never a
// request's Host header: any client sets that, and the answer (a stream's ingest_url) is
// shown to other users and tools.
func (m *Master) ingestHost() string {
	if m.cfg.RTMPHost != "" {
		return m.cfg.RTMPHost
	}
	if h, _, err := net.SplitHostPort(m.cfg.RTMPListen); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			return h
		}
	}
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "localhost"
	}
	if m.cfg.RTMPListen != "" && m.cfg.IngestURL == "" {
		m.log.Info("streams' ingest_url names this machine; set --rtmp-host to the name publishers reach it by", "rtmp_host", name)
	}
	return name
}

// serveIngest runs the RTMP server until ctx ends (it closes every connection on return).
// An ingest that fails is logged, not returned: it must not stop the farm's other work.
func (m *Master) serveIngest(ctx context.Context) error {
	if m.rtmp == nil {
		return nil
	}
	if err := m.rtmp.Serve(ctx, m.rln); err != nil && ctx.Err() == nil {
		m.log.Error("RTMP ingest stopped: nobody can publish until the master restarts", "err", err)
	}
	return nil
}

// ingestTLS is the API's TLS for RTMPS, without asking for client certificates: publishers
// (OBS, ffmpeg) have none, and stream keys and play tokens authenticate them.
func ingestTLS(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	c.ClientAuth, c.ClientCAs, c.NextProtos = tls.NoClientCert, nil, nil
	return c
}

// RTMPAddr is the RTMP ingest's listen address, or nil when the master runs none.
func (m *Master) RTMPAddr() net.Addr {
	switch {
	case m.rln != nil:
		return m.rln.Addr()
	case m.ingest != nil:
		return m.ingest.Addr()
	}
	return nil
}

// Streams is the master's live streams (for the all-in-one and tests); nil on a cluster
// member that is not the leader.
func (m *Master) Streams() *live.Streams {
	if t := m.term.Load(); t != nil {
		return t.streams
	}
	return nil
}
