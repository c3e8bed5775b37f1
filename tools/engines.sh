#!/usr/bin/env bash
# The engine matrix's binaries: Redis 8.0 and Valkey 8.1 as Debian trixie packages them, on a Debian
# machine of any release. Builds once (debootstrap --variant=minbase trixie, then apt-get install inside
# it) into ${HOLDFAST_ENGINE_ROOT:-/var/cache/holdfast/engines}, and makes, per engine, a folder of
# binaries that run from the host as they are: copies whose program interpreter and library path point
# into the trixie root (patchelf), so they need no chroot, no bind mount and no root to run, see every
# path of the host (test folders, the sandbox's --dir) and show in ps and /proc as redis-server.
#
#   tools/engines.sh            build what is missing (idempotent; a second run takes a second)
#   tools/engines.sh --print    print each engine's bin folder and version, build nothing
#   tools/engines.sh --remove   delete the cache
#
# Then: PATH="$(tools/engines.sh --bin redis8):$PATH" redis-server --version, or
# HOLDFAST_TEST_ENGINE=redis8 npx jest ... (harness/engine.ts does the same).
set -euo pipefail

root_dir="${HOLDFAST_ENGINE_ROOT:-/var/cache/holdfast/engines}"
suite=trixie
mirror="${HOLDFAST_DEBIAN_MIRROR:-}"
chroot_dir="$root_dir/$suite"
packages=(redis-server redis-sentinel redis-tools valkey-server valkey-sentinel valkey-tools patchelf)
# Bump when the layout of the bin folders changes, so an older cache is rebuilt.
layout=1

say() { printf 'engines: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# The Debian mirror apt on this machine already uses (deb822 or one-line sources), else deb.debian.org.
host_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  printf '%s' "${uri:-http://deb.debian.org/debian}"
}

bin_dir() { printf '%s/bin/%s' "$root_dir" "$1"; }

print_engines() {
  local e
  for e in redis8 valkey8; do
    if [ -x "$(bin_dir "$e")/redis-server" ]; then
      printf '%s\t%s\t%s\n' "$e" "$(bin_dir "$e")" "$("$(bin_dir "$e")/redis-server" --version | head -n1)"
    else
      printf '%s\t%s\tnot built\n' "$e" "$(bin_dir "$e")"
    fi
  done
}

case "${1:-}" in
  --print) print_engines; exit 0 ;;
  --bin)
    case "${2:-}" in redis8 | valkey8) bin_dir "$2"; echo; exit 0 ;; *) die "--bin takes redis8 or valkey8" ;; esac ;;
  --remove)
    # The root is never a mount point for anything (no bind mounts are made), so a plain rm is safe.
    if grep -qs " $root_dir" /proc/mounts; then die "something is mounted under $root_dir; unmount it first"; fi
    rm -rf "$root_dir"; say "removed $root_dir"; exit 0 ;;
  "") ;;
  *) die "usage: tools/engines.sh [--print | --bin redis8|valkey8 | --remove]" ;;
esac

want="${packages[*]} layout=$layout"
ready() {
  [ "$(cat "$chroot_dir/.holdfast-packages" 2>/dev/null || true)" = "$want" ] &&
    [ -f "$(bin_dir redis8)/.holdfast-ready" ] && [ -f "$(bin_dir valkey8)/.holdfast-ready" ]
}
if ready; then
  print_engines
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "building the engine root needs root (debootstrap, chroot); run it once with sudo"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
mkdir -p "$root_dir"
started=$(date +%s)

# 1. The trixie root: built aside and renamed into place, so an interrupted build never looks finished.
if [ ! -f "$chroot_dir/.holdfast-debootstrap" ]; then
  partial="$root_dir/$suite.partial"
  rm -rf "$partial"
  mirror="${mirror:-$(host_mirror)}"
  say "debootstrap --variant=minbase $suite from $mirror (about 75 s)"
  debootstrap --variant=minbase "$suite" "$partial" "$mirror" >"$root_dir/debootstrap.log" 2>&1 ||
    { tail -n 20 "$root_dir/debootstrap.log" >&2; die "debootstrap failed; its log: $root_dir/debootstrap.log"; }
  touch "$partial/.holdfast-debootstrap"
  rm -rf "$chroot_dir"
  mv "$partial" "$chroot_dir"
fi

# 2. The packages, installed inside it (no service is started: policy-rc.d refuses).
if [ "$(cat "$chroot_dir/.holdfast-packages" 2>/dev/null || true)" != "$want" ]; then
  say "apt-get install ${packages[*]} in the $suite root"
  printf '#!/bin/sh\nexit 101\n' >"$chroot_dir/usr/sbin/policy-rc.d"
  chmod 755 "$chroot_dir/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
  in_root() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
  in_root apt-get update -qq >"$root_dir/apt.log" 2>&1 ||
    { tail -n 20 "$root_dir/apt.log" >&2; die "apt-get update in the $suite root failed; its log: $root_dir/apt.log"; }
  in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >>"$root_dir/apt.log" 2>&1 ||
    { tail -n 20 "$root_dir/apt.log" >&2; die "apt-get install in the $suite root failed; its log: $root_dir/apt.log"; }
  in_root apt-get clean
  printf '%s' "$want" >"$chroot_dir/.holdfast-packages"
  rm -rf "$root_dir/bin"
fi

# 3. Per engine, a bin folder of relocated copies: interpreter and library path inside the root. Redis
#    and Valkey choose their mode by the name they run as (redis-sentinel, redis-check-aof...), so each
#    name is a symlink to the one relocated server binary of its engine.
libs="$chroot_dir/usr/lib/x86_64-linux-gnu:$chroot_dir/lib/x86_64-linux-gnu"
interp=$(chroot "$chroot_dir" /usr/bin/patchelf --print-interpreter /usr/bin/redis-check-rdb)
relocate() { # relocate SRC-in-root DEST
  cp -L "$chroot_dir$1" "$2"
  chroot "$chroot_dir" /usr/bin/patchelf --version >/dev/null
  local tmp="/tmp/holdfast-relocate.$$"
  mkdir -p "$chroot_dir$tmp"
  cp "$2" "$chroot_dir$tmp/bin"
  chroot "$chroot_dir" /usr/bin/patchelf --set-interpreter "$chroot_dir$interp" --force-rpath --set-rpath "$libs" "$tmp/bin"
  cp "$chroot_dir$tmp/bin" "$2"
  rm -rf "${chroot_dir:?}$tmp"
  chmod 755 "$2"
}
make_engine() { # make_engine NAME PREFIX(redis|valkey)
  local dir
  dir=$(bin_dir "$1")
  [ -f "$dir/.holdfast-ready" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  relocate "/usr/bin/$2-check-rdb" "$dir/$2-server.bin"
  relocate "/usr/bin/$2-cli" "$dir/$2-cli"
  local n
  for n in server sentinel check-aof check-rdb; do ln -s "$2-server.bin" "$dir/$2-$n"; done
  if [ "$2" = valkey ]; then
    # Valkey answers to the redis-* names too, as its own install and image provide them.
    for n in server sentinel check-aof check-rdb; do ln -s valkey-server.bin "$dir/redis-$n"; done
    ln -s valkey-cli "$dir/redis-cli"
  fi
  "$dir/$2-server" --version >/dev/null || die "the relocated $2-server does not run"
  touch "$dir/.holdfast-ready"
}
make_engine redis8 redis
make_engine valkey8 valkey

say "ready in $(($(date +%s) - started)) s"
print_engines
