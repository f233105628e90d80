#!/usr/bin/env bash
# gpu-check.sh: the GPU checks in one run, for a machine with an NVIDIA GPU and driver (a CUDA
# container, or a lent GPU machine). It builds what it needs, runs the -tags nvidia tests
# (NVML readings, NVDEC -> scale_cuda -> NVENC or the software fallback), prints what really
# opens here (ffrtmp hw), and ends with a one-screen summary. Exit status: 0 when every step
# passed.
set -uo pipefail
cd "$(dirname "$0")/.."

FFMPEG_PREFIX=${FFMPEG_PREFIX:-/opt/ffrtmp/ffmpeg-7.1}
export PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig"
export CGO_LDFLAGS="-Wl,--disable-new-dtags -Wl,-rpath,$FFMPEG_PREFIX/lib"
export CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"
export FFRTMP_FFMPEG_PREFIX="$FFMPEG_PREFIX"

out=${OUT:-$(mktemp -d)}
mkdir -p "$out/bin"
declare -a summary
status=0
step() { # step NAME COMMAND...: run, keep its log, note pass or fail
  local name=$1; shift
  local log="$out/$name.log"
  if "$@" >"$log" 2>&1; then
    summary+=("PASS  $name")
  else
    summary+=("FAIL  $name (see $log)")
    status=1
  fi
}

step nvidia-smi nvidia-smi
step build go build -o "$out/bin/" ./cmd/ffrtmp ./cmd/ffrtmp-worker
step hw "$out/bin/ffrtmp" hw
step hw-json "$out/bin/ffrtmp" hw -o json
step nvml-tests go test -count=1 -tags nvidia -v -run NVML ./hw/
step engine-gpu-tests go test -count=1 -tags nvidia -v -run "CUDA|NVENC" ./engine/
step default-suite go test -count=1 ./hw/ ./engine/ ./worker/...

echo "== ffrtmp hw"
cat "$out/hw.log"
echo
echo "== GPU test lines"
grep -hE '^(=== RUN|--- (PASS|FAIL|SKIP)|\s+\S+_test\.go:[0-9]+:)' "$out/nvml-tests.log" "$out/engine-gpu-tests.log" 2>/dev/null | head -80
echo
echo "== summary (logs in $out)"
printf '%s\n' "${summary[@]}"
exit $status
