// Package access decides which inputs and outputs a job may open: local paths under the
// roots the operator allowed, and URLs of the allowed protocols. A refused job fails with a
// clear error before libav sees it; what is allowed is also handed to libav as its
// protocol_whitelist, so a demuxer that opens nested URLs (HLS, concat) stays inside it.
package access

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// LocalDemuxers are the demuxers a local input may be read with: media containers, raw
// streams, and readers of one still image (png_pipe, jpeg_pipe, webp_pipe, bmp_pipe,
// tiff_pipe) or one animated GIF (gif), which read only the file they are given. Playlists
// (hls, dash), lists (concat), filters, and image2 — libav's image-sequence reader, which
// expands a name like frame%03d.png or a glob into other files and reads them — open other
// files by name and are not among them (doc/quirks.md).
const LocalDemuxers = "mov,matroska,mpegts,flv,avi,mpeg,mpegvideo,mxf,asf,nut,ogg,wav,mp3,aac,ac3,eac3,flac,h264,hevc,m4v,obu,ivf,yuv4mpegpipe," +
	"png_pipe,jpeg_pipe,webp_pipe,bmp_pipe,tiff_pipe,gif"

// DefaultProtocols are the input protocols a worker allows unless told otherwise.
var DefaultProtocols = []string{"file", "http", "https", "rtmp", "rtmps"}

// Policy is what jobs on this worker may read and write. Create it with New.
type Policy struct {
	inputRoots, outputRoots []string // absolute, cleaned, symlinks resolved
	protocols               []string
}

// Refused says why a job may not open something.
type Refused struct {
	Field  string // spec field: input.url, outputs[1].target
	Value  string
	Reason string
}

func (e *Refused) Error() string {
	return fmt.Sprintf("%s %q refused: %s", e.Field, e.Value, e.Reason)
}

// New makes a policy. Empty root lists mean dataDir: with no roots configured, nothing
// outside the worker's data folder may be read or written. Roots must exist.
func New(inputRoots, outputRoots, protocols []string, dataDir string) (*Policy, error) {
	if len(inputRoots) == 0 || len(outputRoots) == 0 {
		if dataDir == "" {
			return nil, errors.New("no roots and no data dir: nothing could be read or written")
		}
	}
	if len(inputRoots) == 0 {
		inputRoots = []string{dataDir}
	}
	if len(outputRoots) == 0 {
		outputRoots = []string{dataDir}
	}
	p := &Policy{}
	var err error
	if p.inputRoots, err = resolveRoots("--input-roots", inputRoots); err != nil {
		return nil, err
	}
	if p.outputRoots, err = resolveRoots("--output-roots", outputRoots); err != nil {
		return nil, err
	}
	if len(protocols) == 0 {
		protocols = DefaultProtocols
	}
	for _, pr := range protocols {
		pr = strings.ToLower(strings.TrimSpace(pr))
		if !slices.Contains([]string{"file", "http", "https", "rtmp", "rtmps", "srt", "udp"}, pr) {
			return nil, fmt.Errorf("--protocols: %q is not a protocol a job may use (file, http, https, rtmp, rtmps, srt, udp)", pr)
		}
		p.protocols = append(p.protocols, pr)
	}
	return p, nil
}

func resolveRoots(flag string, roots []string) ([]string, error) {
	var out []string
	for _, r := range roots {
		if r == "" {
			continue
		}
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", flag, r, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", flag, r, err)
		}
		if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s %q is not a folder", flag, r)
		}
		out = append(out, real)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no folder given", flag)
	}
	return out, nil
}

// Roots returns the input and output roots.
func (p *Policy) Roots() (inputs, outputs []string) {
	return slices.Clone(p.inputRoots), slices.Clone(p.outputRoots)
}

