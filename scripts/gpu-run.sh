#!/usr/bin/env bash
# gpu-run.sh: runs the GPU checks from a bundle made by scripts/gpu-bundle.sh, on a machine
# with an NVIDIA driver and nothing else. Logs go to $OUT (or a temporary directory); the
# last screen is a summary. Exit status: 0 when every step passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FFMPEG_PREFIX=${FFMPEG_PREFIX:-/opt/ffrtmp/ffmpeg-7.1}

# The binaries look for libav under the prefix they were built against (rpath).
if [ ! -e "$FFMPEG_PREFIX/lib/libavcodec.so" ]; then
  mkdir -p "$FFMPEG_PREFIX"
  rm -rf "$FFMPEG_PREFIX/lib" "$FFMPEG_PREFIX/bin"
  ln -s "$here/lib" "$FFMPEG_PREFIX/lib"
  ln -s "$here/bin" "$FFMPEG_PREFIX/bin"
fi
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FFRTMP_FFMPEG_PREFIX="$FFMPEG_PREFIX"
chmod +x "$here"/bin/* "$here"/test/* 2>/dev/null

out=${OUT:-$(mktemp -d)}
declare -a summary
status=0
step() { # step NAME COMMAND...: run, keep its log, note pass or fail
  local name=$1; shift
  local log="$out/$name.log"
  if "$@" >"$log" 2>&1; then
    summary+=("PASS  $name")
  else
    summary+=("FAIL  $name (see $name.log)")
    status=1
  fi
}

step nvidia-smi nvidia-smi
step driver-libs bash -c 'ldconfig -p | grep -E "libcuda\.so|libnvcuvid|libnvidia-encode|libnvidia-ml"'
step hw "$here/bin/ffrtmp" hw
step hw-json "$here/bin/ffrtmp" hw -o json
step nvml-tests "$here/test/hw.test" -test.count=1 -test.v -test.run NVML
step engine-gpu-tests bash -c "cd '$here/test' && ./engine.test -test.count=1 -test.v -test.run 'CUDA|NVENC'"
step make-source "$here/bin/ffmpeg" -hide_banner -loglevel error -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=2 \
  -c:v libx264 -preset ultrafast -y /tmp/gpu-run-src.mp4
step ffmpeg-cuda-scale "$here/bin/ffmpeg" -hide_banner -loglevel warning -hwaccel cuda -hwaccel_output_format cuda \
  -i /tmp/gpu-run-src.mp4 -vf scale_cuda=1280:720 -f null -

# The bench harness with NVML sampling (no density: a short check, not a measurement).
step bench "$here/bin/ffrtmp" bench --quick --density=false --out "$out/bench"

echo "== nvidia-smi"; head -20 "$out/nvidia-smi.log"
echo "== driver libs"; cat "$out/driver-libs.log"
echo "== ffrtmp hw"; cat "$out/hw.log"
echo "== GPU test lines"
grep -hE '^(=== RUN|--- (PASS|FAIL|SKIP)|\s+\S+_test\.go:[0-9]+:)' "$out/nvml-tests.log" "$out/engine-gpu-tests.log" 2>/dev/null | cut -c1-400 | head -60
echo "== bench"; tail -25 "$out/bench.log"
echo "== summary (logs in $out)"
printf '%s\n' "${summary[@]}"
exit $status
