package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/cluster"
	"github.com/ffrtmp/ffrtmp/rtmp/standalone"
)

// In a cluster, the RTMP ingest inside every member is a standalone ingest (the code of
// `ffrtmp ingest`) whose questions and news go to the leader's ingest routes: in-process on
// the leader, over the cluster port (mutual TLS, no API key) from a follower. So publishers
// may push to any member, a member's leadership changing does not touch its publishers, and
// after a failover the new leader resumes each stream on its ingest's next report, as after
// a restart.

// clusterIngestName is the ingest name (what an API key's name is to a standalone ingest)
// of the ingest inside member id: the leader applies a stream's news only from the ingest it
// came through.
func clusterIngestName(id string) string { return "cluster-ingest-" + id }

// startClusterIngest binds the member's RTMP ingest.
func (m *Master) startClusterIngest() error {
	client, err := api.NewClient("http://leader.cluster.invalid", "cluster-internal",
		api.WithHTTPClient(&http.Client{Transport: leaderTransport{m}}),
		api.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return fmt.Errorf("RTMP ingest: %w", err)
	}
	relay := ""
	if h := m.cfg.RTMPRelayHost; h != "" {
		_, port, err := net.SplitHostPort(m.cfg.RTMPListen)
		if err != nil || port == "0" {
			return fmt.Errorf("--rtmp-relay-host in a cluster needs a fixed --rtmp-port")
		}
		scheme := "rtmp"
		if m.tls != nil {
			scheme = "rtmps"
		}
		relay = scheme + "://" + net.JoinHostPort(h, port)
	}
	grace := m.cfg.LiveGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	m.ingest, err = standalone.New(standalone.Config{Master: client, Listen: m.cfg.RTMPListen, TLS: ingestTLS(m.tls),
		RelayURL: relay, Grace: grace, StatsInterval: min(5*time.Second, max(grace/4, 250*time.Millisecond)),
		Registerer: m.metrics.Registry(), Logger: m.log.With("component", "rtmp")})
	return err
}

// leaderTransport carries the ingest's API requests to the leader's API: in-process when
// this member leads, over the cluster port otherwise.
type leaderTransport struct{ m *Master }

func (lt leaderTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	call := cluster.Call{Member: lt.m.node.ID(), Method: req.Method, Path: req.URL.RequestURI(), Body: body}
	var reply cluster.Reply
	if lt.m.term.Load() != nil {
		reply = lt.m.serveCall(req.Context(), call)
	} else {
		var err error
		if reply, err = lt.m.node.CallLeader(req.Context(), call); err != nil {
			return nil, err
		}
	}
	h := http.Header{}
	if reply.ContentType != "" {
		h.Set("Content-Type", reply.ContentType)
	}
	return &http.Response{Status: strconv.Itoa(reply.Status) + " " + http.StatusText(reply.Status), StatusCode: reply.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: io.NopCloser(bytes.NewReader(reply.Body)),
		ContentLength: int64(len(reply.Body)), Request: req}, nil
}

// serveCall answers a call a member relays (or this member's own ingest makes) with the
// leader's API, as the member's ingest. Only the ingest routes are open to calls.
func (m *Master) serveCall(ctx context.Context, c cluster.Call) cluster.Reply {
	if !strings.HasPrefix(c.Path, "/v1/ingest/") || c.Method != http.MethodPost {
		return jsonReply(http.StatusForbidden, api.CodeForbidden, "a member's call may only reach the ingest routes")
	}
	if cluster.ValidID(c.Member) != nil {
		return jsonReply(http.StatusBadRequest, api.CodeBadRequest, "a call names no valid member")
	}
	t := m.term.Load()
	if t == nil {
		return jsonReply(http.StatusServiceUnavailable, api.CodeUnavailable, "this master does not lead the cluster (any more); retry")
	}
	p := auth.Principal{Name: clusterIngestName(c.Member), Role: auth.RoleIngest, Tenant: api.DefaultTenant}
	req, err := http.NewRequestWithContext(auth.WithTrusted(ctx, p), c.Method, c.Path, bytes.NewReader(c.Body))
	if err != nil {
		return jsonReply(http.StatusBadRequest, api.CodeBadRequest, "a call's request: "+err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "cluster/" + c.Member
	rec := &recorder{header: http.Header{}}
	t.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return cluster.Reply{Status: rec.status, ContentType: rec.header.Get("Content-Type"), Body: rec.body.Bytes()}
}

func jsonReply(status int, code, msg string) cluster.Reply {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(api.ErrorBody{Error: &api.Error{Code: code, Message: msg}})
	return cluster.Reply{Status: status, ContentType: "application/json", Body: b.Bytes()}
}

// recorder is the http.ResponseWriter of a call the API answers in-process.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
