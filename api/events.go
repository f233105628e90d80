package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Server-sent events (GET /v1/events): the master's feed of job, node and stream changes.
//
// Each event has an increasing decimal ID, a type (ServerEventJob, ServerEventNode,
// ServerEventStream, ServerEventReset) and one line of JSON: a job as GET /v1/jobs/{id}
// shows it (with its live progress), a node as GET /v1/nodes/{id}, a stream as
// GET /v1/streams/{id} (never its key); a removed node or deleted stream as DeletedObject; a
// reset as EventReset. A caller sees only its tenant's jobs and streams (admin keys: all).
// Resume after a disconnect with the last ID read (Last-Event-ID): what was missed comes
// first, or a reset when the master no longer holds it all (reload, then go on).

// The event types of GET /v1/events.
const (
	ServerEventJob    = "job"
	ServerEventNode   = "node"
	ServerEventStream = "stream"
	// ServerEventReset says events were missed (the ID resumed from is too old, of another
	// master or of before a restart, or the reader fell behind): reload what you show.
	ServerEventReset = "reset"
)

// ServerEventTypes are the types a subscription may ask for (EventsOptions.Types).
var ServerEventTypes = []string{ServerEventJob, ServerEventNode, ServerEventStream}

// DeletedObject is the data of a node or stream event that says the object is gone.
type DeletedObject struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// EventReset is the data of a reset event.
type EventReset struct {
	Reason string `json:"reason"`
}

// ServerEvent is one event of GET /v1/events. Exactly one of Job, Node, Stream, Deleted and
// Reset is set, by Type.
type ServerEvent struct {
	// ID is the event's ID: pass it as EventsOptions.LastEventID to resume after it.
	ID   string
	Type string
	// Data is the event's JSON as it came.
	Data    json.RawMessage
	Job     *Job
	Node    *Node
	Stream  *Stream
	Deleted *DeletedObject // a node removed or a stream deleted
	Reset   *EventReset
}

// EventsOptions choose what Events reads.
type EventsOptions struct {
	// Types keeps these event types (ServerEventTypes); empty: all. Resets always come.
	Types []string
	// LastEventID resumes after this event ID (ServerEvent.ID); empty: new events only.
	LastEventID string
}

// EventStream is an open GET /v1/events. Next reads it; Close ends it. It does not
// reconnect: to go on after an error, call Events again with LastEventID set to LastID.
type EventStream struct {
	sc     *bufio.Scanner
	lastID string
	done   chan struct{}
	once   sync.Once
	cancel context.CancelFunc
	body   io.Closer
}

// maxEventBytes bounds one line of an event (a job with a large spec and result).
const maxEventBytes = 8 << 20

// Events opens the master's event stream. The Client's timeout bounds silence (the master
// sends a comment every 15 s), ctx the whole stream. A master without the route answers an
// *Error with status 404.
func (c *Client) Events(ctx context.Context, opts EventsOptions) (*EventStream, error) {
	q := url.Values{}
	if len(opts.Types) > 0 {
		q.Set("types", strings.Join(opts.Types, ","))
	}
	r := request{method: http.MethodGet, path: "/v1/events", query: q, stream: true, accept: "text/event-stream"}
	if opts.LastEventID != "" {
		r.header = http.Header{"Last-Event-ID": {opts.LastEventID}}
	}
	ctx, cancel := context.WithCancel(ctx)
	es := &EventStream{lastID: opts.LastEventID, done: make(chan struct{}), cancel: cancel}
	ready := make(chan error, 1)
	go func() {
		handed := false
		err := c.send(ctx, r, func(x *exchange) error {
			if !success(x.resp.StatusCode) {
				return errorFromResponse(x.resp)
			}
			if ct := x.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				return fmt.Errorf("GET %s: answer is %q, want text/event-stream", x.url, ct)
			}
			body := &idleReader{r: x.resp.Body, timer: x.timer, timeout: x.timeout}
			es.sc = bufio.NewScanner(body)
			es.sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
			es.body = x.resp.Body
			handed = true
			ready <- nil
			<-es.done
			return nil
		})
		if !handed {
			ready <- err
		}
	}()
	if err := <-ready; err != nil {
		cancel()
		return nil, err
	}
	return es, nil
}

// Next returns the next event. It returns io.EOF when the master ended the stream (it
// stopped serving, or another master leads now: resume from LastID), the context's error
// when it ended.
func (s *EventStream) Next() (ServerEvent, error) {
	var ev ServerEvent
	var data []byte
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if len(line) == 0 {
			if data == nil {
				ev = ServerEvent{}
				continue
			}
			ev.Data = data
			if ev.Type == "" {
				ev.Type = "message"
			}
			if err := ev.decode(); err != nil {
				return ev, err
			}
			if ev.ID != "" {
				s.lastID = ev.ID
			}
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			ev.ID = string(value)
		case "event":
			ev.Type = string(value)
		case "data":
			if data == nil {
				data = append([]byte{}, value...) // the scanner reuses its buffer
			} else {
				data = append(append(data, '\n'), value...)
			}
		}
	}
	if err := s.sc.Err(); err != nil {
		return ServerEvent{}, fmt.Errorf("read events: %w", err)
	}
	return ServerEvent{}, io.EOF
}

// decode fills the typed field of e from its data.
func (e *ServerEvent) decode() error {
	var probe struct {
		Deleted bool `json:"deleted"`
	}
	var dst any
	switch e.Type {
	case ServerEventJob:
		e.Job = new(Job)
		dst = e.Job
	case ServerEventNode, ServerEventStream:
		if json.Unmarshal(e.Data, &probe) == nil && probe.Deleted {
			e.Deleted = new(DeletedObject)
			dst = e.Deleted
		} else if e.Type == ServerEventNode {
			e.Node = new(Node)
			dst = e.Node
		} else {
			e.Stream = new(Stream)
			dst = e.Stream
		}
	case ServerEventReset:
		e.Reset = new(EventReset)
		dst = e.Reset
	default:
		return nil // a type this client does not know: Data has it
	}
	if err := json.Unmarshal(e.Data, dst); err != nil {
		return fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
	}
	return nil
}

// LastID is the ID of the last event read (or the one the stream resumed from).
func (s *EventStream) LastID() string { return s.lastID }

// Close ends the stream.
func (s *EventStream) Close() error {
	s.once.Do(func() {
		s.cancel()
		_ = s.body.Close()
		close(s.done)
	})
	return nil
}
