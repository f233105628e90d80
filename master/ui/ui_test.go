package ui_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/master/ui"
)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := ui.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestServe: every answer carries the CSP and the hardening headers; the app revalidates,
// versioned vendor files are cached for good; / and /ui lead to /ui/.
func TestServe(t *testing.T) {
	srv := serve(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		path, status, ctype, cache, location string
	}{
		{"/", "302", "", "", "/ui/"},
		{"/ui", "302", "", "", "/ui/"},
		{"/ui/", "200", "text/html; charset=utf-8", "no-cache", ""},
		{"/ui/index.html", "200", "text/html; charset=utf-8", "no-cache", ""},
		{"/ui/js/app.js", "200", "text/javascript; charset=utf-8", "no-cache", ""},
		{"/ui/app.css", "200", "text/css; charset=utf-8", "no-cache", ""},
		{"/ui/vendor/uplot-1.6.32/uPlot.esm.js", "200", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"/ui/vendor/uplot-1.6.32/uPlot.min.css", "200", "text/css; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"/ui/vendor/hls.js-1.7.4/hls.light.min.mjs", "200", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"/ui/vendor/hls.js-1.7.4/LICENSE", "200", "text/plain; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"/ui/nope.js", "404", "", "", ""},
		{"/ui/js/../app.css", "404", "", "", ""},
		{"/ui//app.css", "404", "", "", ""},
	}
	for _, tc := range cases {
		resp, _ := get(t, noRedirect, srv.URL+tc.path)
		if got := resp.Status[:3]; got != tc.status {
			t.Errorf("GET %s: %s, want %s", tc.path, resp.Status, tc.status)
			continue
		}
		h := resp.Header
		if h.Get("Content-Security-Policy") != ui.CSP || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: security headers %v", tc.path, h)
		}
		if tc.ctype != "" && h.Get("Content-Type") != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, h.Get("Content-Type"), tc.ctype)
		}
		if tc.cache != "" && h.Get("Cache-Control") != tc.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", tc.path, h.Get("Cache-Control"), tc.cache)
		}
		if tc.location != "" && h.Get("Location") != tc.location {
			t.Errorf("GET %s: Location %q, want %q", tc.path, h.Get("Location"), tc.location)
		}
	}

	// Revalidation: the ETag answers a 304.
	resp, _ := get(t, http.DefaultClient, srv.URL+"/ui/js/app.js")
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on /ui/js/app.js")
	}
	if resp, body := get(t, http.DefaultClient, srv.URL+"/ui/js/app.js", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("conditional GET: %s with %d bytes, want 304 and no body", resp.Status, len(body))
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ui/", strings.NewReader("x"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /ui/: %v %v, want 405 with Allow: GET, HEAD", resp, err)
	}
}

// TestNoInlineCode: the CSP forbids inline scripts, styles and handlers, and the console
// loads nothing from the internet: no file may rely on either.
func TestNoInlineCode(t *testing.T) {
	inline := []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script element with a body
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
	}
	remote := regexp.MustCompile(`(?:from|import\(|src=|href=)\s*["']?(?:https?:)?//`)
	err := filepath.WalkDir("static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "vendor") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := string(b)
		if strings.HasSuffix(p, ".html") {
			for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(s, -1) {
				if !strings.Contains(tag, " src=") {
					t.Errorf("%s: a script without src (inline scripts are refused by the CSP): %q", p, tag)
				}
			}
			for _, re := range inline {
				if m := re.FindString(s); m != "" {
					t.Errorf("%s: inline code the CSP refuses: %q", p, m)
				}
			}
		}
		if m := remote.FindString(s); m != "" {
			t.Errorf("%s loads from another origin: %q", p, m)
		}
		if strings.HasSuffix(p, ".js") && strings.Contains(s, "innerHTML") {
			t.Errorf("%s sets innerHTML: build nodes (dom.js) so API data is never parsed as markup", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
