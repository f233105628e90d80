package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The routes a standalone RTMP ingest (ffrtmp ingest, an API key with the ingest role) uses:
// it asks the master who may publish and play, and tells it what happens to streams.

// LiveApp is the RTMP application publishers and players use: rtmp://host/live/<key or ID>.
const LiveApp = "live"

// IngestPublishRequest is the body of POST /v1/ingest/publish: may a publisher of
// rtmp://<ingest>/<App>/<Key> go live?
type IngestPublishRequest struct {
	App string `json:"app"`
	Key string `json:"key"`
	// Relay is where workers play streams from the asking ingest: rtmp:// or rtmps://,
	// host:port, nothing else (see CheckRTMPBase).
	Relay string `json:"relay"`
}

// IngestPublishReply is the answer to an admitted publisher: the stream it publishes, by the
// ID the ingest relays it under.
type IngestPublishReply struct {
	StreamID string `json:"stream_id"`
	// Session names this publish: the ingest sends it with every event of the publisher's
	// connection, and the master applies only events of sessions it authorised for that
	// ingest (an ingest key cannot take over a stream it was not admitted to).
	Session string `json:"session"`
	// LiveGraceSeconds is the master's --live-grace: the ingest should hold a stream whose
	// publisher left as long (its own --grace).
	LiveGraceSeconds float64 `json:"live_grace_seconds,omitempty"`
}

// IngestPlayRequest is the body of POST /v1/ingest/play: may a player of
// rtmp://<ingest>/<App>/<StreamID>?token=<Token> (a worker's live job) play?
type IngestPlayRequest struct {
	App      string `json:"app"`
	StreamID string `json:"stream_id"`
	Token    string `json:"token"`
}

// IngestEventType is what happened to a stream on an ingest.
type IngestEventType string

// Ingest event types.
const (
	// IngestPublished: a publisher went live (Input and Relay set).
	IngestPublished IngestEventType = "published"
	// IngestContinued: a publisher came back within the ingest's grace with the same tracks;
	// the stream's players go on (Input and Relay set).
	IngestContinued IngestEventType = "continued"
	// IngestUnpublished: the publisher left or was cut off (Bytes: its total).
	IngestUnpublished IngestEventType = "unpublished"
	// IngestStats: the live stream's counters so far (Bytes, BitrateBPS), sent periodically.
	IngestStats IngestEventType = "stats"
)

// IngestEventTypes lists the event types in the order a stream sees them.
var IngestEventTypes = []IngestEventType{IngestPublished, IngestContinued, IngestStats, IngestUnpublished}

// IngestEvent is the body of POST /v1/ingest/events. An ingest sends a stream's events in
// the order they happened.
type IngestEvent struct {
	Type     IngestEventType `json:"type"`
	StreamID string          `json:"stream_id"`
	// Session is the publish's session from IngestPublishReply (at most 64 bytes). The
	// master applies a published or continued event only for a session it authorised for
	// the sending ingest and stream, and ignores one it has applied already (a retry whose
	// answer was lost); unpublished and stats events count only for the stream's current
	// session.
	Session string `json:"session,omitempty"`
	// Input is what the publisher sends (published, continued).
	Input *StreamInput `json:"input,omitempty"`
	// Relay is the sending ingest's relay (see IngestPublishRequest); required with
	// published and continued. On the other types it lets the master ignore news from an
	// ingest the stream has since left.
	Relay string `json:"relay,omitempty"`
	// Bytes is what the publisher sent so far, protocol included (stats, unpublished).
	Bytes int64 `json:"bytes,omitempty"`
	// BitrateBPS is the input's rate over the last second or so (stats).
	BitrateBPS float64 `json:"bitrate_bps,omitempty"`
}

// Error codes of the ingest routes. They never say which part of a secret was wrong.
const (
	CodePublishRefused = "publish_refused" // unknown application or stream key
	CodePlayRefused    = "play_refused"    // unknown application or stream, or a wrong token
	// CodeIngestSession refuses a published or continued event whose session the master did
	// not authorise for this ingest and stream (or one that expired: publish again).
	CodeIngestSession = "ingest_session_refused"
)

// CheckRTMPBase checks an RTMP server's base URL as the farm passes it around (an ingest's
// relay, the master's --ingest-url): rtmp:// or rtmps://, a host and a port, and nothing else
// (no credentials, path, query or fragment). It returns the URL in canonical form (scheme in
// lower case, no trailing slash).
func CheckRTMPBase(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("empty: want rtmp://host:port or rtmps://host:port")
	}
	if len(raw) > 512 {
		return "", errors.New("longer than 512 bytes")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%q contains spaces or control characters", raw)
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "rtmp" && scheme != "rtmps":
		return "", fmt.Errorf("%q: want rtmp://host:port or rtmps://host:port", raw)
	case u.User != nil:
		return "", fmt.Errorf("%q: want no user or password", u.Redacted())
	case u.Opaque != "" || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q: want rtmp(s)://host:port without a path, query or fragment (the stream's path follows it)", raw)
	case u.Hostname() == "":
		return "", fmt.Errorf("%q has no host", raw)
	case strings.Contains(u.Hostname(), ":") && net.ParseIP(u.Hostname()) == nil:
		// url.Parse takes "rtmp://10.0.:.9:1935" apart at the last colon; the "host" left
		// is neither a name nor an address, and no player URL built on it would parse.
		return "", fmt.Errorf("%q: host %q is not a host name or IP address", raw, u.Hostname())
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return "", fmt.Errorf("%q: want a port, e.g. %s://%s:1935", raw, scheme, u.Hostname())
	}
	return scheme + "://" + net.JoinHostPort(u.Hostname(), strconv.Itoa(port)), nil
}

// AuthorizePublish asks whether a publisher may go live (POST /v1/ingest/publish). A refusal
// is an *Error with CodePublishRefused (403).
func (c *Client) AuthorizePublish(ctx context.Context, req IngestPublishRequest) (*IngestPublishReply, error) {
	return doJSON[IngestPublishReply](ctx, c, request{method: http.MethodPost, path: "/v1/ingest/publish", body: req})
}

// AuthorizePlay asks whether a player may play a stream (POST /v1/ingest/play). A refusal is
// an *Error with CodePlayRefused (403).
func (c *Client) AuthorizePlay(ctx context.Context, req IngestPlayRequest) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/ingest/play", body: req}, nil)
	return err
}

// IngestEvent tells the master what happened to a stream (POST /v1/ingest/events). A stream
// the master does not know (deleted meanwhile) is an *Error with status 404.
func (c *Client) IngestEvent(ctx context.Context, ev IngestEvent) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/ingest/events", body: ev}, nil)
	return err
}
