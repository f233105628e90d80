#!/usr/bin/env bash
# build-ffmpeg.sh builds the FFmpeg 7.1.x that ffrtmp links against into a prefix outside the
# checkout, so every clone on the machine (and CI) reuses it.
#
#   scripts/build-ffmpeg.sh            # installs Debian build deps, builds into $FFMPEG_PREFIX
#   FFMPEG_PREFIX=/opt/x scripts/build-ffmpeg.sh
#   FFRTMP_FFMPEG_SOURCE=upstream scripts/build-ffmpeg.sh   # never use Debian trixie
#
# apt downloads into folders owned by _apt, so its sandboxed fetch can write them.
#
# Idempotent: with the prefix already built from the same configuration it checks the
# Debian packages and returns in seconds. Runs as root on a machine with no GPU: the NVIDIA
# parts (nvenc/nvdec/cuvid headers, scale_cuda via clang) are compile-time only.
#
# Source: the upstream release tarball when ffmpeg.org is reachable, otherwise Debian trixie's
# source package of the same 7.1 release (its .orig.tar.xz is the upstream tarball). Either
# way the tree's RELEASE file must say 7.1.x.
#
# Off Debian (the Ubuntu-based CUDA image, Dockerfile.cuda), or with
# FFRTMP_FFMPEG_SOURCE=upstream, trixie is never used: the FFmpeg tarball comes from ffmpeg.org
# only (sha256 checked for 7.1.5) and the ffnvcodec headers from nv-codec-headers' release.
# On Ubuntu the build packages are Ubuntu's (UBUNTU_PACKAGES).
set -euo pipefail

FFMPEG_VERSION=${FFMPEG_VERSION:-7.1.5}
FFMPEG_PREFIX=${FFMPEG_PREFIX:-/opt/ffrtmp/ffmpeg-7.1}
BUILD_DIR=${FFRTMP_FFMPEG_BUILD_DIR:-/var/tmp/ffrtmp-ffmpeg-build}
JOBS=${JOBS:-$(nproc)}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-ffmpeg: %s\n' "$*" >&2; exit 1; }

# Debian packages needed to build and to run the result (the -dev packages pull the runtime
# libraries). clang compiles the CUDA filters (scale_cuda) to PTX; no CUDA toolkit needed.
# The tests also run the real tools the operations kit ships for (deploy/): prometheus and
# promtool (rules, dashboards, service discovery) and systemd-analyze (the service units);
# xmllint checks the DASH manifests against the MPD schema (libxml2-utils); and Debian's own
# ffprobe (package ffmpeg: FFmpeg 5.1, /usr/bin/ffprobe) is a second reader of the engine's
# outputs (engine/readback_test.go). Nothing else runs Debian's ffmpeg or ffprobe: the tests
# and the bench take the prefix's by absolute path, and its libraries (libavcodec59 and so
# on) have other sonames than the prefix's, which the binaries' RPATH finds first. chromium
# runs the console's browser tests (cmd/ffrtmp/console_test.go, driven by chromedp; about
# 20 s to install with --no-install-recommends).
DEB_PACKAGES=(
  build-essential pkgconf nasm clang curl ca-certificates xz-utils dpkg-dev
  libx264-dev libx265-dev libsvtav1enc-dev libvpx-dev libopus-dev libdav1d-dev
  libva-dev libdrm-dev libvpl-dev libgnutls28-dev zlib1g-dev libbz2-dev liblzma-dev
  meson ninja-build xxd
  prometheus systemd libxml2-utils ffmpeg chromium
)

# The same for Ubuntu 24.04 (the CUDA images' base), without the test tools. No dpkg-dev:
# nothing comes from a source package there. build-essential brings make for nv-codec-headers.
UBUNTU_PACKAGES=(
  build-essential pkgconf nasm clang curl ca-certificates xz-utils
  libx264-dev libx265-dev libsvtav1enc-dev libvpx-dev libopus-dev libdav1d-dev
  libva-dev libdrm-dev libvpl-dev libgnutls28-dev zlib1g-dev libbz2-dev liblzma-dev
  meson ninja-build xxd
)

os_id() { sed -n 's/^ID=//p' /etc/os-release 2>/dev/null | tr -d '"' | head -n1; }
OS_ID=$(os_id)
case "${FFRTMP_FFMPEG_SOURCE:-}" in
  debian|upstream) SOURCE=$FFRTMP_FFMPEG_SOURCE ;;
  "") if [ "$OS_ID" = debian ]; then SOURCE=debian; else SOURCE=upstream; fi ;;
  *) die "FFRTMP_FFMPEG_SOURCE=$FFRTMP_FFMPEG_SOURCE: want debian or upstream" ;;
