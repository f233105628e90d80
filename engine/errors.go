package engine

import (
	"errors"
	"fmt"

	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// Kind classifies an engine error so callers can decide what to do with it: a worker retries
// KindIO, fails a job at once on KindSpec or KindInput, and reschedules KindHardware elsewhere.
type Kind string

// Error kinds.
const (
	KindSpec     Kind = "invalid_spec"         // the Spec itself is wrong
	KindInput    Kind = "input"                // the input cannot be opened, demuxed or decoded
	KindOutput   Kind = "output"               // an output cannot be opened or written
	KindEncode   Kind = "encode"               // an encoder cannot be opened or failed
	KindFilter   Kind = "filter"               // a filter graph cannot be built or failed
	KindHardware Kind = "hardware_unavailable" // a required device or hardware codec is missing
	KindIO       Kind = "io"                   // a network read or write failed or timed out
	KindCanceled Kind = "canceled"             // the context was canceled
)

// Error is what Run returns: which operation failed, on what, and why.
type Error struct {
	Kind Kind
	// Op is the step that failed ("open input", "decode", "open encoder", "write packet").
	Op string
	// Subject names the input URL, output name or codec at fault.
	Subject string
	Err     error
}

// Error says what failed, on what and why, with the secrets a URL carries (passwords, stream
// keys, tokens) hidden by package redact's rule: the message goes to logs, job events and
// terminals; the Subject field keeps the URL as given.
func (e *Error) Error() string {
	if e.Op == "" {
		return redact.Text(e.Err.Error())
	}
	if e.Subject == "" {
		return redact.Text(fmt.Sprintf("%s: %v", e.Op, e.Err))
	}
	return redact.Text(fmt.Sprintf("%s %s: %v", e.Op, e.Subject, e.Err))
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether running the same Spec again may succeed.
func (e *Error) Transient() bool { return e.Kind == KindIO }

// KindOf returns the Kind of err, or "" when err is not an engine error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func specErr(field, format string, args ...any) error {
	return &Error{Kind: KindSpec, Err: spec.Errorf(field, format, args...)}
}

// normalize validates s through spec.Normalize and files a field error under KindSpec.
func normalize(s spec.Spec) (spec.Spec, error) {
	n, err := s.Normalize()
	if err != nil {
		return n, &Error{Kind: KindSpec, Err: err}
	}
	return n, nil
}

func wrap(kind Kind, op, subject string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: kind, Op: op, Subject: subject, Err: err}
}
