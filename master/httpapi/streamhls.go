package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/worker/hls"
)

// The HLS proxy's bounds: requests in flight through one master, how long one may take, and
// the largest file it passes (a playlist, or a segment: 64 MiB is 6 s at 80 Mbit/s).
const (
	hlsProxySlots    = 64
	hlsProxyTimeout  = 20 * time.Second
	hlsPlaylistLimit = 1 << 20
	hlsSegmentLimit  = 64 << 20
)

// hlsProxy fetches a live stream's HLS from the node that serves it, for GET
// /v1/streams/{id}/hls/...: the console's preview (and any player) reads it on the API's
// own origin with the API's credentials, where the console's Content-Security-Policy lets
// it, instead of on the node's origin.
//
// The node is never the client's to name: the URL is the stream's live job's node's
// registered HLS base URL (what hls_url shows) plus the stream's name and a file name that
// passes the node's own check (hls.FileName). Redirects are not followed, and nothing of the
// request but Range goes to the node: no query, no cookie, no credentials.
type hlsProxy struct {
	client *http.Client
	slots  chan struct{}
}

func newHLSProxy() *hlsProxy {
	tr := &http.Transport{
		Proxy:                  nil, // the nodes are the farm's: never through an environment proxy
		DialContext:            (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  5 * time.Second,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        time.Minute,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &hlsProxy{
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		slots:  make(chan struct{}, hlsProxySlots),
	}
}

// hlsProxiedHeaders are the node's answer headers a player may use; Content-Type and
// Cache-Control are set apart.
var hlsProxiedHeaders = []string{"Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified", "ETag"}

// streamHLS answers GET /v1/streams/{id}/hls/{file} and .../hls/{rendition}/{file}.
func (s *Server) streamHLS(w http.ResponseWriter, r *http.Request) {
	ss := s.streams(w)
	if ss == nil {
		return
	}
	vars := mux.Vars(r)
	rel := vars["file"]
	if rd, ok := vars["rendition"]; ok {
		rel = rd + "/" + rel
	}
	// A player's query (a cache buster) is not passed on; the file name is the node's check.
	name, ok := hls.FileName(rel)
	if !ok {
		writeError(w, &api.Error{Status: 404, Code: api.CodeNotFound,
			Message: fmt.Sprintf("%q is not a file of a stream's HLS: want master.m3u8, or <rendition>/ and a playlist or segment", rel)})
		return
	}
	origin, err := ss.HLSOrigin(r.Context(), who(r), vars["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	select {
	case s.hls.slots <- struct{}{}:
		defer func() { <-s.hls.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, &api.Error{Status: 503, Code: api.CodeUnavailable, RetryAfter: 1,
			Message: fmt.Sprintf("this master passes at most %d HLS requests at a time; retry", hlsProxySlots)})
		return
	}
	s.proxyHLS(w, r, origin.JoinPath(strings.Split(name, "/")...).String(), name)
}

// proxyHLS fetches target (file name of a stream's HLS) and passes the answer on.
func (s *Server) proxyHLS(w http.ResponseWriter, r *http.Request, target, name string) {
	ctx, cancel := context.WithTimeout(r.Context(), hlsProxyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		s.fail(w, r, fmt.Errorf("HLS proxy request for %s: %w", target, err))
		return
	}
	if rg := r.Header.Get("Range"); rg != "" {
		req.Header.Set("Range", rg) // Safari's player asks for segments in ranges
	}
	resp, err := s.hls.client.Do(req)
	if err != nil {
		if r.Context().Err() != nil {
			return // the player left
		}
		s.log.Warn("stream HLS: the node did not answer", "url", target, "err", err)
		writeError(w, &api.Error{Status: 502, Code: api.CodeNodeUnreachable,
			Message: fmt.Sprintf("the node serving this stream's HLS did not answer: %v", errors.Unwrap(err))})
		return
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent, http.StatusRequestedRangeNotSatisfiable:
	case http.StatusNotFound:
		writeError(w, &api.Error{Status: 404, Code: api.CodeNotFound,
			Message: fmt.Sprintf("the stream's node has no %s (not written yet, or already out of the live window)", name)})
		return
	default:
		writeError(w, &api.Error{Status: 502, Code: api.CodeNodeUnreachable,
			Message: fmt.Sprintf("the node serving this stream's HLS answered %s for %s", resp.Status, name)})
		return
	}
	limit := int64(hlsSegmentLimit)
	if strings.HasSuffix(name, ".m3u8") {
		limit = hlsPlaylistLimit
	}
	if resp.ContentLength > limit {
		writeError(w, &api.Error{Status: 502, Code: api.CodeNodeUnreachable,
			Message: fmt.Sprintf("the node's %s is %d bytes, over this master's limit of %d", name, resp.ContentLength, limit)})
		return
	}
	hdr := w.Header()
	for _, k := range hlsProxiedHeaders {
		if v := resp.Header.Get(k); v != "" {
			hdr.Set(k, v)
		}
	}
	// The type is the file's, never the node's word: the answer is served on the API's origin,
	// where the console's session cookie lives, so it must never become a page.
	hdr.Set("Content-Type", hls.ContentType(name))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	cc := resp.Header.Get("Cache-Control")
	if cc == "" {
		cc = hls.CacheControl(name)
	}
	// The node's caching, kept out of shared caches: the answer needed credentials.
	hdr.Set("Cache-Control", "private, "+cc)
	w.WriteHeader(resp.StatusCode)
	sw := s.streamWriter(w)
	n, err := io.Copy(sw, io.LimitReader(resp.Body, limit+1))
	if err == nil {
		err = sw.close()
	}
	switch {
	case n > limit:
		// Headers are gone: cutting the connection tells the player the file is incomplete.
		s.log.Warn("stream HLS: the node's file is over the limit", "url", target, "limit", limit)
		panic(http.ErrAbortHandler)
	case err != nil && r.Context().Err() == nil:
		s.log.Debug("stream HLS: copy ended early", "url", target, "bytes", n, "err", err)
	}
}
