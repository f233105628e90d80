package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// keyPair serves a certificate from files and re-reads them when either changes (new
// modification time, size or inode, which covers rewrites in place, renames over the file
// and Kubernetes' symlink swaps). Until a changed pair loads cleanly, for instance while the
// certificate is written but the key not yet, the previous certificate stays in use.
type keyPair struct {
	certFile, keyFile string
	log               *slog.Logger

	mu                sync.Mutex
	cert              *tls.Certificate
	certStat, keyStat os.FileInfo // of the last load attempt, good or bad
}

func loadKeyPair(certFile, keyFile string, log *slog.Logger) (*keyPair, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile, log: log}
	cs, ks, err := kp.stat()
	if err != nil {
		return nil, err
	}
	cert, err := kp.load()
	if err != nil {
		return nil, err
	}
	kp.cert, kp.certStat, kp.keyStat = cert, cs, ks
	return kp, nil
}

func (kp *keyPair) stat() (cert, key os.FileInfo, err error) {
	if cert, err = os.Stat(kp.certFile); err != nil {
		return nil, nil, fmt.Errorf("--cert: %w", err)
	}
	if key, err = os.Stat(kp.keyFile); err != nil {
		return nil, nil, fmt.Errorf("--key: %w", err)
	}
	return cert, key, nil
}

func (kp *keyPair) load() (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(kp.certFile)
	if err != nil {
		return nil, fmt.Errorf("--cert: %w", err)
	}
	keyPEM, err := os.ReadFile(kp.keyFile)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--cert %s, --key %s: %w", kp.certFile, kp.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("--cert %s: %w", kp.certFile, err)
		}
	}
	return &cert, nil
}

// get returns the current certificate, reloading it first if the files changed. It costs
// two stat calls per handshake.
func (kp *keyPair) get() *tls.Certificate {
	cs, ks, statErr := kp.stat()
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if statErr != nil || (sameFile(kp.certStat, cs) && sameFile(kp.keyStat, ks)) {
		// A file missing for a moment (being replaced) is not a reason to stop serving.
		return kp.cert
	}
	kp.certStat, kp.keyStat = cs, ks
	cert, err := kp.load()
	if err != nil {
		kp.log.Warn("changed TLS certificate not loaded; serving the previous one", "err", err)
		return kp.cert
	}
	kp.cert = cert
	kp.log.Info("TLS certificate reloaded", "cert", kp.certFile, "subject", cert.Leaf.Subject.String(),
		"not_after", cert.Leaf.NotAfter, "sha256", Fingerprint(cert.Leaf))
	return kp.cert
}

func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
