// Package mastercmd is the master's command line, shared by ffrtmp-master and `ffrtmp
// master`: flags, environment and config file (viper), logging, and key helpers.
package mastercmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/cmd/internal/config"
	"github.com/ffrtmp/ffrtmp/cmd/internal/logs"
	"github.com/ffrtmp/ffrtmp/internal/sdnotify"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/backup"
	"github.com/ffrtmp/ffrtmp/master/cluster"
	"github.com/ffrtmp/ffrtmp/master/egress"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// EnvPrefix prefixes the environment variable of every flag: --max-retries is
// FFRTMP_MASTER_MAX_RETRIES. The API key also comes from MASTER_API_KEY.
const EnvPrefix = "FFRTMP_MASTER"

// New returns the master command named use ("ffrtmp-master" or "master").
func New(use string) *cobra.Command {
	var v *viper.Viper // bound before the command runs
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run the ffrtmp master: job API, scheduler and store",
		Long: `The master keeps jobs in a bbolt database, serves the REST API under /v1, hands jobs to
workers that lease them, and exposes Prometheus metrics.

Every flag can also be set in the environment (` + EnvPrefix + `_<FLAG>, e.g. ` + EnvPrefix + `_MAX_RETRIES)
or in a YAML config file (--config) with the flag names as keys. Flags win over the
environment, which wins over the file.`,
		Example: `  ffrtmp-master --port 8080 --db m.db --api-key K
  MASTER_API_KEY=K ffrtmp-master --tls --db /var/lib/ffrtmp/master.db
  ffrtmp-master --cert server.pem --key server-key.pem --ca workers-ca.pem --mtls --keys-file keys.yaml`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := Config(v)
			if err != nil {
				return err
			}
			if path := v.GetString("cpuprofile"); path != "" {
				stop, err := startCPUProfile(path)
				if err != nil {
					return err
				}
				defer stop()
			}
			tuneGC()
			m, err := master.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			// READY=1 once the API serves (on a cluster member: with raft running, leader or
			// not; see doc/operations.md), the watchdog while the API and database answer.
			svc := sdnotify.Service{Ready: m.Serving(), Health: m.Health, Status: m.Status, Logger: cfg.Logger}
			return svc.Run(cmd.Context(), m.Run)
		},
	}
	Flags(cmd.Flags())
	cmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) (err error) {
		v, err = bind(cmd.Flags())
		return err
	}
	cmd.AddCommand(hashKeyCmd(), genKeyCmd(), restoreCmd(), healthcheckCmd())
	return cmd
}

// WebhookAllowUsage is --webhook-allow-cidr's help, the same in ffrtmp-master and ffrtmp run.
const WebhookAllowUsage = "CIDRs (or addresses) webhooks may be sent to although they are loopback, link-local, private or otherwise not public, e.g. 10.1.0.0/16,127.0.0.1; repeat or comma-separate (default: public addresses only)"

