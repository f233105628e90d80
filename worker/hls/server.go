// Package hls serves the HLS that a node's live jobs write, read-only, to players and to the
// master's preview proxy. It links no C: the master's tests use it too.
package hls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// Prefix is the URL path the HLS server serves under.
const Prefix = "/hls/"

// types are the files the HLS server serves, by extension, with their content types.
// Anything else (the engine's temporary files, stray files an operator left) is not found.
var types = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".ts":   "video/mp2t",
	".m4s":  "video/mp4",
	".mp4":  "video/mp4",
	".aac":  "audio/aac",
	".vtt":  "text/vtt",
}

// Server serves the HLS that live jobs write, read-only, at /hls/<stream>/...: Dir is the
// streams/ folder of the worker's first output root. It lists no folders, serves only HLS
// files, hides dot files (the engine's temporaries), and never leaves Dir: paths are cleaned
// and opened through an os.Root, so ../ and symbolic links pointing outside fail.
// Playlists are sent with Cache-Control: no-cache (they change every segment); every answer
// allows any origin (players run on other sites).
type Server struct {
	Dir    string
	Logger *slog.Logger
}

// ServeHTTP serves one HLS file.
func (h *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		hdr.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		hdr.Set("Access-Control-Allow-Headers", "Range")
		hdr.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if ok {
		name, ok = FileName(name)
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctype := ContentType(name)
	f, st, err := h.open(name)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && h.Logger != nil {
			h.Logger.Debug("hls file not served", "path", name, "err", err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	hdr.Set("Content-Type", ctype)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", CacheControl(name))
	http.ServeContent(w, r, path.Base(name), st.ModTime(), f)
}

// ContentType is the content type the server sends name with; "" for a file it does not
// serve.
func ContentType(name string) string { return types[path.Ext(name)] }

// CacheControl is the Cache-Control the server sends name with: playlists change with every
// segment; a segment never changes once its playlist names it.
func CacheControl(name string) string {
	if path.Ext(name) == ".m3u8" {
		return "no-cache"
	}
	return "max-age=60"
}

// FileName checks a path relative to the streams folder (cam/720p/index.m3u8) and returns
// it, or false where it is not an HLS file the server may serve: empty, absolute, with
// an empty, . or .. segment or a dot file (the engine's temporaries), a backslash or NUL,
// or not of an HLS type.
func FileName(rest string) (string, bool) {
	if rest == "" || strings.Contains(rest, "\x00") || strings.Contains(rest, `\`) {
		return "", false
	}
	for _, seg := range strings.Split(rest, "/") {
		// Rejected rather than cleaned: a client asking for .. or //x is up to no good.
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	if ContentType(rest) == "" {
		return "", false
	}
	return rest, true
}

// open opens name inside Dir; the root is opened per request, as the folder may appear
// (first live job) or be replaced after the server started.
func (h *Server) open(name string) (*os.File, os.FileInfo, error) {
	root, err := os.OpenRoot(h.Dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s: %w (not a regular file)", name, os.ErrNotExist)
		}
		return nil, nil, err
	}
	return f, st, nil
}

// Serve serves HLS on ln until ctx ends, then closes the listener and every connection.
func (h *Server) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle(Prefix, h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	if h.Logger != nil {
		srv.ErrorLog = slog.NewLogLogger(h.Logger.Handler(), slog.LevelDebug)
	}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve hls on %s: %w", ln.Addr(), err)
	}
	return nil
}
