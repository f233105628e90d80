package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBackoffFullJitterWithinCeiling(t *testing.T) {
	opts := Options{BaseBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
	for n, ceiling := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		5: 1600 * time.Millisecond, 6: 2 * time.Second, 60: 2 * time.Second,
	} {
		var top time.Duration
		for range 500 {
			got := opts.retryBackoff().Delay(n)
			if got < 0 || got > ceiling {
				t.Fatalf("backoff after attempt %d = %s, want within [0, %s]", n, got, ceiling)
			}
			top = max(top, got)
		}
		if top < ceiling/2 {
			t.Errorf("backoff after attempt %d never went above %s in 500 draws (ceiling %s): not jittered over the whole range", n, top, ceiling)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		" 3 ":                           3 * time.Second,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 12:00:30 GMT": 30 * time.Second,
		"Thu, 01 Jan 2026 11:00:00 GMT": 0, // in the past
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	now := time.Now()
	tests := []struct {
		status     int
		retryAfter string
		wantErr    bool
		permanent  bool
		wantAfter  time.Duration
	}{
		{200, "", false, false, 0},
		{204, "", false, false, 0},
		{301, "", true, false, 0},
		{302, "", true, false, 0},
		{400, "", true, true, 0},
		{401, "", true, true, 0},
		{404, "", true, true, 0},
		{408, "", true, false, 0},
		{410, "", true, true, 0},
		{429, "7", true, false, 7 * time.Second},
		{500, "7", true, false, 0}, // Retry-After only counts on 429 and 503
		{502, "", true, false, 0},
		{503, "9", true, false, 9 * time.Second},
	}
	for _, tc := range tests {
		resp := &http.Response{StatusCode: tc.status, Status: http.StatusText(tc.status), Header: http.Header{}}
		if tc.retryAfter != "" {
			resp.Header.Set("Retry-After", tc.retryAfter)
		}
		a := classify(resp, now)
		if (a.reason != "") != tc.wantErr || a.permanent != tc.permanent || a.retryAfter != tc.wantAfter || a.status != tc.status {
			t.Errorf("classify(%d) = %+v, want err %v, permanent %v, retryAfter %s", tc.status, a, tc.wantErr, tc.permanent, tc.wantAfter)
		}
		if want := fmt.Sprintf("receiver answered %d", tc.status); tc.wantErr && !strings.HasPrefix(a.reason, want) {
			t.Errorf("classify(%d) reason %q, want it to start %q", tc.status, a.reason, want)
		}
	}
}

func TestCallbackURL(t *testing.T) {
	for _, ok := range []string{"http://example.com/hook", "HTTPS://example.com:8443/h?token=x"} {
		if _, err := callbackURL(ok); err != nil {
			t.Errorf("callbackURL(%q): %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                       "no callback URL",
		"file:///etc/passwd":     `scheme "file"`,
		"ftp://example.com/x":    `scheme "ftp"`,
		"/relative/path":         `scheme ""`,
		"http:///no-host":        "no host",
		"http://exa mple.com/%z": "does not parse",
	} {
		_, err := callbackURL(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("callbackURL(%q) = %v, want an error containing %q", bad, err, want)
		}
	}
}
