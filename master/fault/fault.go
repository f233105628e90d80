// Package fault holds the ways the master's domain (farm, live streams, catalog) refuses a
// request: typed errors that name the thing at fault, checked with errors.As. The API maps
// each kind to its HTTP status and error code in one place (httpapi); the domain knows
// nothing of HTTP.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// NotFoundError: there is no What named ID (or the caller may not see it: another tenant's
// job is not found either).
type NotFoundError struct {
	What, ID string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("no %s %q", e.What, e.ID) }

// NotFound is a *NotFoundError.
func NotFound(what, id string) error { return &NotFoundError{What: what, ID: id} }

// UnregisteredError: a worker's call names a node the master does not know (it forgot it,
// or never knew it): the worker must register again.
type UnregisteredError struct {
	Node string
}

func (e *UnregisteredError) Error() string {
	return fmt.Sprintf("node %q is not registered: register again", e.Node)
}

// InvalidError: the request's Field (a JSON path: "outputs[0].video.codec") has a value the
// domain refuses, for the reason Msg.
type InvalidError struct {
	Field, Msg string
}

func (e *InvalidError) Error() string { return withField(e.Field, e.Msg) }

// Invalid is an *InvalidError with a formatted reason.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ConflictError: the thing is in a state that refuses the request (a job that has finished
// cannot be canceled). Code says which refusal, in the API's terms (api.CodeConflict when
// empty); Field, when set, names the request field at fault.
type ConflictError struct {
	Code, Field, Msg string
}

func (e *ConflictError) Error() string { return withField(e.Field, e.Msg) }

// Conflict is a *ConflictError with a formatted reason.
func Conflict(code, format string, args ...any) error {
	return &ConflictError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ForbiddenError: the caller is known but may not do this (another node's secret, a tenant
// it does not act for, a bound it reached). Code says which refusal (api.CodeForbidden when
// empty).
type ForbiddenError struct {
	Code, Field, Msg string
}

func (e *ForbiddenError) Error() string { return withField(e.Field, e.Msg) }

// UnauthenticatedError: the call lacks the credential the domain asks for (a node call
// without its node secret). Code says which (api.CodeUnauthorized when empty).
type UnauthenticatedError struct {
	Code, Field, Msg string
}

func (e *UnauthenticatedError) Error() string { return withField(e.Field, e.Msg) }

// QuotaError: a quota (Quota names it: max_queued, max_streams, submit_rate,
// max_queued_jobs) refuses the request; RetryAfter, when not 0, is when a retry may pass.
type QuotaError struct {
	Quota      string
	RetryAfter time.Duration
	Msg        string
}

func (e *QuotaError) Error() string { return withField(e.Quota, e.Msg) }

// TooLargeError: what the request carries in Field is larger than the domain keeps.
type TooLargeError struct {
	Field, Msg string
}

func (e *TooLargeError) Error() string { return withField(e.Field, e.Msg) }

// UnavailableError: the master cannot do this now, but a retry soon may succeed, here or at
// another master (the cluster is electing a leader, or this member just lost leadership).
// A write refused this way may still have been committed: clients retry with the same
// idempotency key.
type UnavailableError struct {
	Msg string
}

func (e *UnavailableError) Error() string { return e.Msg }

func withField(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}

// IsNotFound reports whether err is (or wraps) a *NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// Reason is what err says without the field it names: an *InvalidError's Msg (the field is
// said elsewhere), else err's text.
func Reason(err error) string {
	var inv *InvalidError
	if errors.As(err, &inv) {
		return inv.Msg
	}
	return err.Error()
}
