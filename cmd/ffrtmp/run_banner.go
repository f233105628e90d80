package main

// What `ffrtmp run` says: where the farm is, how to reach it and what to try first at start,
// and where its state stays when it stops.

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
)

// runBanner is what `ffrtmp run` says at start: where the farm is, how to reach it and what
// to try first.
type runBanner struct {
	s                runSettings
	p                runPaths
	url, key, caFile string
	ingest           string // where publishers push to (the stream key follows); empty: no ingest
	hls              string // the worker's HLS base URL (the stream name follows); empty: none
	fresh            bool   // the key was made now: show it, this once
}

// runIngestURL is the RTMP ingest's URL for publishers on this machine (the stream key
// follows it): the standalone ingests' with --ingest-url, the --rtmp-host's with it; ""
// without an ingest.
func runIngestURL(s runSettings, addr net.Addr) string {
	if u, err := api.CheckRTMPBase(s.ingestURL); err == nil {
		return u + "/" + api.LiveApp + "/"
	}
	ta, ok := addr.(*net.TCPAddr)
	if !ok || ta == nil {
		return ""
	}
	host := "127.0.0.1"
	if ip := ta.IP; s.rtmpHost != "" {
		host = s.rtmpHost
	} else if ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		host = ip.String()
	}
	scheme := "rtmp"
	if s.servesTLS() {
		scheme = "rtmps"
	}
	return fmt.Sprintf("%s://%s/live/", scheme, net.JoinHostPort(host, strconv.Itoa(ta.Port)))
}

func (b runBanner) write(w io.Writer) {
	enc := "software encoders only (--gpu to use GPUs)"
	if b.s.gpu {
		enc = "GPUs and hardware encoders where they open"
	}
	slots := "1 job"
	if b.s.slots > 1 {
		slots = fmt.Sprintf("%d jobs", b.s.slots)
	}
	rel := func(path string) string { return displayPath(b.p.start, path) }
	fmt.Fprintf(w, "ffrtmp farm running: a master and a worker for %s at a time, %s\n", slots, enc)
	fmt.Fprintf(w, "  API      %s\n", b.url)
	fmt.Fprintf(w, "  console  %s/ui/ (log in with the API key)\n", strings.TrimSuffix(b.url, "/"))
	if !isLoopback(b.s.listen) {
		fmt.Fprintf(w, "  network  %s from other machines\n", b.networkURL())
	}
	if b.fresh {
		fmt.Fprintf(w, "  API key  %s\n", b.key)
		fmt.Fprintf(w, "           (admin role; shown only now, kept in %s)\n", rel(b.p.key))
	} else {
		fmt.Fprintf(w, "  API key  in %s (admin role)\n", rel(b.p.key))
	}
	if b.caFile != "" {
		how := "clients pass it as --ca or FFRTMP_CA"
		if b.s.cert == "" {
			how = "the CLI in this folder trusts it; elsewhere --ca or FFRTMP_CA"
		}
		fmt.Fprintf(w, "  TLS      %s (%s)\n", rel(b.caFile), how)
	}
	fmt.Fprintf(w, "  inputs   %s\n", strings.Join(b.p.inputRoots, ", "))
	fmt.Fprintf(w, "  outputs  %s\n", strings.Join(b.p.outputRoots, ", "))
	if b.ingest != "" {
		fmt.Fprintf(w, "  RTMP     %s<stream key>\n", b.ingest)
	}
	if b.hls != "" {
		fmt.Fprintf(w, "  HLS      %s<stream name>/master.m3u8 (while live)\n", b.hls)
	}
	if b.s.metricsAddr != "" {
		fmt.Fprintf(w, "  metrics  http://%s/metrics\n", b.s.metricsAddr)
	}
	fmt.Fprintln(w)
	// The other commands find the farm through ./ffrtmp-data; elsewhere they need telling.
	if b.p.data != filepath.Join(b.p.start, dataDirName) {
		fmt.Fprintln(w, "Point the ffrtmp CLI at this farm:")
		fmt.Fprintf(w, "  export FFRTMP_MASTER=%s FFRTMP_API_KEY=$(cat %s)\n", b.url, shellQuote(b.p.key))
		if b.caFile != "" {
			fmt.Fprintf(w, "  export FFRTMP_CA=%s\n", shellQuote(b.caFile))
		}
		fmt.Fprintln(w, "then try:")
	} else {
		fmt.Fprintln(w, "Try, in this folder:")
	}
	fmt.Fprintf(w, "  ffrtmp jobs submit --scenario 720p30-h264 --output %s --wait\n", rel(filepath.Join(b.p.outputRoots[0], "first.mp4")))
	fmt.Fprintln(w, "  ffrtmp jobs list")
	fmt.Fprintln(w, "  ffrtmp nodes list")
	fmt.Fprintln(w)
	if b.ingest != "" {
		b.writeLive(w, rel)
	}
	fmt.Fprintf(w, "Ctrl-C to stop (running jobs get %v to finish).\n", b.s.drainTimeout)
}

// writeLive says how to go live: create a stream, publish to the ingest with its key.
func (b runBanner) writeLive(w io.Writer, rel func(string) string) {
	cacert := ""
	if b.caFile != "" {
		cacert = " --cacert " + shellQuote(rel(b.caFile))
	}
	fmt.Fprintln(w, "Go live: create a stream (the answer's stream_key is shown only then), publish to it, and")
	fmt.Fprintf(w, "its HLS ladder is written to %s:\n", rel(filepath.Join(b.p.outputRoots[0], "streams", "cam1")))
	fmt.Fprintf(w, "  curl%s -H \"Authorization: Bearer $(cat %s)\" -d '{\"name\":\"cam1\",\"preset\":\"abr-480p\"}' %s/v1/streams\n",
		cacert, shellQuote(rel(b.p.key)), b.url)
	fmt.Fprintf(w, "  ffmpeg -re -i input.mp4 -c:v libx264 -c:a aac -f flv '%s<stream key>'\n", b.ingest)
	if b.hls != "" {
		fmt.Fprintf(w, "  ffplay %scam1/master.m3u8   (the stream's hls_url)\n", b.hls)
	}
	fmt.Fprintln(w)
}

// networkURL is the API's URL as other machines reach it: the --listen address, or this
// machine's name when it listens on all interfaces.
func (b runBanner) networkURL() string {
	scheme, rest, _ := strings.Cut(b.url, "://")
	_, port, _ := net.SplitHostPort(rest)
	host := b.s.listen
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// displayPath shows p relative to dir when it lies inside it.
func displayPath(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
		return r
	}
	return p
}

func shellQuote(s string) string {
	if !strings.ContainsAny(s, " '\"$`\\!*?[]{}()&;|<>~#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeStopped says, once the farm stopped, where its jobs and key stay and how to start it
// again.
func writeStopped(w io.Writer, s runSettings, p runPaths) {
	again := "ffrtmp run"
	if p.data != filepath.Join(p.start, dataDirName) {
		again += " --data-dir " + shellQuote(s.dataDir)
	}
	fmt.Fprintf(w, "stopped; jobs and key stay in %s for the next `%s` here\n", displayPath(p.start, p.data), again)
}
