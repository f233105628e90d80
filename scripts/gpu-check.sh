#!/usr/bin/env bash
# gpu-check.sh: the GPU checks in one run, for a machine with an NVIDIA GPU and driver and a
# Go toolchain (a CUDA container, a lent GPU machine): it packs the bundle that
# scripts/gpu-bundle.sh makes and runs its gpu-run.sh (nvidia-smi, ffrtmp hw, the -tags nvidia
# tests of NVML and of NVDEC -> scale_cuda -> NVENC or the software fallback, a quick bench),
# then the default suite of the GPU-facing packages. The last screen is a summary. Exit
# status: 0 when every step passed.
set -uo pipefail
cd "$(dirname "$0")/.."

FFMPEG_PREFIX=${FFMPEG_PREFIX:-/opt/ffrtmp/ffmpeg-7.1}
export PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig"
export CGO_LDFLAGS="-Wl,--disable-new-dtags -Wl,-rpath,$FFMPEG_PREFIX/lib"
export CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"
export FFRTMP_FFMPEG_PREFIX="$FFMPEG_PREFIX"

out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
status=0
if ! scripts/gpu-bundle.sh "$out/bundle" >"$out/bundle.log" 2>&1; then
  echo "FAIL  bundle (see $out/bundle.log)"
  exit 1
fi
OUT="$out" "$out/bundle/gpu-run.sh" || status=1
if go test -count=1 ./hw/ ./engine/ ./worker/... >"$out/default-suite.log" 2>&1; then
  echo "PASS  default-suite"
else
  echo "FAIL  default-suite (see $out/default-suite.log)"
  status=1
fi
exit $status
