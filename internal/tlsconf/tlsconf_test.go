package tlsconf_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/testpki"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// tlsServer accepts TLS connections on loopback, completes each handshake and answers "ok".
// Every handshake's outcome goes to handshakes.
type tlsServer struct {
	addr       string
	handshakes chan error
}

func startServer(t *testing.T, cfg *tls.Config) *tlsServer {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{addr: ln.Addr().String(), handshakes: make(chan error, 16)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				err := conn.(*tls.Conn).Handshake()
				s.handshakes <- err
				if err == nil {
					_, _ = conn.Write([]byte("ok"))
				}
			})
		}
	})
	return s
}

// serverHandshake returns the outcome of the server's side of the last handshake.
func (s *tlsServer) serverHandshake(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.handshakes:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no handshake within 10s")
		return nil
	}
}

// dial connects, handshakes and reads the server's "ok": with TLS 1.3 a refused client
// certificate shows on the client only at its first read.
func dial(t *testing.T, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return tls.ConnectionState{}, err
	}
	return conn.(*tls.Conn).ConnectionState(), nil
}

func clientConfig(t *testing.T, ca, cert, key string) *tls.Config {
	t.Helper()
	cfg, err := tlsconf.Client(ca, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func serverConfig(t *testing.T, opts tlsconf.Options) *tls.Config {
	t.Helper()
	cfg, err := tlsconf.Server(opts, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		t.Fatal("Server returned no config with TLS on")
	}
	return cfg
}

func fileFingerprint(t *testing.T, certFile string) string {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return tlsconf.Fingerprint(cert)
}

func TestServerOff(t *testing.T) {
	cfg, err := tlsconf.Server(tlsconf.Options{SelfSignedDir: t.TempDir()}, quietLog())
	if cfg != nil || err != nil {
		t.Fatalf("Server with TLS off = %v, %v; want nil, nil", cfg, err)
	}
}

func TestServerCertFiles(t *testing.T) {
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	srv := startServer(t, serverConfig(t, tlsconf.Options{CertFile: cert, KeyFile: key}))

	st, err := dial(t, srv.addr, clientConfig(t, pki.CAFile, "", ""))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if err := srv.serverHandshake(t); err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if got, want := tlsconf.Fingerprint(st.PeerCertificates[0]), fileFingerprint(t, cert); got != want {
		t.Errorf("served certificate %s, want the one of --cert %s", got, want)
	}
	if st.Version < tls.VersionTLS12 {
		t.Errorf("negotiated TLS version %x", st.Version)
	}

	// A client that trusts another CA refuses the master.
	if _, err := dial(t, srv.addr, clientConfig(t, testpki.New(t).CAFile, "", "")); err == nil {
		t.Error("a client trusting another CA accepted the master's certificate")
	}
}

func TestServerRefusesOldTLS(t *testing.T) {
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	srv := startServer(t, serverConfig(t, tlsconf.Options{CertFile: cert, KeyFile: key}))

	old := clientConfig(t, pki.CAFile, "", "")
	old.MinVersion = tls.VersionTLS10
	old.MaxVersion = tls.VersionTLS11
	if _, err := dial(t, srv.addr, old); err == nil {
		t.Fatal("a TLS 1.1 client completed a handshake")
	}
	if err := srv.serverHandshake(t); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("server handshake with a TLS 1.1 client: %v, want a protocol version error", err)
	}
}

func TestSelfSignedKeptAcrossStarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	opts := tlsconf.Options{Enabled: true, SelfSignedDir: dir}
	certFile := filepath.Join(dir, "tls-cert.pem")

	first := startServer(t, serverConfig(t, opts))
	// The kept certificate is what clients are told to trust with --ca.
	st, err := dial(t, first.addr, clientConfig(t, certFile, "", ""))
	if err != nil {
		t.Fatalf("handshake trusting %s: %v", certFile, err)
	}
	fp := tlsconf.Fingerprint(st.PeerCertificates[0])
	leaf := st.PeerCertificates[0]
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("self-signed certificate does not cover %s: %v", h, err)
		}
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 364*24*time.Hour || d > 367*24*time.Hour {
		t.Errorf("self-signed certificate valid for %v, want about a year", d)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", fi, err)
	}

	second := startServer(t, serverConfig(t, opts))
	st, err = dial(t, second.addr, clientConfig(t, certFile, "", ""))
	if err != nil {
		t.Fatalf("handshake after restart: %v", err)
	}
	if got := tlsconf.Fingerprint(st.PeerCertificates[0]); got != fp {
		t.Fatalf("restart served a new certificate %s, want the kept %s", got, fp)
	}
}

