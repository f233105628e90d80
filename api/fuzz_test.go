package api

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/roundtrip"
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

// FuzzCheckRTMPBase: an RTMP base URL that is accepted comes back in a canonical form that
// is accepted again unchanged, and a stream URL built on it parses with the same host.
func FuzzCheckRTMPBase(f *testing.F) {
	for _, s := range []string{"rtmp://10.0.0.9:1935", "RTMPS://ingest.example:443/", "rtmp://[::1]:1935", "rtmp://10.0.:.9:1935",
		"rtmp://user:pw@x:1935", "rtmp://x:1935/live", "rtmp://x", "rtmp://x:0", "http://x:80", "rtmp://x:1935?a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		canon, err := CheckRTMPBase(raw)
		if err != nil {
			return
		}
		again, err := CheckRTMPBase(canon)
		if err != nil || again != canon {
			t.Fatalf("CheckRTMPBase(%q) = %q, which checks as %q (%v)", raw, canon, again, err)
		}
		u, err := url.Parse(canon + "/" + LiveApp + "/stream?token=t")
		if err != nil || u.Host == "" || u.Path != "/"+LiveApp+"/stream" {
			t.Fatalf("CheckRTMPBase(%q) = %q: a stream URL on it parses as %+v (%v)", raw, canon, u, err)
		}
	})
}