// Flags defines the master's flags on fs.
func Flags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML config file (keys are flag names)")
	fs.String("listen", "", "address to bind the API to (empty: all interfaces)")
	fs.Int("port", 8080, "API port")
	fs.String("metrics-addr", ":9090", "Prometheus /metrics listen address; without a host it binds the --listen address (0.0.0.0:9090: every interface; empty: off)")
	fs.String("db", "ffrtmp-master.db", "bbolt database file")
	fs.String("api-key", "", "API key with the admin role (also MASTER_API_KEY)")
	fs.String("keys-file", "", "YAML file of hashed API keys with roles; re-read on SIGHUP")
	fs.Bool("tls", false, "serve HTTPS; without --cert/--key a self-signed pair is generated next to the database")
	fs.String("cert", "", "TLS certificate file (PEM); re-read when it changes")
	fs.String("key", "", "TLS private key file (PEM)")
	fs.String("ca", "", "CA file (PEM) that signs client certificates")
	fs.Bool("mtls", false, "require a client certificate signed by --ca (refused at the handshake otherwise)")
	fs.Float64("rate-limit", 100, "requests per second per client IP (0: off)")
	fs.Int("rate-burst", 200, "burst per client IP")
	fs.StringSlice("trusted-proxies", nil, "CIDRs of reverse proxies whose X-Forwarded-For is believed")
	fs.Int64("max-body", 1<<20, "largest request body in bytes")
	fs.Int("max-conns-per-ip", master.DefaultMaxConnsPerIP, "API connections one client IP may hold open; more are closed at once (0: no cap; --trusted-proxies are not capped)")
	fs.Duration("write-timeout", httpapi.DefaultWriteTimeout, "how long one write of a streamed answer (GET /v1/backup) may wait for a client that stopped reading before it is cut off")
	fs.Duration("session-ttl", auth.DefaultSessionTTL, "how long a console login (POST /v1/session) lasts: the session cookie's Max-Age; 1m..720h")
	fs.String("webhook-secret", "", "HMAC-SHA256 key for webhook signatures (default: generated into <db>.webhook-secret)")
	fs.StringSlice("webhook-allow-cidr", nil, WebhookAllowUsage)
	fs.Int("max-retries", 3, "retries of a job after transient failures")
	fs.Int("max-nodes-per-key", 1000, "nodes one worker API key may register (0: no limit); admin keys are not limited")
	fs.Int("max-queued-jobs", farm.DefaultMaxQueued, "queued (or retrying) jobs the farm holds, all tenants together; a submit past it gets 429 quota_exceeded (0: no cap)")
	fs.Duration("scheduler-interval", 5*time.Second, "how often failure handling runs (offline nodes, stale jobs, backoffs)")
	fs.Duration("heartbeat-timeout", 2*time.Minute, "a node silent this long is offline and its jobs are requeued")
	fs.Duration("batch-stale", 30*time.Minute, "a job without progress this long is requeued")
	fs.Duration("live-stale", 5*time.Minute, "the same for the live queue; also how long a live stream's publisher may send nothing before the stream shows as stale")
	fs.Int("rtmp-port", 1935, "RTMP ingest port for live streams (0: a free port, -1: no ingest); RTMPS with the API's certificate when it serves TLS")
	fs.String("rtmp-listen", "", "address to bind the RTMP ingest to (empty: the --listen address)")
	fs.String("rtmp-host", "", "host publishers are told to push to in a stream's ingest_url (empty: the ingest's listen host, or this machine's name when it listens on every interface); set it behind a load balancer or NAT")
	fs.String("rtmp-relay-host", "", "host workers read live streams from (empty: 127.0.0.1, for workers on this machine; set it when workers run elsewhere)")
	fs.String("ingest-url", "", "public address of standalone ingests (ffrtmp ingest), rtmp://host:port or rtmps://host:port: streams' ingest_url points there, also with --rtmp-port -1")
	fs.Duration("live-grace", 10*time.Second, "how long a live stream stays live after its publisher left; a reconnect within it continues the same job")
	fs.Duration("retry-backoff", 10*time.Second, "first retry delay; doubles per attempt (with jitter) up to 10m")
	fs.Duration("priority-aging", 3*time.Second, "wait that earns a queued job one priority point (0: no aging)")
	fs.Duration("retention", 7*24*time.Hour, "finished jobs older than this are purged (0: keep forever)")
	fs.String("backup-dir", "", "folder the master writes scheduled backups to, ffrtmp-<UTC time>.db.gz each with a .sha256 beside it (empty: no scheduled backups); in a cluster the leader takes them")
	fs.Duration("backup-interval", 6*time.Hour, "time between scheduled backups, counted from the newest one in --backup-dir (at least 1m)")
	fs.Int("backup-keep", 30, "scheduled backups kept in --backup-dir; older ones are deleted (0: keep all)")
	fs.String("node-id", "", "this master's member ID in a cluster of replicated masters (letters, digits, . _ -); with --cluster-addr it turns clustering on")
	fs.String("cluster-addr", "", "host:port this master listens on for the other masters and they dial (raft and member status, mutual TLS)")
	fs.String("cluster-peers", "", "the members a new cluster starts with, ID=HOST:PORT comma-separated, the same on every member (m1=10.0.0.1:7946,m2=...); ignored once the member has cluster state; empty: wait to be added (ffrtmp cluster add)")
	fs.String("cluster-dir", "", "folder of the raft log and snapshots (default: raft/ beside the database)")
	fs.String("cluster-ca", "", "CA file (PEM) of the cluster: masters accept only each other's certificates signed by it (use a CA of its own, not the workers')")
	fs.String("cluster-cert", "", "this master's certificate for the cluster port (default: --cert); valid for client and server auth, with --cluster-addr's host")
	fs.String("cluster-key", "", "the key of --cluster-cert (default: --key)")
	fs.Duration("cluster-timeout", 500*time.Millisecond, "how long members wait for the leader before electing another (raft's heartbeat and election timeouts; a failover takes about two of it); raise it on a slow or distant network")
	fs.Int("cluster-snapshot-threshold", 8192, "replicated entries after which a member snapshots its database and trims the raft log")
	fs.Duration("cluster-snapshot-interval", 2*time.Minute, "how often a member checks whether --cluster-snapshot-threshold entries have come since its last snapshot")
	fs.Bool("insecure", false, "allow a cluster without TLS beyond loopback (only on a network you trust)")
	fs.Bool("tracing-enabled", false, "export OpenTelemetry traces over OTLP/HTTP")
	fs.String("tracing-endpoint", "", "OTLP/HTTP endpoint, host:port or URL (default: OTEL_EXPORTER_OTLP_ENDPOINT or localhost:4318)")
	fs.String("service-name", "ffrtmp-master", "service name in traces")
	fs.Duration("shutdown-timeout", 30*time.Second, "how long running requests get to finish on SIGTERM")
	logs.Flags(fs)
	// For performance work (make bench-master): a CPU profile of the whole run, written when
	// the master stops.
	fs.String("cpuprofile", "", "write a CPU profile of this process to this file")
	_ = fs.MarkHidden("cpuprofile")
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// bind reads the master's flags, FFRTMP_MASTER_* (MASTER_API_KEY for --api-key: bound
// here, it ranks with the environment, above the config file) and the --config file.
func bind(fs *pflag.FlagSet) (*viper.Viper, error) {
	return config.Bind(fs, config.Sources{EnvPrefix: EnvPrefix, ExtraEnv: map[string]string{"api-key": "MASTER_API_KEY"}, FileFlag: "config"})
}

