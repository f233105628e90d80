package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a signature's timestamp may be from the receiver's clock when
// Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify, wrapped with details; test them with errors.Is.
var (
	ErrNoSignature         = errors.New("webhook: no X-Ffrtmp-Signature header")
	ErrMalformedSignature  = errors.New("webhook: malformed X-Ffrtmp-Signature header")
	ErrSignatureMismatch   = errors.New("webhook: signature does not match the body (wrong secret, or the body was changed)")
	ErrTimestampOutOfRange = errors.New("webhook: signature timestamp too far from now (replayed, or a clock is off)")
)

// Sign returns the X-Ffrtmp-Signature value for body signed at ts:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<unix seconds>.<body>">".
func Sign(secret []byte, ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac(secret, t, body))
}

func mac(secret []byte, t string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(t))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received X-Ffrtmp-Signature header against the raw request body: one of
// its v1 values must be the HMAC of "<t>.<body>" under secret, and t must be within
// tolerance of now (tolerance <= 0 means DefaultTolerance). It is meant for receivers written
// in Go; the scheme is described in the package documentation.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return errors.New("webhook: verify: empty secret")
	}
	if strings.TrimSpace(header) == "" {
		return ErrNoSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		t    string
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: %q is not key=value", ErrMalformedSignature, part)
		}
		switch key {
		case "t":
			if t != "" {
				return fmt.Errorf("%w: t appears twice", ErrMalformedSignature)
			}
			t = value
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 must be %d hex digits", ErrMalformedSignature, 2*sha256.Size)
			}
			sigs = append(sigs, sig)
		}
	}
	if t == "" {
		return fmt.Errorf("%w: no t= timestamp", ErrMalformedSignature)
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: t=%q is not Unix seconds", ErrMalformedSignature, t)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1= signature", ErrMalformedSignature)
	}
	want := mac(secret, t, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if skew := now.Sub(time.Unix(unix, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)",
			ErrTimestampOutOfRange, time.Unix(unix, 0).UTC().Format(time.RFC3339), skew.Round(time.Second), tolerance)
	}
	return nil
}
