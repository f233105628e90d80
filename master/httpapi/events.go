package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/events"
)

// eventStreamDoc describes GET /v1/events' answer in the OpenAPI document.
const eventStreamDoc = "Server-sent events. Each: `id: <decimal, increasing>`, `event: job|node|stream|reset`, " +
	"`data: <one line of JSON>`: a job as GET /v1/jobs/{id} shows it, a node as GET /v1/nodes/{id}, a stream as " +
	"GET /v1/streams/{id}; a removed node or deleted stream as {\"id\":\"…\",\"deleted\":true}; a reset as " +
	"{\"reason\":\"…\"} (reload, then go on). Progress events come at most once per job per second. " +
	"A comment `: ping` every 15 s, with an `id:` line when filtered events moved the position."

// pingInterval is how often an idle event stream gets a comment, so proxies keep it open.
const pingInterval = 15 * time.Second

// eventBatch is the most events written between two flushes.
const eventBatch = 256

// events serves GET /v1/events: the hub's events the caller may see, as server-sent events,
// until the client leaves or the hub closes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	hub := s.opts.Events
	if hub == nil {
		writeError(w, &api.Error{Status: 503, Code: api.CodeUnavailable, Message: "the event stream is not available on this master"})
		return
	}
	q, e := query(r, "types", "last_event_id")
	if e != nil {
		writeError(w, e)
		return
	}
	types, e := eventTypes(q["types"])
	if e != nil {
		writeError(w, e)
		return
	}
	last, resume, e := lastEventID(r)
	if e != nil {
		writeError(w, e)
		return
	}
	c := who(r)
	sub, err := hub.Subscribe(c.Name, last, resume)
	var tooMany *events.TooManyError
	switch {
	case errors.As(err, &tooMany):
		w.Header().Set("Retry-After", "5")
		writeError(w, &api.Error{Status: http.StatusTooManyRequests, Code: api.CodeTooMany, Message: err.Error()})
		return
	case err != nil:
		writeError(w, &api.Error{Status: 503, Code: api.CodeUnavailable, Message: err.Error()})
		return
	}
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	out := eventWriter{w: w, rc: http.NewResponseController(w), timeout: s.opts.WriteTimeout}
	if err := out.flush(nil); err != nil {
		return
	}
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	var buf bytes.Buffer
	sent := last // the position the client knows
	for {
		evs, wait, err := sub.Read(eventBatch)
		if err != nil {
			return // the hub closed: the client reconnects (to the new leader)
		}
		buf.Reset()
		for _, ev := range evs {
			if !visible(ev, types, c.Sees) {
				continue
			}
			fmt.Fprintf(&buf, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Kind, ev.Data)
			sent = ev.ID
		}
		if buf.Len() > 0 {
			if err := out.flush(buf.Bytes()); err != nil {
				s.log.Debug("event stream ended", "key", c.Name, "err", err)
				return
			}
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-r.Context().Done():
			return
		case <-wait:
		case <-ping.C:
			msg := []byte(": ping\n\n")
			// Events this client does not see still move its position: say so, so that a
			// reconnect does not resume from an ID that left the buffer long ago.
			if cur := sub.Cursor(); cur != sent {
				msg = fmt.Appendf(nil, ": ping\nid: %d\n\n", cur)
				sent = cur
			}
			if err := out.flush(msg); err != nil {
				return
			}
		}
	}
}

// visible reports whether a subscriber that asked for types and sees the tenants sees gets
// ev. Resets go to everyone; nodes to every key that may subscribe (GET /v1/nodes lists them
// to all of them).
func visible(ev events.Event, types []string, sees func(string) bool) bool {
	if ev.Kind == events.KindReset {
		return true
	}
	if !slices.Contains(types, string(ev.Kind)) {
		return false
	}
	return ev.Tenant == "" || sees(ev.Tenant)
}

// eventTypes reads the types parameter: a comma list of event types, all when absent.
func eventTypes(vals []string) ([]string, *api.Error) {
	if len(vals) == 0 {
		return api.ServerEventTypes, nil
	}
	var out []string
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(api.ServerEventTypes, t) {
				return nil, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "types",
					Message: fmt.Sprintf("event type %q: want a comma list of %s", clipParam(t), strings.Join(api.ServerEventTypes, ", "))}
			}
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// lastEventID reads where a subscriber resumes: the Last-Event-ID header (EventSource sends
// it on reconnect), else the last_event_id parameter.
func lastEventID(r *http.Request) (id uint64, resume bool, e *api.Error) {
	v, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if v == "" {
		v, field = r.URL.Query().Get("last_event_id"), "last_event_id"
	}
	if v == "" {
		return 0, false, nil
	}
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: field,
			Message: fmt.Sprintf("%s %q: want the decimal ID of an event this stream sent", field, clipParam(v))}
	}
	return id, true, nil
}

// clipParam shortens a client's value for an error message.
func clipParam(v string) string {
	if len(v) > 64 {
		return strings.ToValidUTF8(v[:64], "") + "…"
	}
	return v
}

// eventWriter writes an event stream: each write under its own deadline (a client that
// stops reading is cut off after the timeout, freeing its goroutine; the hub never waits
// for it), flushed at once.
type eventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (o eventWriter) flush(b []byte) error {
	if err := o.rc.SetWriteDeadline(time.Now().Add(o.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if len(b) > 0 {
		if _, err := o.w.Write(b); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("the client read nothing for %s: %w", o.timeout, err)
			}
			return err
		}
	}
	if err := o.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