esac
if [ "$OS_ID" = ubuntu ]; then PACKAGES=("${UBUNTU_PACKAGES[@]}"); else PACKAGES=("${DEB_PACKAGES[@]}"); fi

# Upstream pins. The FFmpeg sha256 is that of Debian's ffmpeg_7.1.5.orig.tar.xz, which ships
# with upstream's signature (.asc), so it is byte-identical to ffmpeg.org's tarball. Other
# versions are checked by their RELEASE file only.
FFMPEG_SHA256=${FFMPEG_SHA256:-}
if [ -z "$FFMPEG_SHA256" ] && [ "$FFMPEG_VERSION" = 7.1.5 ]; then
  FFMPEG_SHA256=de668509caf9e35e3cd162473441fdb29538c6d96ed080292b3cf9e6fc5d558f
fi
NVCODEC_VERSION=12.1.14.0
NVCODEC_URL=https://github.com/FFmpeg/nv-codec-headers/releases/download/n$NVCODEC_VERSION/nv-codec-headers-$NVCODEC_VERSION.tar.gz

# Encoders ffrtmp offers, plus the few the ffmpeg/ffprobe programs need for tests and
# side-by-side benchmarks (wrapped_avframe for -f null, rawvideo, pcm). Every decoder,
# demuxer, parser, muxer and filter stays: users bring any input.
ENCODERS=libx264,libx265,libsvtav1,libvpx_vp9,aac,libopus,h264_nvenc,hevc_nvenc,av1_nvenc,h264_qsv,hevc_qsv,av1_qsv,h264_vaapi,hevc_vaapi,wrapped_avframe,rawvideo,pcm_s16le,png,mjpeg

configure_flags() {
  printf '%s\n' \
    --prefix="$FFMPEG_PREFIX" \
    --enable-shared --disable-static \
    --enable-gpl --enable-version3 \
    --disable-doc --disable-ffplay --disable-debug \
    --enable-libx264 --enable-libx265 --enable-libsvtav1 --enable-libvpx --enable-libvmaf \
    --enable-libopus --enable-libdav1d --enable-gnutls \
    --enable-ffnvcodec --enable-nvenc --enable-nvdec --enable-cuvid --enable-cuda-llvm \
    --enable-vaapi --enable-libvpl \
    --disable-encoders --enable-encoder="$ENCODERS" \
    --extra-cflags="-I$FFMPEG_PREFIX/include" \
    "--extra-ldflags=-Wl,--disable-new-dtags,-rpath,$FFMPEG_PREFIX/lib"
}

stamp_value() {
  { echo "script=3"; echo "version=$FFMPEG_VERSION"; echo "vmaf=$VMAF_VERSION"; configure_flags; } | sha256sum | cut -d' ' -f1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "installing Debian packages needs root (run with sudo, or install: ${PACKAGES[*]})"
}

TRIXIE_SOURCES=/etc/apt/sources.list.d/ffrtmp-trixie.sources
TRIXIE_PIN=/etc/apt/preferences.d/ffrtmp-trixie

# trixie is added with pin priority 50: apt never installs or upgrades from it on its own; we
# only take its ffmpeg source package and the arch-independent nvenc headers from it.
ensure_trixie() {
  if [ ! -f "$TRIXIE_SOURCES" ]; then
    need_root
    log "adding Debian trixie (deb-src, pinned low) for the FFmpeg 7.1 source and nvenc headers"
    cat >"$TRIXIE_SOURCES" <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat >"$TRIXIE_PIN" <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 50
PIN
    APT_UPDATED=0
  fi
}

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
}

install_debs() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root
  log "installing Debian packages: ${missing[*]}"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ffnvcodec headers: bookworm's 11.1 lacks what FFmpeg 7.1's nvenc/cuvid want, so take the
