package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/live"
)

// The routes of standalone ingests (ffrtmp ingest, keys with the ingest role): the questions
// and news the master's own ingest asks and tells live.Streams in-process.

func (s *Server) ingestPublish(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	var req api.IngestPublishRequest
	if e := s.decode(w, r, &req, false); e != nil {
		writeError(w, e)
		return
	}
	relay, err := api.CheckRTMPBase(req.Relay)
	if err != nil {
		writeError(w, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "relay", Message: "relay: " + err.Error()})
		return
	}
	if e := required("app", req.App, "key", req.Key); e != nil {
		writeError(w, e)
		return
	}
	if req.App != api.LiveApp {
		s.refusePublish(w, r, relay, unknownApp(req.App, "publish to rtmp://host/"+api.LiveApp+"/<stream key>"))
		return
	}
	id, session, err := ss.GrantPublish(r.Context(), req.Key, relay, caller(r))
	var elsewhere *live.PublishedElsewhereError
	switch {
	case errors.Is(err, live.ErrPublishRefused), errors.As(err, &elsewhere):
		s.refusePublish(w, r, relay, err.Error())
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.IngestPublishReply{StreamID: id, Session: session, LiveGraceSeconds: ss.Grace().Seconds()})
}

// refusePublish answers 403 publish_refused. why never holds the key.
func (s *Server) refusePublish(w http.ResponseWriter, r *http.Request, relay, why string) {
	s.log.Info("publish refused", "ingest", who(r).Name, "relay", relay, "reason", why)
	writeError(w, &api.Error{Status: 403, Code: api.CodePublishRefused, Message: "publish refused: " + why})
}

func (s *Server) ingestPlay(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	var req api.IngestPlayRequest
	if e := s.decode(w, r, &req, false); e != nil {
		writeError(w, e)
		return
	}
	if e := required("app", req.App, "stream_id", req.StreamID, "token", req.Token); e != nil {
		writeError(w, e)
		return
	}
	if req.App != api.LiveApp {
		writeError(w, &api.Error{Status: 403, Code: api.CodePlayRefused, Message: "play refused: " + unknownApp(req.App, "")})
		return
	}
	err := ss.AuthorizePlay(r.Context(), req.StreamID, req.Token)
	switch {
	case errors.Is(err, live.ErrPlayRefused):
		writeError(w, &api.Error{Status: 403, Code: api.CodePlayRefused, Message: err.Error()})
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ingestEvent(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	var ev api.IngestEvent
	if e := s.decode(w, r, &ev, false); e != nil {
		writeError(w, e)
		return
	}
	if err := ss.IngestEvent(r.Context(), ev, caller(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// required answers 400 for the first of the (name, value) pairs whose value is empty.
func required(pairs ...string) *api.Error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return &api.Error{Status: 400, Code: api.CodeBadRequest, Field: pairs[i], Message: pairs[i] + " is empty"}
		}
	}
	return nil
}

// unknownApp says an RTMP application is not the live one; hint, when set, says what is.
func unknownApp(app, hint string) string {
	if len(app) > 64 {
		app = app[:64] + "..."
	}
	msg := fmt.Sprintf("unknown application %q", app)
	if hint != "" {
		msg += ": " + hint
	}
	return msg
}
