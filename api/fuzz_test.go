package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/roundtrip"
)

// FuzzDuration: a duration a client may send (max_run_time, wait) is never negative when
// accepted, and reads back the same from the string the master writes for it.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`"90s"`, `"2h"`, `"1h30m"`, `3600`, `1.5`, `0`, `-1`, `"-1s"`, `1e300`, `NaN`,
		`9223372036.854775`, `"2562047h47m16.854775807s"`, `"abc"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Duration
		if err := json.Unmarshal(b, &d); err != nil {
			// A value that is JSON but no duration is explained (the API shows Value).
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && !strings.Contains(te.Value, "duration") {
				t.Fatalf("Unmarshal(%s): %q does not say a duration was wanted", b, te.Value)
			}
			return
		}
		if d < 0 {
			t.Fatalf("Unmarshal(%s) = %v: a negative duration was accepted", b, time.Duration(d))
		}
		if err := roundtrip.Check(d); err != nil {
			t.Fatal(err)
		}
	})
}
