package mastercmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCmd is `ffrtmp-master healthcheck`: the container image's HEALTHCHECK, which
// has no shell or curl on a distroless base.
func healthcheckCmd() *cobra.Command {
	var rawURL, ca string
	var timeout time.Duration
	var insecure bool
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when a master answers GET /healthz with 200 (a container's health check)",
		Long: `healthcheck asks a master's /healthz (no API key needed) and exits 0 when it answers 200,
1 otherwise, saying why on stderr. The master's container image runs it as its HEALTHCHECK.
For a master serving TLS give https:// and the CA that signed its certificate (--ca), or
--insecure-skip-verify for a self-signed one on the same machine.`,
		Example: `  ffrtmp-master healthcheck
  ffrtmp-master healthcheck --url https://127.0.0.1:8080/healthz --ca /data/ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return healthcheck(cmd.Context(), rawURL, ca, insecure, timeout)
		},
	}
	c.Flags().StringVar(&rawURL, "url", "http://127.0.0.1:8080/healthz", "the master's health URL")
	c.Flags().StringVar(&ca, "ca", "", "CA file (PEM) that signs the master's certificate")
	c.Flags().BoolVar(&insecure, "insecure-skip-verify", false, "do not verify the master's certificate (a self-signed one on this machine)")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long the master may take to answer")
	return c
}

func healthcheck(ctx context.Context, rawURL, ca string, insecure bool, timeout time.Duration) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want http(s)://host:port/healthz", rawURL)
	}
	if timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // the operator asked, for a self-signed certificate
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca %s: no PEM certificate in it", ca)
		}
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", u.Redacted(), resp.Status)
	}
	return nil
}