# headers-only package of trixie (12.1.x) and unpack it into the prefix.
install_nvcodec_headers() {
  if [ -f "$FFMPEG_PREFIX/lib/pkgconfig/ffnvcodec.pc" ]; then return 0; fi
  if [ "$SOURCE" = upstream ]; then install_nvcodec_headers_upstream; return; fi
  ensure_trixie
  apt_update_once
  local tmp; tmp=$(mktemp -d)
  chown _apt "$tmp" 2>/dev/null || chmod 777 "$tmp"; (cd "$tmp" && apt-get download -qq libffmpeg-nvenc-dev/trixie >/dev/null) ||
    die "could not download libffmpeg-nvenc-dev from trixie"
  dpkg-deb -x "$tmp"/libffmpeg-nvenc-dev_*.deb "$tmp/root"
  local pc; pc=$(find "$tmp/root" -name ffnvcodec.pc | head -n1)
  [ -n "$pc" ] || die "libffmpeg-nvenc-dev has no ffnvcodec.pc"
  mkdir -p "$FFMPEG_PREFIX/include" "$FFMPEG_PREFIX/lib/pkgconfig"
  cp -r "$tmp/root/usr/include/ffnvcodec" "$FFMPEG_PREFIX/include/"
  sed -e "s|^prefix=.*|prefix=$FFMPEG_PREFIX|" -e 's|^includedir=.*|includedir=${prefix}/include/ffnvcodec|' \
    "$pc" >"$FFMPEG_PREFIX/lib/pkgconfig/ffnvcodec.pc"
  log "nvenc headers: $(grep -E '^Version' "$FFMPEG_PREFIX/lib/pkgconfig/ffnvcodec.pc")"
  rm -rf "$tmp"
}

install_nvcodec_headers_upstream() {
  local tmp; tmp=$(mktemp -d)
  curl -fsSL --connect-timeout 10 --max-time 120 -o "$tmp/h.tar.gz" "$NVCODEC_URL" ||
    die "could not download $NVCODEC_URL"
  mkdir -p "$tmp/src"
  tar -xzf "$tmp/h.tar.gz" -C "$tmp/src" --strip-components=1
  make -C "$tmp/src" PREFIX="$FFMPEG_PREFIX" install >/dev/null
  grep -qx "Version: $NVCODEC_VERSION" "$FFMPEG_PREFIX/lib/pkgconfig/ffnvcodec.pc" ||
    die "nv-codec-headers from $NVCODEC_URL is not $NVCODEC_VERSION"
  log "nvenc headers: Version: $NVCODEC_VERSION (upstream)"
  rm -rf "$tmp"
}

fetch_source() {
  local dst=$1 tmp
  tmp=$(mktemp -d)
  local url="https://ffmpeg.org/releases/ffmpeg-$FFMPEG_VERSION.tar.xz"
  if [ "$SOURCE" = upstream ]; then
    curl -fsSL --connect-timeout 10 --max-time 300 -o "$tmp/ffmpeg.tar.xz" "$url" ||
      die "could not download $url (FFRTMP_FFMPEG_SOURCE=upstream: no Debian fallback)"
    if [ -n "$FFMPEG_SHA256" ]; then
      echo "$FFMPEG_SHA256  $tmp/ffmpeg.tar.xz" | sha256sum -c --quiet - ||
        die "$url does not match sha256 $FFMPEG_SHA256"
    fi
    log "downloaded $url"
  elif curl -fsSL --connect-timeout 10 --max-time 300 -o "$tmp/ffmpeg.tar.xz" "$url" 2>/dev/null; then
    log "downloaded $url"
  else
    log "ffmpeg.org not reachable; using Debian trixie's source package"
    ensure_trixie
    apt_update_once
    chown _apt "$tmp" 2>/dev/null || chmod 777 "$tmp"; (cd "$tmp" && apt-get source --download-only -qq ffmpeg/trixie >/dev/null) ||
      die "could not download the ffmpeg source package from trixie"
    mv "$tmp"/ffmpeg_*.orig.tar.xz "$tmp/ffmpeg.tar.xz" ||
      die "trixie's source package has no .orig.tar.xz"
  fi
  rm -rf "$dst"; mkdir -p "$dst"
  tar -xJf "$tmp/ffmpeg.tar.xz" -C "$dst" --strip-components=1
  rm -rf "$tmp"
  local rel; rel=$(cat "$dst/RELEASE" 2>/dev/null || true)
  case "$rel" in
    7.1|7.1.*) log "FFmpeg source $rel" ;;
    *) die "expected FFmpeg 7.1.x, the source says '${rel:-nothing}'" ;;
  esac
}

# libvmaf (VMAF, Netflix) has no Debian 12 or Ubuntu package: its release is vendored in
# third_party/vmaf (the library and the five models it compiles in; see its README.ffrtmp.md)
# and built with meson into the prefix, where FFmpeg's --enable-libvmaf finds it.
VMAF_VERSION=3.0.0
VMAF_SRC=${FFRTMP_VMAF_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/third_party/vmaf}

