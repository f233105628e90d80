package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/ffrtmp/ffrtmp/api"
)

// Exit codes, the same for every command.
const (
	exitOK       = 0
	exitFailed   = 1 // the operation failed (including a master that cannot be reached)
	exitUsage    = 2 // the command was called wrongly
	exitNotFound = 3 // no such job, node or preset
	exitAuth     = 4 // no API key, or the master refused it
	exitRegress  = 5 // bench --baseline: a regression beyond the threshold
)

// usageError is a mistake in how the command was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// authError is a missing or refused API key (exit 4).
type authError struct{ err error }

func (e authError) Error() string { return e.err.Error() }
func (e authError) Unwrap() error { return e.err }

// notFoundError is a job, node or preset the master does not have (exit 3).
type notFoundError struct{ err error }

func (e notFoundError) Error() string { return e.err.Error() }
func (e notFoundError) Unwrap() error { return e.err }

// exitCode maps an error from a command to the process's exit status.
func exitCode(err error) int {
	var (
		ue usageError
		ae authError
		ne notFoundError
		e  *api.Error
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command"):
		return exitUsage
	case errors.As(err, &ae):
		return exitAuth
	case errors.As(err, &ne):
		return exitNotFound
	case errors.As(err, new(regressionError)):
		return exitRegress
	case errors.As(err, &e):
		switch e.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return exitAuth
		case http.StatusNotFound:
			return exitNotFound
		}
	}
	return exitFailed
}

// explain turns an error from the master into one that says what happened and what to do
// next, keeping its type for exitCode. what names the thing asked for ("job 01J…").
func (c *conn) explain(err error, what string) error {
	if err == nil {
		return nil
	}
	// Before *api.Error: a cluster's every master failing may hold one (a 503) among others.
	var ue *api.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Errorf("%w (masters from %s: start one, or check FFRTMP_MASTER or --master)", err, c.MasterFrom)
	}
	var e *api.Error
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusUnauthorized:
			from := c.KeyFrom
			if from == "" {
				from = "the default"
			}
			return authError{fmt.Errorf("master at %s refused the API key (from %s): set FFRTMP_API_KEY or --api-key", c.answering(), from)}
		case http.StatusForbidden:
			return authError{fmt.Errorf("master at %s: this API key's role may not do that (%s): use a key with the admin or submitter role", c.answering(), e.Message)}
		case http.StatusNotFound:
			if what != "" {
				return notFoundError{fmt.Errorf("%s not found on the master at %s", what, c.answering())}
			}
			return notFoundError{fmt.Errorf("not found on the master at %s: %s", c.answering(), e.Message)}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			// The master names the field; the request came from our flags or a spec file.
			return usageError{fmt.Errorf("the master refused the request: %s", e.Error())}
		case http.StatusConflict:
			return fmt.Errorf("%s: %s", what, e.Message)
		}
		return fmt.Errorf("master at %s: %w", c.answering(), e)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("no master at %s (from %s): connection refused; start one with `ffrtmp run`, or set FFRTMP_MASTER or --master", c.Master, c.MasterFrom)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("master at %s (from %s): %v; check FFRTMP_MASTER or --master", c.Master, c.MasterFrom, dnsErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("master at %s did not answer in time (%v); raise --timeout or check the master", c.Master, err)
	}
	return err
}

// answering is the master that answered last: with several masters, the one an answer came
// from.
func (c *conn) answering() string {
	if c.Client != nil {
		return c.Client.Master()
	}
	return c.Master
}
