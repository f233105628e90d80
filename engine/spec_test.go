package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// TestRunRejectsBadSpec: Run refuses a bad spec before opening anything, as a KindSpec error
// carrying the *spec.Error that names the field. Normalize's own checks are tested case by
// case in api/spec; here one of them shows the wrapping, and the checks only the engine
// can make (a demuxer name libav does not know) are tested in full.
func TestRunRejectsBadSpec(t *testing.T) {
	t.Parallel()
	good := func() spec.Spec {
		return spec.Spec{Input: synthetic(64, 64, 1), Outputs: []spec.Output{{Container: "null"}}}
	}
	tests := []struct {
		name   string
		modify func(*spec.Spec)
		field  string
	}{
		{"no outputs (Normalize)", func(s *spec.Spec) { s.Outputs = nil }, "outputs"},
		{"unknown input format", func(s *spec.Spec) { s.Input = spec.Input{URL: "in.bin", Format: "nosuchformat"} }, "input.format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.modify(&s)
			_, err := engine.Run(context.Background(), s, nil)
			e := engineErr(t, err, engine.KindSpec)
			var se *spec.Error
			if !errors.As(e, &se) {
				t.Fatalf("error %v: no *spec.Error in it", err)
			}
			if se.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", se.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.field) || se.Message == "" {
				t.Errorf("message %q does not name %s and say what is wrong", err, tc.field)
			}
		})
	}
}
