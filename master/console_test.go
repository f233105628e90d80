package master_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/master/ui"
)

// TestConsoleServed: a master serves the console's files without a key, with the CSP, and
// / leads there; the API beside it still wants its key.
func TestConsoleServed(t *testing.T) {
	h := mastertest.Start(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(h.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /: %s to %q, want 302 to /ui/", resp.Status, resp.Header.Get("Location"))
	}
	resp, err = c.Get(h.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != ui.CSP || !strings.Contains(string(body), `src="js/app.js"`) {
		t.Errorf("GET /ui/: %s, CSP %q, body %.200s", resp.Status, resp.Header.Get("Content-Security-Policy"), body)
	}
	resp, err = c.Get(h.URL + "/v1/jobs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/jobs without a key: %s, want 401", resp.Status)
	}
}
