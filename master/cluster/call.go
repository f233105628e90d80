package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// A call is an API request a member relays to the leader over the cluster port, where the
// cluster's mutual TLS authenticates it: the RTMP ingest inside a follower asks the leader
// who may publish and play and tells it of its streams this way, with no API key of its own.

// protoCall starts a call: one JSON Call, answered with one JSON Reply.
const protoCall byte = 'C'

// maxCall bounds a call's and a reply's JSON.
const maxCall = 2 << 20

// Call is a request relayed to the leader.
type Call struct {
	// Member is the ID of the member that relays it.
	Member string `json:"member"`
	Method string `json:"method"`
	// Path is the request's path and query.
	Path string `json:"path"`
	Body []byte `json:"body,omitempty"`
}

// Reply is the leader's answer to a Call: an HTTP status and body.
type Reply struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Body        []byte `json:"body,omitempty"`
}

// CallHandler answers calls on the leader.
type CallHandler func(ctx context.Context, c Call) Reply

// HandleCalls sets what answers the calls other members relay to this one.
func (n *Node) HandleCalls(h CallHandler) { n.layer.calls.Store(&h) }

// CallLeader relays c to the leader and returns its reply. It fails (and c was not carried
// out) when there is no leader or it cannot be reached; once the call is sent, an error
// means its outcome is unknown.
func (n *Node) CallLeader(ctx context.Context, c Call) (Reply, error) {
	id, addr := n.Leader()
	if id == "" {
		return Reply{}, ErrNoLeader
	}
	c.Member = n.cfg.NodeID
	conn, err := n.layer.dial(ctx, addr, protoCall)
	if err != nil {
		return Reply{}, fmt.Errorf("reach the leader %s at %s: %w", id, addr, err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if err := json.NewEncoder(conn).Encode(c); err != nil {
		return Reply{}, fmt.Errorf("call the leader %s: %w", id, err)
	}
	var r Reply
	if err := json.NewDecoder(io.LimitReader(conn, maxCall)).Decode(&r); err != nil {
		return Reply{}, fmt.Errorf("call the leader %s: %w", id, err)
	}
	return r, nil
}

// serveCall answers one call on an accepted connection.
func (s *streamLayer) serveCall(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var call Call
	if err := json.NewDecoder(io.LimitReader(c, maxCall)).Decode(&call); err != nil {
		return
	}
	h := s.calls.Load()
	reply := Reply{Status: 503, ContentType: "application/json",
		Body: []byte(`{"error":{"code":"unavailable","message":"this master takes no calls yet"}}`)}
	if h != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		reply = (*h)(ctx, call)
		cancel()
	}
	if err := json.NewEncoder(c).Encode(reply); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("answer a member's call", "member", call.Member, "err", err)
	}
}
