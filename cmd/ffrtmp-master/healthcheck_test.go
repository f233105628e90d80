package main_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthcheck: `ffrtmp-master healthcheck`, the container image's HEALTHCHECK, exits 0
// against a serving master and 1, saying why, against a port nobody serves or a bad URL.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startMaster(t, dir, env(), quiet(filepath.Join(dir, "m.db"), "--api-key", adminKey)...)
	if stdout, stderr, code := run(t, dir, env(), "", "healthcheck", "--url", p.URL+"/healthz"); code != 0 {
		t.Fatalf("healthcheck of a serving master: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, tc := range []struct{ url, want string }{
		{fmt.Sprintf("http://127.0.0.1:%d/healthz", freePort(t)), "unhealthy: "},
		{p.URL + "/v1/jobs", "answered 401"},
		{"ftp://127.0.0.1/healthz", "want http(s)://host:port/healthz"},
	} {
		_, stderr, code := run(t, dir, env(), "", "healthcheck", "--url", tc.url, "--timeout", "2s")
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("healthcheck --url %s: exit %d, stderr %q; want 1 and %q", tc.url, code, stderr, tc.want)
		}
	}
}
