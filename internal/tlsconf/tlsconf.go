// Package tlsconf builds the TLS configurations of the master (TLS, mTLS, self-signed) and of its clients.
package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Options is the master's TLS configuration, as given by its flags.
type Options struct {
	// Enabled (--tls) turns TLS on; without CertFile it serves a self-signed certificate.
	Enabled bool
	// CertFile and KeyFile (--cert, --key) are a PEM certificate (chain) and its key. They
	// are re-read when either file changes, so a renewed certificate needs no restart.
	CertFile, KeyFile string
	// CAFile (--ca) holds the CAs that sign client certificates. Without MTLS a client
	// certificate is optional but verified when sent.
	CAFile string
	// MTLS (--mtls) refuses, at the handshake, every client without a certificate signed
	// by a CA of CAFile.
	MTLS bool
	// SelfSignedDir keeps the self-signed certificate (tls-cert.pem, tls-key.pem) across
	// restarts, so clients that trust it keep trusting it. Empty: a new one every start.
	SelfSignedDir string
	// Hosts are the names and addresses of the self-signed certificate; default localhost,
	// 127.0.0.1, ::1 and the machine's hostname.
	Hosts []string
}

// Server returns the master's TLS configuration, or nil and no error when TLS is off
// (neither Enabled nor a certificate given).
func Server(opts Options, log *slog.Logger) (*tls.Config, error) {
	if log == nil {
		log = slog.Default()
	}
	haveCert := opts.CertFile != "" || opts.KeyFile != ""
	switch {
	case !opts.Enabled && !haveCert && opts.MTLS:
		return nil, errors.New("--mtls needs TLS: add --tls, or --cert and --key")
	case !opts.Enabled && !haveCert && opts.CAFile != "":
		return nil, fmt.Errorf("--ca %s needs TLS: add --tls, or --cert and --key", opts.CAFile)
	case !opts.Enabled && !haveCert:
		return nil, nil
	case opts.CertFile != "" && opts.KeyFile == "":
		return nil, fmt.Errorf("--cert %s given without --key: give the certificate's private key too", opts.CertFile)
	case opts.KeyFile != "" && opts.CertFile == "":
		return nil, fmt.Errorf("--key %s given without --cert: give the certificate too", opts.KeyFile)
	case opts.MTLS && opts.CAFile == "":
		return nil, errors.New("--mtls needs --ca: the CA certificate(s) that sign worker and client certificates")
	}

	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var leaf *x509.Certificate
	if haveCert {
		kp, err := loadKeyPair(opts.CertFile, opts.KeyFile, log)
		if err != nil {
			return nil, err
		}
		cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get(), nil }
		leaf = kp.get().Leaf
	} else {
		cert, err := selfSigned(opts.SelfSignedDir, opts.Hosts, log)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
		leaf = cert.Leaf
	}

	clientAuth := "none"
	if opts.CAFile != "" {
		pool, err := loadPool(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		clientAuth = "verified if given"
		if opts.MTLS {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			clientAuth = "required"
		}
	}
	log.Info("TLS enabled", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter,
		"sha256", Fingerprint(leaf), "client_certificates", clientAuth)
	if left := time.Until(leaf.NotAfter); haveCert && left < renewBefore {
		log.Warn("TLS certificate expires soon; replace the files, the master picks them up without a restart",
			"cert", opts.CertFile, "not_after", leaf.NotAfter)
	}
	return cfg, nil
}

// Client returns the TLS configuration of a client of the master (the Go API client, the
// worker): caFile (--ca) replaces the system roots when given; certFile and keyFile (--cert,
// --key) are the client certificate for mTLS, re-read when they change.
func Client(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := loadPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile == "":
		return nil, fmt.Errorf("--cert %s given without --key: give the certificate's private key too", certFile)
	case keyFile != "" && certFile == "":
		return nil, fmt.Errorf("--key %s given without --cert: give the certificate too", keyFile)
	case certFile != "":
		kp, err := loadKeyPair(certFile, keyFile, slog.Default())
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get(), nil }
	}
	return cfg, nil
}

// NotAfter returns when the certificate cfg serves expires: the current one, after any reload
// of its files. ok is false for a nil cfg or one without a certificate.
func NotAfter(cfg *tls.Config) (t time.Time, ok bool) {
	if cfg == nil {
		return time.Time{}, false
	}
	var cert *tls.Certificate
	switch {
	case cfg.GetCertificate != nil:
		cert, _ = cfg.GetCertificate(&tls.ClientHelloInfo{})
	case len(cfg.Certificates) > 0:
		cert = &cfg.Certificates[0]
	}
	if cert == nil || cert.Leaf == nil {
		return time.Time{}, false
	}
	return cert.Leaf.NotAfter, true
}

// ClientNotAfter returns when the client certificate cfg presents expires; ok is false for a
// nil cfg or one without a client certificate.
func ClientNotAfter(cfg *tls.Config) (t time.Time, ok bool) {
	if cfg == nil || cfg.GetClientCertificate == nil {
		return time.Time{}, false
	}
	cert, err := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || cert == nil || cert.Leaf == nil {
		return time.Time{}, false
	}
	return cert.Leaf.NotAfter, true
}

// loadPool reads a PEM file of CA certificates.
func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificates", path)
	}
	return pool, nil
}

// Fingerprint returns the SHA-256 of cert's DER encoding as colon-separated upper-case
// hex, the form `openssl x509 -noout -fingerprint -sha256` prints.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}