// Whitelist is libav's protocol_whitelist for what the policy allows (each protocol with the
// ones it runs on: https needs tls and tcp).
func (p *Policy) Whitelist() string {
	under := map[string][]string{
		"file": {"file"}, "http": {"http", "tcp"}, "https": {"https", "tls", "tcp"},
		"rtmp": {"rtmp", "tcp"}, "rtmps": {"rtmps", "tls", "tcp"}, "srt": {"srt"}, "udp": {"udp"},
	}
	var out []string
	for _, pr := range p.protocols {
		for _, u := range under[pr] {
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return strings.Join(out, ",")
}

// Spec checks every input and output of s and returns it with local paths made absolute and
// libav's protocol_whitelist set on the input. The error is a *Refused naming the field, or
// an *engine.Error of kind input for a local input that is not a regular file.
func (p *Policy) Spec(s spec.Spec) (spec.Spec, error) {
	out := s
	if s.Input.Synthetic == nil {
		u, err := p.open("input.url", s.Input.URL, p.inputRoots, p.protocols, false)
		if err != nil {
			return s, err
		}
		// Checked after the roots (a link out of them is refused above, whatever it points
		// to): a named pipe would hold the job in open(2), a device or folder is no media.
		if filepath.IsAbs(u) {
			if err := engine.CheckLocalInput(u); err != nil {
				return s, err
			}
		}
		out.Input.URL = u
		if s.Input.Format == "concat" || s.Input.Format == "lavfi" {
			return s, &Refused{Field: "input.format", Value: s.Input.Format, Reason: "this demuxer opens other files or runs filters: not allowed for jobs"}
		}
	}
	opts := make(map[string]string, len(s.Input.Options)+2)
	for k, v := range s.Input.Options {
		if k == "protocol_whitelist" || k == "protocol_blacklist" || k == "format_whitelist" {
			return s, &Refused{Field: "input.options." + k, Value: v, Reason: "set by the worker's policy"}
		}
		opts[k] = v
	}
	opts["protocol_whitelist"] = p.Whitelist()
	if s.Input.Synthetic == nil && filepath.IsAbs(out.Input.URL) {
		// A local playlist or concat list names other files itself, and file: is allowed:
		// local inputs may only be media containers, never demuxers that open more files.
		opts["format_whitelist"] = LocalDemuxers
		if f := s.Input.Format; f != "" && !slices.Contains(strings.Split(LocalDemuxers, ","), f) {
			return s, &Refused{Field: "input.format", Value: f, Reason: "not a demuxer local inputs may use (" + LocalDemuxers + ")"}
		}
	}
	out.Input.Options = opts
	out.Outputs = slices.Clone(s.Outputs)
	outProtocols := slices.DeleteFunc(slices.Clone(p.protocols), func(pr string) bool { return pr == "http" || pr == "https" })
	for i, o := range s.Outputs {
		if o.Container == "null" {
			continue
		}
		t, err := p.open(fmt.Sprintf("outputs[%d].target", i), o.Target, p.outputRoots, outProtocols, true)
		if err != nil {
			return s, err
		}
		out.Outputs[i].Target = t
	}
	return out, nil
}

// open checks one location: a URL of an allowed protocol, or a path under one of roots
// (relative paths are taken from the first root). forWrite allows paths that do not exist yet.
func (p *Policy) open(field, loc string, roots, protocols []string, forWrite bool) (string, error) {
	refuse := func(format string, args ...any) error {
		return &Refused{Field: field, Value: loc, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(loc) == "" {
		return "", refuse("empty")
	}
	if strings.ContainsRune(loc, 0) {
		return "", refuse("contains a NUL byte")
	}
	path := loc
	if scheme, rest, ok := strings.Cut(loc, ":"); ok && isScheme(scheme) {
		scheme = strings.ToLower(scheme)
		if !slices.Contains(protocols, scheme) {
			return "", refuse("protocol %q is not allowed on this worker (allowed: %s)", scheme, strings.Join(protocols, ", "))
		}
		if scheme != "file" {
			if u, err := url.Parse(loc); err != nil || u.Host == "" {
				return "", refuse("not a valid %s URL", scheme)
			}
			return loc, nil
		}
		// file:/abs, file:///abs or file:rel, as libav reads them.
		path = strings.TrimPrefix(rest, "//")
		if strings.HasPrefix(rest, "//") && !strings.HasPrefix(path, "/") {
			return "", refuse("file URLs name a local path (file:///path), not a host")
		}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(roots[0], path)
	}
	path = filepath.Clean(path)
	real, err := realPath(path, forWrite)
	if err != nil {
		return "", refuse("%v", err)
	}
	for _, r := range roots {
		if within(real, r) {
			return real, nil
		}
	}
	return "", refuse("outside the worker's allowed folders (%s)", strings.Join(roots, ", "))
}

// realPath resolves symlinks in path; for a path that does not exist yet (an output), in its
// deepest existing ancestor, so a link cannot lead a write out of a root.
func realPath(path string, forWrite bool) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if !forWrite {
		return "", errors.New("no such file")
	}
	dir, rest := path, ""
	for {
		parent := filepath.Dir(dir)
		rest = filepath.Join(filepath.Base(dir), rest)
		if parent == dir {
			return "", errors.New("no existing folder above it")
		}
		dir = parent
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest), nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
}

func within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// isScheme reports whether s looks like a URL scheme (so "C:" drive letters and plain names
// with colons in later path parts are not taken for one).
func isScheme(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
