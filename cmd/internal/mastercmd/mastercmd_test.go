package mastercmd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/ffrtmp/ffrtmp/master"
)

// masterConfig parses args as the master's command line does.
func masterConfig(t *testing.T, args ...string) (master.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("master", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	v, err := bind(fs)
	if err != nil {
		return master.Config{}, err
	}
	return Config(v)
}

// TestConnectionAndWriteFlags: --max-conns-per-ip and --write-timeout reach the master's
// config with their defaults, 0 is "no cap", and nonsense names the flag.
func TestConnectionAndWriteFlags(t *testing.T) {
	cfg, err := masterConfig(t)
	if err != nil || cfg.MaxConnsPerIP != master.DefaultMaxConnsPerIP || cfg.WriteTimeout != 30*time.Second {
		t.Fatalf("defaults: max conns %d, write timeout %s, %v", cfg.MaxConnsPerIP, cfg.WriteTimeout, err)
	}
	if cfg.MetricsAddr != ":9090" {
		t.Errorf("metrics address %q, want :9090 (bound on the --listen host by the master)", cfg.MetricsAddr)
	}
	if cfg, err = masterConfig(t, "--max-conns-per-ip", "0", "--write-timeout", "5s"); err != nil || cfg.MaxConnsPerIP >= 0 || cfg.WriteTimeout != 5*time.Second {
		t.Fatalf("--max-conns-per-ip 0 --write-timeout 5s: %d %s %v; want no cap and 5s", cfg.MaxConnsPerIP, cfg.WriteTimeout, err)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"--max-conns-per-ip", "-3"}},
		{[]string{"--write-timeout", "0s"}},
	} {
		if _, err := masterConfig(t, c.args...); err == nil || !strings.Contains(err.Error(), c.args[0]) {
			t.Errorf("%v: error %v, want one naming %s", c.args, err, c.args[0])
		}
	}
	t.Setenv(EnvPrefix+"_MAX_CONNS_PER_IP", "64")
	if cfg, err = masterConfig(t); err != nil || cfg.MaxConnsPerIP != 64 {
		t.Errorf("from the environment: %d %v, want 64", cfg.MaxConnsPerIP, err)
	}
}

// TestConfigFile: the --config file (named by the flag or FFRTMP_MASTER_CONFIG) sets the
// master's flags below the environment, its lists as YAML lists or "a,b", and a key that
// names no flag is refused with its name and the file's.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(dir, "master.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := file("max-retries: 7\nport: 9000\ntrusted-proxies: [10.0.0.0/8, 192.168.0.0/16]\n")
	t.Setenv(EnvPrefix+"_PORT", "9001")
	cfg, err := masterConfig(t, "--config", p)
	if err != nil || cfg.Farm.MaxRetries != 7 || cfg.Port != 9001 || len(cfg.TrustedProxies) != 2 {
		t.Fatalf("from the file: retries %d port %d proxies %v, %v; want 7, 9001 (the environment's), 2 proxies",
			cfg.Farm.MaxRetries, cfg.Port, cfg.TrustedProxies, err)
	}
	t.Setenv(EnvPrefix+"_TRUSTED_PROXIES", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16")
	t.Setenv(EnvPrefix+"_CONFIG", p)
	if cfg, err = masterConfig(t); err != nil || len(cfg.TrustedProxies) != 3 || cfg.Farm.MaxRetries != 7 {
		t.Fatalf("file from %s_CONFIG, proxies from the environment: retries %d proxies %v, %v; want 7 and 3 proxies",
			EnvPrefix, cfg.Farm.MaxRetries, cfg.TrustedProxies, err)
	}
	p = file("port: 0\nmax-retires: 5\n")
	want := fmt.Sprintf(`config %s: unknown key "max-retires" (keys are the flag names, e.g. max-retries)`, p)
	if _, err := masterConfig(t, "--config", p); err == nil || err.Error() != want {
		t.Errorf("unknown key: %v, want %s", err, want)
	}
}
