package api

import "time"

// Console sessions: a browser logs in once with an API key (POST /v1/session) and then
// sends the session cookie instead of the key. A state-changing request the cookie
// authenticates must carry the session's CSRF token in CSRFHeader.
const (
	// SessionCookie is the name of the session cookie (HttpOnly, SameSite=Strict, Path=/,
	// Secure when the master serves TLS).
	SessionCookie = "ffrtmp_session"
	// CSRFHeader carries SessionInfo.CSRFToken on every request but GET, HEAD and OPTIONS
	// that the session cookie authenticates.
	CSRFHeader = "X-CSRF-Token"
)

// SessionRequest logs in to the console: POST /v1/session.
type SessionRequest struct {
	// APIKey is the key the session acts as; it is checked and never stored or echoed.
	APIKey string `json:"api_key"`
}

// SessionInfo is a console session as POST and GET /v1/session show it.
type SessionInfo struct {
	KeyName string `json:"key_name"`
	// Role is the key's role (admin, submitter, worker, ingest, monitor): the console shows
	// what it may do, and the API enforces it.
	Role   string `json:"role"`
	Tenant string `json:"tenant"`
	// CSRFToken goes in the X-CSRF-Token header of every state-changing request.
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}
