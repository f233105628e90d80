package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	// Names of the self-signed pair in Options.SelfSignedDir.
	selfSignedCert = "tls-cert.pem"
	selfSignedKey  = "tls-key.pem"

	selfSignedValidity = 365 * 24 * time.Hour
	// renewBefore: a kept self-signed certificate closer than this to expiry is replaced.
	renewBefore = 30 * 24 * time.Hour
)

// SelfSignedCertFile is the self-signed certificate's name in Options.SelfSignedDir: a client
// of a master that serves it trusts this file (--ca).
const SelfSignedCertFile = selfSignedCert

// defaultHosts are the names a self-signed certificate covers when Options.Hosts is empty.
func defaultHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" && !slices.Contains(hosts, h) {
		hosts = append(hosts, h)
	}
	return hosts
}

// selfSigned returns the certificate kept in dir when it is still good for hosts for more
// than renewBefore, and otherwise makes a new one and keeps it there.
func selfSigned(dir string, hosts []string, log *slog.Logger) (tls.Certificate, error) {
	if len(hosts) == 0 {
		hosts = defaultHosts()
	}
	if dir == "" {
		cert, err := newSelfSigned(hosts, time.Now())
		if err != nil {
			return tls.Certificate{}, err
		}
		log.Warn("TLS with a new self-signed certificate that is not kept: clients must trust it again after every restart; give a directory to keep it, or --cert and --key",
			"sha256", Fingerprint(cert.Leaf))
		return cert, nil
	}

	certPath, keyPath := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	switch {
	case err == nil && cert.Leaf != nil:
		why := unusable(cert.Leaf, hosts, time.Now())
		if why == "" {
			log.Info("TLS with the kept self-signed certificate", "cert", certPath, "sha256", Fingerprint(cert.Leaf))
			return cert, nil
		}
		log.Warn("replacing the self-signed certificate: "+why, "cert", certPath, "old_sha256", Fingerprint(cert.Leaf))
	case errors.Is(err, fs.ErrNotExist):
	default:
		log.Warn("replacing the self-signed certificate: it does not load", "cert", certPath, "err", err)
	}

	cert, err = newSelfSigned(hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := saveSelfSigned(cert, certPath, keyPath); err != nil {
		return tls.Certificate{}, err
	}
	log.Info("TLS with a new self-signed certificate: clients must trust it (--ca "+certPath+") or its fingerprint",
		"cert", certPath, "hosts", hosts, "not_after", cert.Leaf.NotAfter, "sha256", Fingerprint(cert.Leaf))
	return cert, nil
}

// unusable says why a kept certificate must be replaced, or "" when it is good.
func unusable(leaf *x509.Certificate, hosts []string, now time.Time) string {
	if now.Add(renewBefore).After(leaf.NotAfter) {
		return fmt.Sprintf("it expires %s", leaf.NotAfter.Format(time.RFC3339))
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return fmt.Sprintf("it does not cover %s", h)
		}
	}
	return ""
}

func newSelfSigned(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"ffrtmp (self-signed)"}},
		NotBefore:    now.Add(-time.Hour), // some clock skew between master and clients
		NotAfter:     now.Add(selfSignedValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// A CA certificate, so that clients can trust it as their --ca.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// saveSelfSigned writes the pair, each file through a temporary name and a rename so a crash
// never leaves half a file. The key is private to the master's user (0600).
func saveSelfSigned(cert tls.Certificate, certPath, keyPath string) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return fmt.Errorf("self-signed certificate: marshal key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return fmt.Errorf("self-signed certificate: %w", err)
	}
	if err := writeAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("self-signed certificate: %w", err)
	}
	if err := writeAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		return fmt.Errorf("self-signed certificate: %w", err)
	}
	return nil
}

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
