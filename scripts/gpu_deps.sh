#!/usr/bin/env bash
# The project's C++ build dependencies as Debian 12 packages, for a GPU
# machine that has the CUDA Toolkit and PyTorch but no apt access (the lent
# H100/H200 machines: nothing outside them can be reached).
#
#   scripts/gpu_deps.sh download [DIR]       on Debian 12: fetch the .debs (about 25 MB)
#                                            into DIR (default .gpu-deps, git-ignored)
#   scripts/gpu_deps.sh unpack DIR PREFIX    on the GPU machine: unpack them under
#                                            PREFIX (never /), fix the paths that
#                                            Debian wrote as absolute
#
# After unpack, point the build at PREFIX/usr (scripts/gpu_check.sh does):
#   CMAKE_PREFIX_PATH=PREFIX/usr  LD_LIBRARY_PATH=PREFIX/usr/lib/x86_64-linux-gnu
#   PATH=PREFIX/usr/bin (protoc, grpc_cpp_plugin)
set -euo pipefail

# The -dev packages scripts/setup.sh installs (less libtorch, BLAS and the
# test-only services), with the runtime libraries they link. libc, libstdc++
# and the toolchain come from the GPU machine's own system.
packages=(
  libabsl-dev libabsl20220623
  libgloo-dev libgloo0 libibverbs1 libnl-3-200 libnl-route-3-200 libhiredis0.14
  libgtest-dev libgmock-dev
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  nlohmann-json3-dev libyaml-cpp-dev libyaml-cpp0.7
  libprotobuf-dev libprotobuf32 libprotobuf-lite32 libprotoc32 protobuf-compiler
  libgrpc++-dev libgrpc-dev libgrpc++1.51 libgrpc29 protobuf-compiler-grpc
  libre2-9 libre2-dev libc-ares2 libc-ares-dev
  libsqlite3-dev libsqlite3-0
  prometheus-cpp-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0
  libprometheus-cpp-push1.0 civetweb libcivetweb1 libcivetweb-dev libcurl4 libcurl4-openssl-dev
  libssl-dev libssl3 zlib1g zlib1g-dev
)

usage() {
  echo "usage: $0 download [DIR] | unpack DIR PREFIX" >&2
  exit 2
}

download() {
  local dir=${1:-.gpu-deps}
  command -v apt-get >/dev/null || { echo "gpu_deps: download needs apt-get (Debian 12)" >&2; exit 1; }
  mkdir -p "$dir"
  (cd "$dir" && apt-get download "${packages[@]}")
  echo "gpu_deps: $(ls "$dir"/*.deb | wc -l) packages, $(du -sh "$dir" | cut -f1) in $dir"
}

# Extracts one .deb's files under $2 without dpkg (the GPU machine may lack it).
extract() {
  local deb=$1 dest=$2
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$deb" "$dest"
    return
  fi
  local member
  member=$(ar t "$deb" | grep '^data\.tar')
  case $member in
    *.xz) ar p "$deb" "$member" | tar -xJ -C "$dest" ;;
    *.zst) ar p "$deb" "$member" | tar --zstd -x -C "$dest" ;;
    *.gz) ar p "$deb" "$member" | tar -xz -C "$dest" ;;
    *) echo "gpu_deps: $deb: unknown payload $member" >&2; exit 1 ;;
  esac
}

unpack() {
  local dir=$1 prefix=$2
  [[ -n $prefix && $prefix != / ]] || { echo "gpu_deps: refusing to unpack into '/'" >&2; exit 1; }
  compgen -G "$dir/*.deb" >/dev/null || { echo "gpu_deps: no .deb files in $dir; run '$0 download $dir' on Debian 12" >&2; exit 1; }
  prefix=$(mkdir -p "$prefix" && cd "$prefix" && pwd)
  for deb in "$dir"/*.deb; do extract "$deb" "$prefix"; done
  # Absolute symlinks (libz.so -> /lib/...) would leave the prefix.
  while IFS= read -r link; do
    local target
    target=$(readlink "$link")
    [[ -e $prefix$target ]] || target=${target/#\/lib\//\/usr\/lib\/}
    ln -sfn "$prefix$target" "$link"
  done < <(find "$prefix" -type l -lname '/*')
  # Debian's Gloo config names /usr/lib/libgloo.so and /usr/include outright.
  sed -i "s#\"/usr/#\"$prefix/usr/#g; s# /usr/# $prefix/usr/#g" "$prefix"/usr/share/cmake/Gloo/*.cmake
  echo "gpu_deps: $(ls "$dir"/*.deb | wc -l) packages unpacked under $prefix/usr"
}

case ${1:-} in
  download) download "${2:-}" ;;
  unpack) [[ $# -eq 3 ]] || usage; unpack "$2" "$3" ;;
  *) usage ;;
esac
