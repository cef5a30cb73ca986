#!/usr/bin/env bash
# Prints the distribution packages that own the shared libraries the given
# binaries load, one per line. The build stage runs it so that the runtime
# stage installs exactly the run-time libraries, not the -dev packages and
# compilers. Libraries no package owns (libtorch from the PyTorch wheel) are
# copied by the Dockerfile instead. Fails if a library is missing.
set -euo pipefail

if ldd "$@" | grep -q 'not found'; then
  ldd "$@" | grep -B20 'not found' >&2
  echo "runtime-packages: a library above is not found" >&2
  exit 1
fi

ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
  while read -r lib; do
    real=$(readlink -f "$lib")
    # dpkg records one spelling of the path; with a merged /usr, /lib and
    # /usr/lib name the same file.
    for path in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
      if owner=$(dpkg -S "$path" 2>/dev/null); then
        echo "${owner%%:*}"
        break
      fi
    done
  done | sort -u