build_vmaf() {
  if [ -f "$FFMPEG_PREFIX/lib/pkgconfig/libvmaf.pc" ] &&
     grep -qx "Version: $VMAF_VERSION" "$FFMPEG_PREFIX/lib/pkgconfig/libvmaf.pc"; then
    return 0
  fi
  [ -f "$VMAF_SRC/libvmaf/meson.build" ] || die "libvmaf source not found in $VMAF_SRC (FFRTMP_VMAF_SOURCE)"
  grep -q "version : '$VMAF_VERSION'" "$VMAF_SRC/libvmaf/meson.build" ||
    die "$VMAF_SRC is not libvmaf $VMAF_VERSION"
  local b="$BUILD_DIR/vmaf"
  rm -rf "$b"; mkdir -p "$BUILD_DIR"
  log "building libvmaf $VMAF_VERSION (log: $BUILD_DIR/vmaf.out)"
  { meson setup "$b" "$VMAF_SRC/libvmaf" --prefix="$FFMPEG_PREFIX" --libdir=lib \
      --buildtype=release -Ddefault_library=shared -Denable_tests=false -Denable_docs=false \
      -Dbuilt_in_models=true -Denable_float=false \
      "-Dc_link_args=-Wl,--disable-new-dtags,-rpath,$FFMPEG_PREFIX/lib" &&
    ninja -C "$b" -j "$JOBS" && ninja -C "$b" install; } >"$BUILD_DIR/vmaf.out" 2>&1 ||
    { tail -n 30 "$BUILD_DIR/vmaf.out" >&2; die "libvmaf build failed"; }
  rm -rf "$b"
}

main() {
  local want; want=$(stamp_value)
  install_debs
  if [ -f "$FFMPEG_PREFIX/.ffrtmp-stamp" ] && [ "$(cat "$FFMPEG_PREFIX/.ffrtmp-stamp")" = "$want" ] &&
     "$FFMPEG_PREFIX/bin/ffmpeg" -hide_banner -version >/dev/null 2>&1; then
    log "FFmpeg already built in $FFMPEG_PREFIX ($("$FFMPEG_PREFIX/bin/ffmpeg" -version | head -n1 | cut -d' ' -f3))"
    return 0
  fi
  [ -n "${CI_NO_FFMPEG_BUILD:-}" ] && die "FFmpeg prefix $FFMPEG_PREFIX missing and CI_NO_FFMPEG_BUILD is set"
  mkdir -p "$FFMPEG_PREFIX"
  install_nvcodec_headers
  build_vmaf
  local src="$BUILD_DIR/ffmpeg"
  fetch_source "$src"
  cd "$src"
  local flags=(); mapfile -t flags < <(configure_flags)
  log "configuring (log: $src/ffbuild/config.log)"
  PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
    ./configure "${flags[@]}" >"$BUILD_DIR/configure.out" 2>&1 ||
    { tail -n 30 ffbuild/config.log >&2; die "configure failed (see $src/ffbuild/config.log)"; }
  for f in libx264 libx265 libsvtav1 libvpx libvmaf libopus nvenc cuvid cuda_llvm vaapi libvpl; do
    grep -q "^#define CONFIG_$(echo "$f" | tr a-z A-Z) 1" config.h ||
      grep -q "^CONFIG_$(echo "$f" | tr a-z A-Z)=yes" ffbuild/config.mak ||
      die "configure did not enable $f"
  done
  log "building with $JOBS jobs"
  make -j"$JOBS" >"$BUILD_DIR/make.out" 2>&1 || { tail -n 40 "$BUILD_DIR/make.out" >&2; die "make failed"; }
  make install >"$BUILD_DIR/install.out" 2>&1 || { tail -n 20 "$BUILD_DIR/install.out" >&2; die "make install failed"; }
  "$FFMPEG_PREFIX/bin/ffmpeg" -hide_banner -version >/dev/null || die "built ffmpeg does not run"
  echo "$want" >"$FFMPEG_PREFIX/.ffrtmp-stamp"
  rm -rf "$src"
  log "FFmpeg $(cat "$FFMPEG_PREFIX/share/ffmpeg/RELEASE" 2>/dev/null || "$FFMPEG_PREFIX/bin/ffmpeg" -version | head -n1 | cut -d' ' -f3) installed in $FFMPEG_PREFIX"
}

main "$@"
