package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/cmd/internal/config"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/internal/version"
)

// Where the CLI finds its master, most important first: flags, the environment
// (FFRTMP_MASTER, FFRTMP_API_KEY, ...), the config file (~/.config/ffrtmp/config.yaml, or
// --config / FFRTMP_CONFIG), and last the data folder that `ffrtmp run` keeps in the current
// directory (ffrtmp-data/master-url and ffrtmp-data/api-key).
const (
	envPrefix      = "FFRTMP"
	dataDirName    = "ffrtmp-data"
	apiKeyFile     = "api-key"    // in the data folder, mode 0600
	masterURLFile  = "master-url" // in the data folder
	defaultMaster  = "http://127.0.0.1:8080"
	configFileName = "config.yaml"
)

// clientKeys are the settings of a connection to the master, by flag name; each is also
// FFRTMP_<NAME> in the environment and <name> in the config file.
var clientKeys = []string{"master", "api-key", "ca", "cert", "key"}

// addClientFlags puts the connection flags on a command group (jobs, nodes, presets) and
// binds them, with the environment and config file, into v.
func addClientFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("master", "", "the master's URL; for a cluster, every master's, comma-separated, tried in turn (default: ffrtmp-data/master-url here, else "+defaultMaster+")")
	pf.String("api-key", "", "API key (default: ffrtmp-data/api-key here)")
	pf.String("ca", "", "CA that signs the master's certificate (PEM)")
	pf.String("cert", "", "client certificate for mTLS (PEM)")
	pf.String("key", "", "client key for mTLS (PEM)")
	pf.String("config", "", "config file (default: $XDG_CONFIG_HOME/ffrtmp/config.yaml or ~/.config/ffrtmp/config.yaml)")
	pf.Duration("timeout", 30*time.Second, "how long one request to the master may take")
}

// conn is a resolved connection to the master, with where each part came from, so an error
// can say what to change.
type conn struct {
	Master, MasterFrom string
	APIKey, KeyFrom    string
	Client             *api.Client
}

// configPath is the config file to read: --config, FFRTMP_CONFIG, or the user's default
// (which may not exist). explicit is true when the user named one, which then must exist.
func configPath(cmd *cobra.Command) (path string, explicit bool) {
	if f := cmd.Flags().Lookup("config"); f != nil && f.Value.String() != "" {
		return f.Value.String(), true
	}
	if p := os.Getenv(envPrefix + "_CONFIG"); p != "" {
		return p, true
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", false
	}
	return filepath.Join(dir, "ffrtmp", configFileName), false
}

// sharedSections are the config file's sections of the commands with settings of their own
// (ffrtmp run, ffrtmp ingest); the connection settings are the file's other keys.
var sharedSections = []string{runConfigPart, ingestConfigPart}

// clientViper resolves the connection settings of cmd in the documented order; file is the
// config file it looked in.
func clientViper(cmd *cobra.Command) (v *viper.Viper, file string, err error) {
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	for _, k := range clientKeys {
		if f := cmd.Flags().Lookup(k); f != nil {
			fs.AddFlag(f)
		}
	}
	path, explicit := configPath(cmd)
	v, err = config.Bind(fs, config.Sources{EnvPrefix: envPrefix, File: path, Optional: !explicit, Others: sharedSections})
	return v, path, err
}

// sectionViper binds the flags cmd defines itself (not those it inherits or passes on),
// envPrefix_<FLAG> in the environment and the ffrtmp config file's section: of the same names.
func sectionViper(cmd *cobra.Command, envPrefix, section string) (*viper.Viper, error) {
	path, explicit := configPath(cmd)
	v, err := config.Bind(cmd.LocalNonPersistentFlags(), config.Sources{EnvPrefix: envPrefix, File: path, Optional: !explicit,
		FileFlag: "config", Section: section})
	if err != nil {
		return nil, usageError{err}
	}
	return v, nil
}

func envName(key string) string { return config.EnvName(envPrefix, key) }

// source says where setting k's value came from.
func source(cmd *cobra.Command, v *viper.Viper, file, k string) string {
	if f := cmd.Flags().Lookup(k); f != nil && f.Changed {
		return "--" + k
	}
	if _, ok := os.LookupEnv(envName(k)); ok {
		return envName(k)
	}
	if file != "" && v.InConfig(k) {
		return file
	}
	return ""
}

// dataDirValue reads one line from the data folder of `ffrtmp run` in the working directory.
func dataDirValue(name string) (string, string) {
	p := filepath.Join(dataDirName, name)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", ""
	}
	return strings.TrimSpace(string(b)), p
}

// connect resolves cmd's connection to the master (or the masters of a cluster) and builds a
// client with opts added. It does not contact the master.
func connect(cmd *cobra.Command, opts ...api.Option) (*conn, error) {
	v, file, err := clientViper(cmd)
	if err != nil {
		return nil, usageError{err}
	}
	c := &conn{Master: v.GetString("master"), MasterFrom: source(cmd, v, file, "master"),
		APIKey: v.GetString("api-key"), KeyFrom: source(cmd, v, file, "api-key")}
	if c.Master == "" {
		if u, p := dataDirValue(masterURLFile); u != "" {
			c.Master, c.MasterFrom = u, p
		} else {
			c.Master, c.MasterFrom = defaultMaster, "the default"
		}
	}
	if c.APIKey == "" {
		if k, p := dataDirValue(apiKeyFile); k != "" {
			c.APIKey, c.KeyFrom = k, p
		}
	}
	if c.APIKey == "" {
		return nil, authError{fmt.Errorf("no API key for the master at %s: set FFRTMP_API_KEY or --api-key, "+
			"or run this in the folder where `ffrtmp run` keeps %s/", c.Master, dataDirName)}
	}
	opts = append([]api.Option{api.WithUserAgent("ffrtmp/" + version.Version)}, opts...)
	if d, _ := cmd.Flags().GetDuration("timeout"); d > 0 {
		opts = append(opts, api.WithTimeout(d))
	}
	ca, cert, key := v.GetString("ca"), v.GetString("cert"), v.GetString("key")
	if ca == "" && strings.Contains(c.Master, "https://") {
		// `ffrtmp run --tls` keeps its self-signed certificate in the data folder.
		if p := filepath.Join(dataDirName, tlsconf.SelfSignedCertFile); fileExists(p) {
			ca = p
		}
	}
	if ca != "" || cert != "" {
		var tc *tls.Config
		if tc, err = tlsconf.Client(ca, cert, key); err != nil {
			return nil, usageError{err}
		}
		opts = append(opts, api.WithTLSConfig(tc))
	}
	if c.Client, err = api.NewClient(c.Master, c.APIKey, opts...); err != nil {
		// err names the bad entry, its credentials redacted; c.Master may hold them.
		return nil, usageError{fmt.Errorf("master (from %s): %w", c.MasterFrom, err)}
	}
	return c, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
