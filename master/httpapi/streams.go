package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ffrtmp/ffrtmp/api"
)

// streams returns the farm's streams, or answers 503 when this API has none.
func (s *Server) streams(w http.ResponseWriter) Streams {
	if s.opts.Streams == nil {
		writeError(w, &api.Error{Status: 503, Code: api.CodeUnavailable, Message: "live streams are not available on this master"})
	}
	return s.opts.Streams
}

// withIngest fills in where publishers push to (the configured host, never the request's),
// and hides the destinations' stream keys (api.Stream.Redact), as the job views of the
// stream's live jobs do. Every stream answer goes through it.
func (s *Server) withIngest(st api.Stream) api.Stream {
	st = st.Redact()
	st.IngestURL = s.opts.Streams.IngestURL()
	return st
}

// writeSecret writes an answer that carries a stream key: no cache may keep it.
func writeSecret(w http.ResponseWriter, status int, st api.Stream) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, st)
}

func (s *Server) createStream(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	var req api.StreamRequest
	if e := s.decode(w, r, &req, false); e != nil {
		writeError(w, e)
		return
	}
	st, err := ss.CreateStream(r.Context(), who(r), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/streams/"+st.ID)
	writeSecret(w, http.StatusCreated, s.withIngest(st))
}

func (s *Server) listStreams(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	tenant, e := tenantOnly(r)
	if e != nil {
		writeError(w, e)
		return
	}
	list, err := ss.ListStreams(r.Context(), who(r), tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i := range list {
		list[i] = s.withIngest(list[i])
	}
	writeJSON(w, http.StatusOK, api.StreamList{Streams: list})
}

func (s *Server) getStream(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	st, err := ss.Stream(r.Context(), who(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withIngest(st))
}

func (s *Server) rotateStreamKey(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	if e := s.decode(w, r, &struct{}{}, true); e != nil {
		writeError(w, e)
		return
	}
	st, err := ss.RotateStreamKey(r.Context(), who(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSecret(w, http.StatusOK, s.withIngest(st))
}

func (s *Server) deleteStream(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	if err := ss.DeleteStream(r.Context(), who(r), mux.Vars(r)["id"]); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