func TestSelfSignedHosts(t *testing.T) {
	dir := t.TempDir()
	opts := tlsconf.Options{Enabled: true, SelfSignedDir: dir, Hosts: []string{"master.farm.lan", "10.1.2.3"}}
	srv := startServer(t, serverConfig(t, opts))
	cfg := clientConfig(t, filepath.Join(dir, "tls-cert.pem"), "", "")
	cfg.ServerName = "master.farm.lan"
	st, err := dial(t, srv.addr, cfg)
	if err != nil {
		t.Fatalf("handshake as master.farm.lan: %v", err)
	}
	fp := tlsconf.Fingerprint(st.PeerCertificates[0])
	if err := st.PeerCertificates[0].VerifyHostname("10.1.2.3"); err != nil {
		t.Error(err)
	}

	// Asking for another name replaces the kept certificate.
	opts.Hosts = []string{"other.farm.lan"}
	srv = startServer(t, serverConfig(t, opts))
	cfg = clientConfig(t, filepath.Join(dir, "tls-cert.pem"), "", "")
	cfg.ServerName = "other.farm.lan"
	st, err = dial(t, srv.addr, cfg)
	if err != nil {
		t.Fatalf("handshake as other.farm.lan: %v", err)
	}
	if tlsconf.Fingerprint(st.PeerCertificates[0]) == fp {
		t.Fatal("kept certificate reused though it does not cover the new host")
	}
}

func TestMTLS(t *testing.T) {
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	srv := startServer(t, serverConfig(t, tlsconf.Options{CertFile: cert, KeyFile: key, CAFile: pki.CAFile, MTLS: true}))

	goodCert, goodKey := pki.Client(t, "gpu-01")
	otherCert, otherKey := testpki.New(t).Client(t, "intruder")
	tests := []struct {
		name      string
		cert, key string
		ok        bool
	}{
		{"no client certificate", "", "", false},
		{"certificate of another CA", otherCert, otherKey, false},
		{"valid client certificate", goodCert, goodKey, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, clientErr := dial(t, srv.addr, clientConfig(t, pki.CAFile, tt.cert, tt.key))
			serverErr := srv.serverHandshake(t)
			if tt.ok && (clientErr != nil || serverErr != nil) {
				t.Fatalf("refused: client %v, server %v", clientErr, serverErr)
			}
			if !tt.ok && (clientErr == nil || serverErr == nil) {
				t.Fatalf("accepted: client %v, server %v; want the handshake refused", clientErr, serverErr)
			}
		})
	}
}

