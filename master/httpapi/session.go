package httpapi

import (
	"errors"
	"net/http"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

// maxLoginBody bounds POST /v1/session's body: an API key is tens of bytes.
const maxLoginBody = 4 << 10

// sessions returns the console's sessions, or answers 503 when this API has none.
func (s *Server) sessions(w http.ResponseWriter) *auth.Sessions {
	if s.opts.Sessions == nil {
		writeError(w, &api.Error{Status: 503, Code: api.CodeUnavailable, Message: "console sessions are not available on this master"})
	}
	return s.opts.Sessions
}

// createSession logs in with an API key: the answer sets the session cookie and carries the
// CSRF token. The route takes no credentials (the key is in the body); the per-IP rate
// limit bounds guessing, and a failed login counts as a denied request.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	ss := s.sessions(w)
	if ss == nil {
		return
	}
	// A login another site's page makes the browser send would put the visitor in a session
	// of the other site's choosing.
	if err := auth.CheckCrossSite(r); err != nil {
		writeError(w, &api.Error{Status: 403, Code: api.CodeCSRF, Message: err.Error()})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	var req api.SessionRequest
	if e := s.decode(w, r, &req, false); e != nil {
		if e.Code != api.CodeTooLarge && e.Code != api.CodeUnknownField {
			// The decoder's messages may quote what it read: say what to send instead.
			e.Message = `the body must be {"api_key": "<API key>"}`
		}
		writeError(w, e)
		return
	}
	sess, token, err := ss.Login(r.Context(), req.APIKey)
	switch {
	case errors.Is(err, auth.ErrNoKey):
		writeError(w, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "api_key", Message: "api_key is empty: send the API key to log in with"})
		return
	case errors.Is(err, auth.ErrUnknownKey):
		writeError(w, &api.Error{Status: 401, Code: api.CodeUnauthorized, Field: "api_key", Message: "the API key is not known to this master"})
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.log.Info("console login", "key", sess.Principal.Name, "role", sess.Principal.Role, "expires", sess.ExpiresAt)
	ss.SetCookie(w, r, token, sess)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sess.Info())
}

// session answers the console session the cookie carries (401 for a request with an API
// key instead).
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	sess, ok := auth.SessionFrom(r.Context())
	if !ok {
		writeError(w, noSession())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sess.Info())
}

// deleteSession logs out: the cookie is refused from now on, by every master of the
// cluster, and the browser is told to forget it.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	ss := s.sessions(w)
	if ss == nil {
		return
	}
	sess, ok := auth.SessionFrom(r.Context())
	if !ok {
		writeError(w, noSession())
		return
	}
	if err := ss.Logout(r.Context(), sess); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("console logout", "key", sess.Principal.Name)
	ss.ClearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func noSession() *api.Error {
	return &api.Error{Status: 401, Code: api.CodeUnauthorized,
		Message: "no console session: this request carries no " + api.SessionCookie + " cookie (POST /v1/session logs in)"}
}
