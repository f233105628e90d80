package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is the body of every error answer: {"error": {"code", "message", "field"}}. Status is
// the HTTP status it came with (not sent on the wire; the client fills it in).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field at fault, as a JSON path ("outputs[0].video.codec").
	Field string `json:"field,omitempty"`
	// RetryAfter is set on 429 and 503 answers from the Retry-After header (client side).
	RetryAfter int `json:"-"`
}

// ErrorBody wraps an Error on the wire.
type ErrorBody struct {
	Error *Error `json:"error"`
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s (%d %s)", msg, e.Status, e.Code)
	}
	return fmt.Sprintf("%s (%s)", msg, e.Code)
}

// Error codes. A client switches on these, never on messages.
const (
	CodeBadRequest        = "bad_request"          // malformed JSON or a bad value (see field)
	CodeUnknownField      = "unknown_field"        // a JSON field the API does not know
	CodeTooLarge          = "body_too_large"       // the body exceeds the limit
	CodeUnauthorized      = "unauthorized"         // no API key, or a key the master does not know
	CodeForbidden         = "forbidden"            // the key's role may not use this route
	CodeNotFound          = "not_found"            // no such job, node, preset or route
	CodeUnknownNode       = "unknown_node"         // a worker route for a node the master forgot: register again
	CodeNodeSecret        = "node_secret_required" // a node call without its node secret (header Ffrtmp-Node-Secret)
	CodeNodeForbidden     = "node_forbidden"       // a node call with another node's secret or certificate
	CodeTooMany           = "limit_exceeded"       // a count the master bounds (nodes per key, ...) is at its limit
	CodeConflict          = "conflict"             // the resource is in a state that refuses the request
	CodeIllegalTransition = "illegal_transition"   // a job state change the state machine refuses
	CodeIdempotencyReuse  = "idempotency_key_reused"
	CodeRateLimited       = "rate_limited"
	// CodeQuotaExceeded (429): the tenant's quota (field names it: max_queued, max_streams,
	// submit_rate) or the farm's --max-queued-jobs cap is reached.
	CodeQuotaExceeded    = "quota_exceeded"
	CodeUnavailable      = "unavailable" // draining or storage trouble; retry later
	CodeInternal         = "internal"
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeCSRF (403): a request the console's session cookie authenticates came without the
	// session's X-CSRF-Token (or with a wrong one), or from another site's Origin.
	CodeCSRF = "csrf_required"
	// CodeNodeUnreachable (502): the node that serves a live stream's HLS did not answer the
	// master's preview proxy (GET /v1/streams/{id}/hls/...), or answered wrong.
	CodeNodeUnreachable = "node_unreachable"
)

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsNotFound reports whether err is a 404 from the master.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