// Config turns the bound flags, environment and file into a master.Config: the values as
// given, then each group checked and mapped to what the master means by it.
func Config(v *viper.Viper) (master.Config, error) {
	log, err := logs.New(v.GetString("log-level"), v.GetString("log-format"), os.Stderr)
	if err != nil {
		return master.Config{}, err
	}
	cfg := configValues(v, log)
	for _, step := range []func(*viper.Viper, *master.Config) error{
		listenConfig, connectionConfig, farmConfig, accessConfig, clusterConfig, backupConfig,
	} {
		if err := step(v, &cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// configValues is the master's configuration as the flags give it, unchecked.
func configValues(v *viper.Viper, log *slog.Logger) master.Config {
	db := v.GetString("db")
	return master.Config{
		Listen: v.GetString("listen"), Port: v.GetInt("port"), MetricsAddr: v.GetString("metrics-addr"), DB: db,
		KeysFile:  v.GetString("keys-file"),
		RateLimit: v.GetFloat64("rate-limit"), RateBurst: v.GetInt("rate-burst"), MaxBody: v.GetInt64("max-body"),
		MaxConnsPerIP: v.GetInt("max-conns-per-ip"), WriteTimeout: v.GetDuration("write-timeout"),
		SessionTTL:    v.GetDuration("session-ttl"),
		WebhookSecret: v.GetString("webhook-secret"),
		TLS: tlsconf.Options{Enabled: v.GetBool("tls"), CertFile: v.GetString("cert"), KeyFile: v.GetString("key"),
			CAFile: v.GetString("ca"), MTLS: v.GetBool("mtls"), SelfSignedDir: filepath.Dir(db)},
		Farm: farm.Config{
			MaxRetries: v.GetInt("max-retries"), NoRetries: v.GetInt("max-retries") == 0,
			Interval: v.GetDuration("scheduler-interval"), HeartbeatTimeout: v.GetDuration("heartbeat-timeout"),
			BatchStale: v.GetDuration("batch-stale"), LiveStale: v.GetDuration("live-stale"),
			RetryBackoff: v.GetDuration("retry-backoff"), Aging: orOff(v.GetDuration("priority-aging")),
			Retention: orOff(v.GetDuration("retention")), MaxNodesPerKey: orNoLimit(v.GetInt("max-nodes-per-key")),
			MaxQueued: v.GetInt("max-queued-jobs"),
		},
		Tracing: v.GetBool("tracing-enabled"), TracingEndpoint: v.GetString("tracing-endpoint"), ServiceName: v.GetString("service-name"),
		ShutdownTimeout: v.GetDuration("shutdown-timeout"),
		Logger:          log,
		RTMPHost:        v.GetString("rtmp-host"),
		RTMPRelayHost:   v.GetString("rtmp-relay-host"),
		LiveGrace:       v.GetDuration("live-grace"),
	}
}

// listenConfig checks the API's port and sets up the RTMP ingest's address and the
// standalone ingests' URL.
func listenConfig(v *viper.Viper, cfg *master.Config) error {
	if u := v.GetString("ingest-url"); u != "" {
		var err error
		if cfg.IngestURL, err = api.CheckRTMPBase(u); err != nil {
			return fmt.Errorf("--ingest-url: %w", err)
		}
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("--port %d: want 0..65535", cfg.Port)
	}
	switch p := v.GetInt("rtmp-port"); {
	case p < -1 || p > 65535:
		return fmt.Errorf("--rtmp-port %d: want 0..65535, or -1 for no RTMP ingest", p)
	case p >= 0:
		host := v.GetString("rtmp-listen")
		if host == "" {
			host = cfg.Listen
		}
		cfg.RTMPListen = net.JoinHostPort(host, strconv.Itoa(p))
	}
	return nil
}

// connectionConfig checks what clients' connections and live publishers may take.
func connectionConfig(_ *viper.Viper, cfg *master.Config) error {
	switch n := cfg.MaxConnsPerIP; {
	case n < 0:
		return fmt.Errorf("--max-conns-per-ip %d: want 0 (no cap) or more", n)
	case n == 0:
		cfg.MaxConnsPerIP = -1 // the master's "no cap"
	}
	if cfg.WriteTimeout <= 0 {
		return errors.New("--write-timeout must be positive")
	}
	if t := cfg.SessionTTL; t < time.Minute || t > 720*time.Hour {
		return fmt.Errorf("--session-ttl %s: want 1m..720h", t)
	}
	if cfg.LiveGrace <= 0 {
		return errors.New("--live-grace must be positive")
	}
	return nil
}

// farmConfig checks the farm's limits and failure handling.
func farmConfig(v *viper.Viper, cfg *master.Config) error {
	if n := v.GetInt("max-nodes-per-key"); n < 0 {
		return fmt.Errorf("--max-nodes-per-key %d: want 0 (no limit) or more", n)
	}
	if r := v.GetInt("max-retries"); r < 0 || r > 20 {
		return fmt.Errorf("--max-retries %d: want 0..20", r)
	}
	switch q := cfg.Farm.MaxQueued; {
	case q < 0:
		return fmt.Errorf("--max-queued-jobs %d: want 0 (no cap) or more", q)
	case q == 0:
		cfg.Farm.MaxQueued = -1 // the farm's zero is its default
	}
	if cfg.Farm.Interval <= 0 {
		return errors.New("--scheduler-interval must be positive")
	}
	return nil
}

// accessConfig sets up the admin key and the networks the master trusts or may send
// webhooks to.
func accessConfig(v *viper.Viper, cfg *master.Config) error {
	if key := v.GetString("api-key"); key != "" {
		cfg.APIKeys = append(cfg.APIKeys, auth.StaticKey("api-key", auth.RoleAdmin, key))
	}
	var err error
	if cfg.WebhookAllow, err = egress.ParseAllow(config.List(v, "webhook-allow-cidr")); err != nil {
		return fmt.Errorf("--webhook-allow-cidr %w", err)
	}
	for _, p := range config.List(v, "trusted-proxies") {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("--trusted-proxies %q: want a CIDR such as 10.0.0.0/8", p)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx)
	}
	return nil
}

// clusterConfig turns --node-id and --cluster-* into the master's cluster membership; with
// neither --node-id nor --cluster-addr the master is a single one.
func clusterConfig(v *viper.Viper, cfg *master.Config) error {
	id, addr := v.GetString("node-id"), v.GetString("cluster-addr")
	peers := v.GetString("cluster-peers")
	if id == "" && addr == "" {
		if peers != "" || v.GetString("cluster-ca") != "" {
			return errors.New("--cluster-peers and --cluster-ca need --node-id and --cluster-addr")
		}
		return nil
	}
	if id == "" || addr == "" {
		return errors.New("a cluster member needs both --node-id and --cluster-addr")
	}
	if err := cluster.ValidID(id); err != nil {
		return fmt.Errorf("--node-id: %w", err)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("--cluster-addr %q: want host:port, the host an address the other masters dial", addr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("--cluster-addr %s: give the address the other masters dial, not a wildcard", addr)
	}
	ps, err := cluster.ParsePeers(peers)
	if err != nil {
		return err
	}
	timeout := v.GetDuration("cluster-timeout")
	if timeout < 100*time.Millisecond || timeout > time.Minute {
		return fmt.Errorf("--cluster-timeout %s: want 100ms..1m", timeout)
	}
	interval := v.GetDuration("cluster-snapshot-interval")
	if interval < 100*time.Millisecond {
		return fmt.Errorf("--cluster-snapshot-interval %s: want 100ms or more", interval)
	}
	snap := v.GetInt("cluster-snapshot-threshold")
	if snap < 16 {
		return fmt.Errorf("--cluster-snapshot-threshold %d: want 16 or more", snap)
	}
	cc := &master.ClusterConfig{NodeID: id, Addr: addr, Peers: ps, Dir: v.GetString("cluster-dir"),
		CAFile: v.GetString("cluster-ca"), CertFile: v.GetString("cluster-cert"), KeyFile: v.GetString("cluster-key"),
		Insecure: v.GetBool("insecure"), HeartbeatTimeout: timeout, ElectionTimeout: timeout, LeaderLeaseTimeout: timeout / 2,
		SnapshotThreshold: uint64(snap), TrailingLogs: uint64(snap), SnapshotInterval: interval}
	if cc.CertFile == "" {
		cc.CertFile = cfg.TLS.CertFile
	}
	if cc.KeyFile == "" {
		cc.KeyFile = cfg.TLS.KeyFile
	}
	cfg.Cluster = cc
	return nil
}

// backupConfig checks the scheduled backups' flags; the master checks the folder when it
// starts.
func backupConfig(v *viper.Viper, cfg *master.Config) error {
	dir, interval, keep := v.GetString("backup-dir"), v.GetDuration("backup-interval"), v.GetInt("backup-keep")
	if dir == "" {
		return nil
	}
	if interval < backup.MinInterval {
		return fmt.Errorf("--backup-interval %s: want %s or more", interval, backup.MinInterval)
	}
	if keep < 0 {
		return fmt.Errorf("--backup-keep %d: want 0 (keep all) or more", keep)
	}
	cfg.Backup = &master.BackupConfig{Dir: dir, Interval: interval, Keep: keep}
	return nil
}

// orNoLimit maps a flag's 0 ("no limit") to the farm's -1 (its 0 is "the default").
func orNoLimit(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// orOff maps a flag's 0 ("off") to the farm's negative "off".
func orOff(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func restoreCmd() *cobra.Command {
	var from, db string
	var force bool
	c := &cobra.Command{
		Use:   "restore --from BACKUP --db FILE",
		Short: "Put a backup in place of a stopped master's database, verified first",
		Long: `restore verifies a backup and puts it in place of --db, whole or not at all. The backup is a
file GET /v1/backup, ffrtmp master backup or the scheduled backups (--backup-dir) wrote,
plain or gzip-compressed (.gz).

Before it touches --db, restore checks, in order: the checksum file beside the backup
(BACKUP.sha256, sha256sum's format; it says when there is none), the compressed stream
(a cut-off or damaged .gz is refused), and the whole database (a master database of this
release or an older one, which the master migrates when it starts; not cut off, every page
readable). Any failure leaves --db as it was.

The master must be stopped: a database a running master holds is refused. An existing
database is replaced only with --force, and kept beside it as FILE.bak-<UTC time>.

This is for a single master. A cluster takes a backup online, on every member at once:
ffrtmp cluster restore BACKUP (a new cluster: start it empty, then restore).`,
		Example: `  ffrtmp-master restore --from /var/backups/ffrtmp/ffrtmp-20250102T030000Z.db.gz --db /var/lib/ffrtmp/master.db --force
  ffrtmp master restore --from backup.db --db m.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || db == "" {
				return errors.New("restore needs --from BACKUP and --db FILE")
			}
			return restore(cmd.OutOrStdout(), from, db, force)
		},
	}
	c.Flags().StringVar(&from, "from", "", "the backup file (.gz: compressed); its checksum file, if any, beside it as BACKUP.sha256")
	c.Flags().StringVar(&db, "db", "", "the database file to put it in place of")
	c.Flags().BoolVar(&force, "force", false, "replace an existing database (kept as FILE.bak-<UTC time>)")
	c.Flags().BoolVar(&force, "replace", false, "replace an existing database")
	_ = c.Flags().MarkDeprecated("replace", "use --force")
	return c
}

// restore verifies the backup at from (checksum, compression, database) and puts it in
// place of the database at db.
func restore(out io.Writer, from, db string, force bool) error {
	if _, err := os.Stat(filepath.Join(filepath.Dir(db), "raft")); err == nil {
		return fmt.Errorf("%s is a cluster member's database (raft/ beside it): restore into a cluster with `ffrtmp cluster restore %s`", db, from)
	}
	dir := filepath.Dir(db)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	plain, chk, cleanup, err := backup.Open(from, dir)
	if err != nil {
		return fmt.Errorf("backup %s refused, %s not touched: %w", from, db, err)
	}
	defer cleanup()
	if err := store.CheckBackup(plain); err != nil {
		return fmt.Errorf("backup %s refused, %s not touched: %w", from, db, err)
	}
	if chk.SumFile != "" {
		fmt.Fprintf(out, "checksum matches %s\n", chk.SumFile)
	} else {
		fmt.Fprintf(out, "no checksum file (%s%s): only the database check vouches for the backup\n", from, backup.SumSuffix)
	}
	r, err := store.Replace(plain, db, force)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%w: add --force to put the backup in its place (the old database is kept as %s.bak-<time>)", err, db)
	}
	if err != nil {
		return err
	}
	if r.Kept != "" {
		fmt.Fprintf(out, "the replaced database is kept as %s\n", r.Kept)
	}
	fmt.Fprintf(out, "restored %s (%d bytes) to %s: start the master\n", from, r.Bytes, db)
	return nil
}

func hashKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-key [KEY]",
		Short: "Print the hash of an API key, as a keys file holds it (reads the key from stdin without an argument)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := ""
			if len(args) == 1 {
				key = args[0]
			} else {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				key = strings.TrimSpace(line)
			}
			if key == "" {
				return errors.New("no key given")
			}
			fmt.Fprintln(cmd.OutOrStdout(), auth.HashKey(key))
			return nil
		},
	}
}

func genKeyCmd() *cobra.Command {
	var name, role string
	c := &cobra.Command{
		Use:   "gen-key",
		Short: "Generate an API key and print it with the keys-file entry that admits it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !auth.Role(role).Valid() {
				return fmt.Errorf("--role %q: want %s", role, auth.RoleNames)
			}
			key, err := auth.Mint(auth.KeyPrefix)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "# API key (shown once; give it to the client):\n# %s\n", key)
			fmt.Fprintf(out, "# keys file entry:\n  - name: %s\n    role: %s\n    sha256: %s\n", name, role, strings.TrimPrefix(auth.HashKey(key), "sha256:"))
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "client", "name of the key (shown in logs and events)")
	c.Flags().StringVar(&role, "role", "submitter", auth.RoleNames)
	return c
}

// tuneGC collects garbage less often than Go's default unless GOGC is set: the master's live
// heap is small (the queues' index, not the jobs, which stay in the mmapped database) and
// nearly all its garbage is request JSON, so GOGC=400 costs tens of MB and cuts the CPU
// the collector takes from the API (measured by make bench-master: lease p99 at 1000/s).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
