package worker

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

// HLSPrefix is the URL path the HLS server serves under.
const HLSPrefix = "/hls/"

// hlsTypes are the files the HLS server serves, by extension, with their content types.
// Anything else (the engine's temporary files, stray files an operator left) is not found.
var hlsTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".ts":   "video/mp2t",
	".m4s":  "video/mp4",
	".mp4":  "video/mp4",
	".aac":  "audio/aac",
	".vtt":  "text/vtt",
}

// HLSServer serves the HLS that live jobs write, read-only, at /hls/<stream>/...: Dir is the
// streams/ folder of the worker's first output root. It lists no folders, serves only HLS
// files, hides dot files (the engine's temporaries), and never leaves Dir: paths are cleaned
// and opened through an os.Root, so ../ and symbolic links pointing outside fail.
// Playlists are sent with Cache-Control: no-cache (they change every segment); every answer
// allows any origin (players run on other sites).
type HLSServer struct {
	Dir    string
	Logger *slog.Logger
}

// ServeHTTP serves one HLS file.
func (h *HLSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	name, ok := hlsFileName(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctype := hlsTypes[path.Ext(name)]
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
	if path.Ext(name) == ".m3u8" {
		hdr.Set("Cache-Control", "no-cache")
	} else {
		// A segment never changes once its playlist names it.
		hdr.Set("Cache-Control", "max-age=60")
	}
	http.ServeContent(w, r, path.Base(name), st.ModTime(), f)
}

// hlsFileName turns a request path into a file name relative to Dir, or false where the
// path is not an HLS file the server may serve.
func hlsFileName(urlPath string) (string, bool) {
	rest, ok := strings.CutPrefix(urlPath, HLSPrefix)
	if !ok || rest == "" || strings.Contains(rest, "\x00") || strings.Contains(rest, `\`) {
		return "", false
	}
	for _, seg := range strings.Split(rest, "/") {
		// Rejected rather than cleaned: a client asking for .. or //x is up to no good.
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	if _, ok := hlsTypes[path.Ext(rest)]; !ok {
		return "", false
	}
	return rest, true
}

// open opens name inside Dir; the root is opened per request, as the folder may appear
// (first live job) or be replaced after the server started.
func (h *HLSServer) open(name string) (*os.File, os.FileInfo, error) {
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
func (h *HLSServer) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle(HLSPrefix, h)
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
