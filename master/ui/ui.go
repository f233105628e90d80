// Package ui is the farm console: the browser app every master serves under /ui/, embedded
// in the binary. Its files need no authentication; everything they load from /v1 does (a
// session cookie from POST /v1/session, with the X-CSRF-Token header on changes).
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/ui/"

// CSP is the console's Content-Security-Policy: its own scripts, styles and API only, no
// inline code, media from blob: URLs (hls.js feeds the <video> through Media Source
// Extensions) and nothing framing it.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// contentTypes are the types of the files the console ships, set here rather than taken
// from the host's mime tables (which may not know .mjs, or map .js to something old).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
}

// file is one embedded asset with what its answers carry.
type file struct {
	body        []byte
	contentType string
	etag        string
	immutable   bool // under vendor/<name>-<version>/: the path changes when the bytes do
}

// Handler serves the console: GET /ui/ is the app, GET /ui/<file> its assets, and / (and
// /ui) redirect to /ui/. Anything else under /ui/ is a 404.
type Handler struct {
	files map[string]file
}

// New reads the embedded assets once, with their ETags.
func New() (*Handler, error) {
	h := &Handler{files: map[string]file{}}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			// A LICENSE file, or anything else without a known type: served as text, which
			// nosniff keeps from being run as anything else.
			ct = "text/plain; charset=utf-8"
		}
		sum := sha256.Sum256(body)
		h.files[p] = file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
			immutable: strings.HasPrefix(p, "vendor/")}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := h.files["index.html"]; !ok {
		return nil, fs.ErrNotExist
	}
	return h, nil
}

// Serves says whether path is the console's: "/", "/ui" or under "/ui/".
func Serves(path string) bool {
	return path == "/" || path == "/ui" || strings.HasPrefix(path, Prefix)
}

// ServeHTTP answers a console path (see Serves).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, r.Method+" is not allowed on the console's files (allowed: GET, HEAD)", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" || r.URL.Path == "/ui" {
		http.Redirect(w, r, Prefix, http.StatusFound)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	if name == "" {
		name = "index.html"
	}
	f, ok := h.files[name]
	if !ok || name != path.Clean(name) {
		http.Error(w, "no console file "+r.URL.Path, http.StatusNotFound)
		return
	}
	hd.Set("Content-Type", f.contentType)
	hd.Set("ETag", f.etag)
	if f.immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// The app's own files change with the master: revalidate every time (a 304 when
		// unchanged, by the ETag).
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
