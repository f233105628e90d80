package main

// TLS of `ffrtmp run`: the names its self-signed certificate covers, and how the farm's own
// clients (the worker, the demo) trust the certificate the master serves.

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/internal/version"
)

// selfSignedHosts are the names a self-signed certificate of a master listening on listen
// covers: the local ones, the host name and the listen address (every interface's for all).
func selfSignedHosts(listen string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	ip := net.ParseIP(listen)
	if ip != nil && !ip.IsUnspecified() {
		return append(hosts, ip.String())
	}
	if ip == nil && listen != "" {
		return append(hosts, listen)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
			hosts = append(hosts, n.IP.String())
		}
	}
	return hosts
}

// runLocalClient is a client of this process's own master. With TLS it trusts caFile, the
// certificate the master serves; when that does not name the URL's host (a certificate for
// the public name, reached here through 127.0.0.1) it checks the certificate's first name.
func runLocalClient(rawURL, key, caFile string) (*api.Client, error) {
	opts := []api.Option{api.WithUserAgent("ffrtmp-run/" + version.Version)}
	if caFile != "" {
		tc, err := tlsconf.Client(caFile, "", "")
		if err != nil {
			return nil, err
		}
		host := ""
		if u, err := url.Parse(rawURL); err == nil {
			host = u.Hostname()
		}
		if leaf := firstCert(caFile); leaf != nil && leaf.VerifyHostname(host) != nil && len(leaf.DNSNames) > 0 {
			tc.ServerName = leaf.DNSNames[0]
		}
		opts = append(opts, api.WithTLSConfig(tc))
	}
	return api.NewClient(rawURL, key, opts...)
}

// firstCert is the first certificate of a PEM file, or nil.
func firstCert(path string) *x509.Certificate {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil
	}
	return c
}

// caFile is the certificate the farm's own clients trust: --cert, or the self-signed one
// kept in dataDir; "" without TLS.
func (s runSettings) caFile(dataDir string) string {
	switch {
	case !s.servesTLS():
		return ""
	case s.cert != "":
		return s.cert
	}
	return filepath.Join(dataDir, tlsconf.SelfSignedCertFile)
}
