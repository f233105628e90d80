#!/usr/bin/env bash
# gpu-bundle.sh DIR: packs what the GPU checks need into DIR for a GPU machine that has a
# driver but no Go toolchain, no FFmpeg build and no network (a lent CUDA machine, a bare
# node): the -tags nvidia test binaries, ffrtmp, the FFmpeg prefix's
# libraries and programs, and every shared library they need beyond glibc. On the GPU
# machine, `DIR/gpu-run.sh` runs the checks (see scripts/gpu-check.sh for a machine with Go).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/gpu-bundle.sh DIR}

FFMPEG_PREFIX=${FFMPEG_PREFIX:-/opt/ffrtmp/ffmpeg-7.1}
export PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig"
export CGO_LDFLAGS="-Wl,--disable-new-dtags -Wl,-rpath,$FFMPEG_PREFIX/lib"
export CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"

rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib" "$dir/test"
go build -trimpath -ldflags="-s -w" -o "$dir/bin/" ./cmd/ffrtmp
go test -c -tags nvidia -ldflags="-s -w" -o "$dir/test/hw.test" ./hw/
go test -c -tags nvidia -ldflags="-s -w" -o "$dir/test/engine.test" ./engine/
cp "$FFMPEG_PREFIX"/bin/ffmpeg "$FFMPEG_PREFIX"/bin/ffprobe "$dir/bin/"
cp -a "$FFMPEG_PREFIX"/lib/*.so* "$dir/lib/"

# Every library the binaries load, except the C library's own (the GPU machine has its own,
# and the driver's libcuda/libnvidia-* must come from the driver, never from here).
for f in "$dir"/bin/* "$dir"/test/* "$dir"/lib/*.so*; do
  ldd "$f" 2>/dev/null | awk '/=>/ {print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libresolv.so*|libcuda.so*|libnvidia-*|libnvcuvid*) ;;
    *) [ -e "$dir/lib/$(basename "$lib")" ] || cp -L "$lib" "$dir/lib/" ;;
  esac
done
cp scripts/gpu-run.sh "$dir/"
du -sh "$dir"
