#!/bin/sh
# Mints the secrets deploy/compose.yaml reads, into deploy/compose/secrets/ (never committed):
#   admin.env               MASTER_API_KEY, the master's admin key (for ffrtmp and curl)
#   worker.env              FFMPEG_RTMP_API_KEY, the workers' key (role worker)
#   keys.yaml               the master's --keys-file: the worker and monitor keys' hashes
#   monitor.key             Prometheus's key (role monitor) for GET /v1/sd/prometheus
#   grafana-admin-password  Grafana's admin password
# Keys are ffk_ and 64 hex digits, as `ffrtmp-master gen-key` makes them. An existing
# secrets folder is left alone (remove it to mint new ones). Needs od and sha256sum.
set -eu
dir=${1:-$(dirname "$0")/secrets}
if [ -e "$dir" ]; then
	echo "$dir exists: remove it to mint new secrets" >&2
	exit 1
fi
umask 077
mkdir -p "$dir"
mint() { printf 'ffk_%s' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"; }
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
admin=$(mint)
worker=$(mint)
monitor=$(mint)
printf 'MASTER_API_KEY=%s\n' "$admin" >"$dir/admin.env"
printf 'FFMPEG_RTMP_API_KEY=%s\n' "$worker" >"$dir/worker.env"
printf '%s\n' "$monitor" >"$dir/monitor.key"
od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$dir/grafana-admin-password"
cat >"$dir/keys.yaml" <<KEYS
# Hashed API keys of deploy/compose.yaml's master (the admin key is MASTER_API_KEY).
keys:
  - name: workers
    role: worker
    sha256: $(hash "$worker")
  - name: prometheus
    role: monitor
    sha256: $(hash "$monitor")
KEYS
# The containers run as other users than the one who runs compose: the files the master,
# Prometheus and Grafana read are bind-mounted and must be readable by them. keys.yaml holds
# only hashes; the folder itself stays private.
chmod 0644 "$dir/keys.yaml" "$dir/monitor.key" "$dir/grafana-admin-password"
echo "secrets written to $dir"
