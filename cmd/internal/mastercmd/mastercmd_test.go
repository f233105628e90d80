package mastercmd

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ffrtmp/ffrtmp/master"
)

// config parses args as the master's command line does.
func config(t *testing.T, args ...string) (master.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("master", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	if err := bind(v, fs); err != nil {
		t.Fatal(err)
	}
	return Config(v)
}

// TestConnectionAndWriteFlags: --max-conns-per-ip and --write-timeout reach the master's
// config with their defaults, 0 is "no cap", and nonsense names the flag.
func TestConnectionAndWriteFlags(t *testing.T) {
	cfg, err := config(t)
	if err != nil || cfg.MaxConnsPerIP != master.DefaultMaxConnsPerIP || cfg.WriteTimeout != 30*time.Second {
		t.Fatalf("defaults: max conns %d, write timeout %s, %v", cfg.MaxConnsPerIP, cfg.WriteTimeout, err)
	}
	if cfg.MetricsAddr != ":9090" {
		t.Errorf("metrics address %q, want :9090 (bound on the --listen host by the master)", cfg.MetricsAddr)
	}
	if cfg, err = config(t, "--max-conns-per-ip", "0", "--write-timeout", "5s"); err != nil || cfg.MaxConnsPerIP >= 0 || cfg.WriteTimeout != 5*time.Second {
		t.Fatalf("--max-conns-per-ip 0 --write-timeout 5s: %d %s %v; want no cap and 5s", cfg.MaxConnsPerIP, cfg.WriteTimeout, err)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"--max-conns-per-ip", "-3"}},
		{[]string{"--write-timeout", "0s"}},
	} {
		if _, err := config(t, c.args...); err == nil || !strings.Contains(err.Error(), c.args[0]) {
			t.Errorf("%v: error %v, want one naming %s", c.args, err, c.args[0])
		}
	}
	t.Setenv(EnvPrefix+"_MAX_CONNS_PER_IP", "64")
	if cfg, err = config(t); err != nil || cfg.MaxConnsPerIP != 64 {
		t.Errorf("from the environment: %d %v, want 64", cfg.MaxConnsPerIP, err)
	}
}