// TestMTLSOverHTTP is the worker's path: an HTTP client built by Client talking to a master
// that requires client certificates, and the master seeing who it is.
func TestMTLSOverHTTP(t *testing.T) {
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	clientCert, clientKey := pki.Client(t, "gpu-01")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		TLSConfig: serverConfig(t, tlsconf.Options{CertFile: cert, KeyFile: key, CAFile: pki.CAFile, MTLS: true}),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
		}),
	}
	done := make(chan error, 1)
	go func() { done <- hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { hs.Close(); <-done })

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: clientConfig(t, pki.CAFile, clientCert, clientKey)}}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "gpu-01" {
		t.Fatalf("got %d %q, want 200 gpu-01", resp.StatusCode, body)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes from's content to a temporary name and renames it over to, as
// certificate tools do.
func replaceFile(t *testing.T, from, to string) {
	t.Helper()
	tmp := to + ".new"
	copyFile(t, from, tmp)
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}

func TestRotation(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c1, k1 := pki.Server(t)
	copyFile(t, c1, certFile)
	copyFile(t, k1, keyFile)

	srv := startServer(t, serverConfig(t, tlsconf.Options{CertFile: certFile, KeyFile: keyFile}))
	client := clientConfig(t, pki.CAFile, "", "")
	served := func() string {
		t.Helper()
		st, err := dial(t, srv.addr, client)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if err := srv.serverHandshake(t); err != nil {
			t.Fatalf("server handshake: %v", err)
		}
		return tlsconf.Fingerprint(st.PeerCertificates[0])
	}
	if got, want := served(), fileFingerprint(t, c1); got != want {
		t.Fatalf("served %s, want the first certificate %s", got, want)
	}

	// Renamed over the old files.
	c2, k2 := pki.Server(t)
	replaceFile(t, c2, certFile)
	replaceFile(t, k2, keyFile)
	if got, want := served(), fileFingerprint(t, c2); got != want {
		t.Fatalf("after renaming new files in: served %s, want %s", got, want)
	}

	// Rewritten in place later on (the modification time moves on).
	c3, k3 := pki.Server(t)
	copyFile(t, c3, certFile)
	copyFile(t, k3, keyFile)
	later := time.Now().Add(time.Hour)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := served(), fileFingerprint(t, c3); got != want {
		t.Fatalf("after rewriting the files: served %s, want %s", got, want)
	}

	// Half a rotation (new certificate, old key) keeps the working pair in service, and
	// the pair is picked up once the key follows.
	c4, k4 := pki.Server(t)
	replaceFile(t, c4, certFile)
	if got, want := served(), fileFingerprint(t, c3); got != want {
		t.Fatalf("with a mismatched pair: served %s, want the previous %s", got, want)
	}
	replaceFile(t, k4, keyFile)
	if got, want := served(), fileFingerprint(t, c4); got != want {
		t.Fatalf("after the key followed: served %s, want %s", got, want)
	}
}

func TestServerErrors(t *testing.T) {
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	otherCert, _ := pki.Server(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	noCerts := filepath.Join(dir, "empty-ca.pem")
	if err := os.WriteFile(noCerts, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		opts tlsconf.Options
		want []string
	}{
		{"cert without key", tlsconf.Options{CertFile: cert}, []string{"--cert", cert, "without --key"}},
		{"key without cert", tlsconf.Options{KeyFile: key}, []string{"--key", key, "without --cert"}},
		{"mtls without ca", tlsconf.Options{CertFile: cert, KeyFile: key, MTLS: true}, []string{"--mtls needs --ca"}},
		{"mtls without tls", tlsconf.Options{MTLS: true, CAFile: pki.CAFile}, []string{"--mtls needs TLS"}},
		{"ca without tls", tlsconf.Options{CAFile: pki.CAFile}, []string{"--ca", pki.CAFile, "needs TLS"}},
		{"ca without certificates", tlsconf.Options{CertFile: cert, KeyFile: key, CAFile: noCerts}, []string{"--ca", noCerts, "no PEM certificates"}},
		{"missing ca", tlsconf.Options{CertFile: cert, KeyFile: key, CAFile: missing, MTLS: true}, []string{"--ca", missing}},
		{"missing cert", tlsconf.Options{CertFile: missing, KeyFile: key}, []string{"--cert", missing}},
		{"missing key", tlsconf.Options{CertFile: cert, KeyFile: missing}, []string{"--key", missing}},
		{"key of another certificate", tlsconf.Options{CertFile: otherCert, KeyFile: key}, []string{"--cert", otherCert, "--key", key}},
		{"not a certificate", tlsconf.Options{CertFile: noCerts, KeyFile: key}, []string{"--cert", noCerts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tlsconf.Server(tt.opts, quietLog())
			if err == nil {
				t.Fatalf("Server succeeded (%v), want an error", cfg != nil)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	pki := testpki.New(t)
	cert, key := pki.Client(t, "w")
	noCerts := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(noCerts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		ca, cert, key string
		want          []string
	}{
		{"cert without key", "", cert, "", []string{"--cert", cert, "without --key"}},
		{"key without cert", "", "", key, []string{"--key", key, "without --cert"}},
		{"ca without certificates", noCerts, "", "", []string{"--ca", noCerts, "no PEM certificates"}},
		{"missing cert", "", cert + ".nope", key, []string{"--cert", cert + ".nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tlsconf.Client(tt.ca, tt.cert, tt.key)
			if err == nil {
				t.Fatal("Client succeeded, want an error")
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}

	cfg := clientConfig(t, "", "", "")
	if cfg.MinVersion < tls.VersionTLS12 || cfg.RootCAs != nil {
		t.Errorf("default client config: MinVersion %x, RootCAs %v; want TLS 1.2 and the system roots", cfg.MinVersion, cfg.RootCAs)
	}
}
