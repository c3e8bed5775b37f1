#!/usr/bin/env bash
# Builds the jobs image (jobs/Dockerfile) as holdfast-jobs:dev with a real Docker engine, and tests it.
#
#   tools/image.sh build     (npm run image:build) the image, bases made locally when no registry answers
#   tools/image.sh test      (npm run image:test) build, then run the image as Kubernetes does (test/image/)
#   tools/image.sh bases     print the NODE_IMAGE and REDIS_IMAGE the build would use, making them if needed
#
# The engine: the one at the default socket; when nothing answers there and this runs as root, Debian's
# dockerd is started (--iptables=false --bridge=none --storage-driver=vfs; every container and build
# step uses --network host) and left running, its log in the cache folder.
#
# The bases: jobs/Dockerfile's defaults (NODE_IMAGE, REDIS_IMAGE) when the engine has them or can pull
# them. Otherwise (an air-gapped machine, or HOLDFAST_IMAGE_BASES=local) they are made here, once, and
# kept in the engine as holdfast-local/* images, each one `docker import` (one layer; no build steps,
# which on a vfs engine copy the whole image each) of the engine matrix's Debian trixie root
# (tools/engines.sh, which CI builds first; built here when missing) with a few files laid over it:
#   holdfast-local/node:<v>-trixie    this machine's Node.js (`command -v node`) and npm (`npm root -g`),
#                                     and the CA bundle NODE_EXTRA_CA_CERTS names (npm inside the build
#                                     reaches the registry through it), laid out as the official node
#                                     image is (/usr/local/bin, /usr/local/lib/node_modules)
#   holdfast-local/redis:<v>-trixie   Debian trixie's Redis package (the root has it installed, with the
#                                     libraries it loads) copied to /usr/local/bin, as the official image
#                                     has its binaries; REDIS_IMAGE's version must be trixie's (8.0.2)
# A local Node base is this machine's Node version, whatever NODE_IMAGE's default is; the build says so.
#
# Environment: HOLDFAST_IMAGE (tag, default holdfast-jobs:dev), HOLDFAST_IMAGE_BASES (auto | registry |
# local; default auto), HOLDFAST_IMAGE_CACHE (default /var/cache/holdfast/images), NODE_IMAGE and
# REDIS_IMAGE (bases to use as they are), HOLDFAST_ENGINE_ROOT, HOLDFAST_DEBIAN_MIRROR (tools/engines.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${HOLDFAST_IMAGE:-holdfast-jobs:dev}"
cache="${HOLDFAST_IMAGE_CACHE:-/var/cache/holdfast/images}"
bases="${HOLDFAST_IMAGE_BASES:-auto}"
export DOCKER_BUILDKIT=0 # the engine's own builder: Debian's docker.io has no BuildKit plugin

say() { printf 'image: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
as_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root; run it once with sudo"; }

ensure_engine() {
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null || die "no Docker engine answers and dockerd is missing: apt-get install docker.io"
  as_root "starting dockerd"
  mkdir -p "$cache"
  say "starting dockerd (log: $cache/dockerd.log); it keeps running"
  nohup dockerd --iptables=false --bridge=none --storage-driver=vfs >>"$cache/dockerd.log" 2>&1 &
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -n 20 "$cache/dockerd.log" >&2
  die "dockerd did not answer within 30 s"
}

# A build argument's default in jobs/Dockerfile.
dockerfile_default() { sed -n "s/^ARG $1=//p" jobs/Dockerfile | head -n1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# docker build, its output kept in the cache folder with each line stamped with the seconds since the
# build began (where the time of a cold build goes: bench/RESULTS.md); the last lines shown on failure.
build_image() { # build_image NAME DOCKER-BUILD-ARGS...
  local name="$1" log="$cache/build-$1.log" t0 rc=0
  shift
  mkdir -p "$cache"
  t0=$(date +%s)
  docker build --network host "$@" 2>&1 |
    while IFS= read -r line; do printf '%4d %s\n' "$(($(date +%s) - t0))" "$line"; done >"$log" || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 20 "$log" >&2; return 1; }
  say "built $name in $(($(date +%s) - t0)) s (steps: $log)"
}

# Whether a registry base can be used: present already, or pulled now.
usable() { have_image "$1" || docker pull -q "$1" >/dev/null 2>&1; }

# The local bases' Debian: the engine matrix's trixie root (tools/engines.sh: debootstrap --variant=minbase
# trixie with Debian's Redis 8.0 and Valkey 8.1 packages installed), which CI and the image tests build
# anyway; built here when missing. One debootstrap serves the engine matrix and both bases.
engines_root() {
  local root="${HOLDFAST_ENGINE_ROOT:-/var/cache/holdfast/engines}/trixie"
  if [ ! -f "$root/.holdfast-packages" ]; then
    as_root "building the engine matrix's trixie root"
    tools/engines.sh >/dev/null
  fi
  printf '%s' "$root"
}

# `docker import` of the trixie root and the files of CONTEXT laid over it, as one layer: on a vfs engine
# every build step copies the whole image, an import writes it once. Apt's lists and caches, manuals,
# locales and the root's own markers stay out.
import_base() { # import_base TAG CONTEXT CHANGE...
  local tag="$1" context="$2" root changes=() t0
  shift 2
  for c in "$@"; do changes+=(--change "$c"); done
  root=$(engines_root)
  t0=$(date +%s)
  # The context's entries but its folders that the root has already: an import takes no path twice.
  (cd "$context" && find . -mindepth 1 \( ! -type d -o ! -exec test -d "$root/{}" \; \) -print) \
    >"$context.list"
  tar --numeric-owner --exclude='./.holdfast-*' --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' --exclude='./tmp/*' --exclude='./var/cache/apt/*' --exclude='./var/lib/apt/lists/*' \
    --exclude='./usr/share/man/*' --exclude='./usr/share/locale/*' --exclude='./usr/share/info/*' \
    --exclude='./usr/share/doc/*' --exclude=./etc/resolv.conf --exclude=./etc/hostname \
    -c -C "$root" . -C "$context" --no-recursion -T "$context.list" |
    docker import "${changes[@]}" - "$tag" >/dev/null || die "docker import of $tag failed"
  rm -f "$context.list"
  say "made $tag (docker import: $(($(date +%s) - t0)) s)"
}

# A stand-in for node:<v>-slim: the trixie root plus this machine's Node.js and npm, laid out as the
# official image is (/usr/local/bin/node, /usr/local/lib/node_modules/npm), and the CA bundle
# NODE_EXTRA_CA_CERTS names here, so npm inside a build trusts what this machine trusts.
local_node() {
  local version image
  version=$(node --version | sed 's/^v//')
  image="holdfast-local/node:$version-trixie"
  have_image "$image" && { printf '%s' "$image"; return 0; }
  local npm_root context="$cache/node-$version.context" ca="${NODE_EXTRA_CA_CERTS:-}" extra=""
  npm_root=$(npm root -g)
  [ -d "$npm_root/npm" ] || die "npm is not under $npm_root"
  rm -rf "$context"
  mkdir -p "$context/usr/local/bin" "$context/usr/local/lib/node_modules"
  cp -L "$(command -v node)" "$context/usr/local/bin/node"
  cp -a "$npm_root/npm" "$context/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$context/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$context/usr/local/bin/npx"
  # As in the official Debian images: apt keeps no package caches or downloaded packages in a layer.
  mkdir -p "$context/etc/apt/apt.conf.d"
  printf '%s\n' 'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' \
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };' \
    >"$context/etc/apt/apt.conf.d/docker-clean"
  if [ -n "$ca" ]; then
    [ -f "$ca" ] || die "NODE_EXTRA_CA_CERTS names $ca, which does not exist"
    extra=/usr/local/share/holdfast/extra-ca-certificates.crt
    mkdir -p "$context$(dirname "$extra")"
    cp "$ca" "$context$extra"
  fi
  import_base "$image" "$context" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "ENV NODE_EXTRA_CA_CERTS=$extra" 'CMD ["node"]'
  rm -rf "$context"
  say "$image holds this machine's Node.js v$version and npm $(npm --version)"
  printf '%s' "$image"
}

# A stand-in for redis:<v>: the trixie root with its Debian Redis binaries also in /usr/local/bin, where
# the official image has them and jobs/Dockerfile copies them from. Their shared libraries (jemalloc, lzf,
# atomic, systemd, ssl) are in the root, so in the local Node base too. Debian trixie ships one Redis
# version: REDIS_IMAGE's must be it.
local_redis() { # local_redis VERSION
  local image="holdfast-local/redis:$1-trixie" root have context
  have_image "$image" && { printf '%s' "$image"; return 0; }
  root=$(engines_root)
  have=$(chroot "$root" /usr/bin/redis-server --version | sed -n 's/.* v=\([0-9.]*\) .*/\1/p')
  [ "$have" = "$1" ] || die "REDIS_IMAGE is Redis $1 but Debian trixie packages $have: pass REDIS_IMAGE, an image with Redis $1 in /usr/local/bin"
  context="$cache/redis-$1.context"
  rm -rf "$context"
  mkdir -p "$context/usr/local/bin"
  cp -L "$root/usr/bin/redis-check-rdb" "$context/usr/local/bin/redis-server"
  cp -L "$root/usr/bin/redis-cli" "$context/usr/local/bin/redis-cli"
  import_base "$image" "$context" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'CMD ["redis-server"]'
  rm -rf "$context"
  printf '%s' "$image"
}

# Sets node_image and redis_image.
choose_bases() {
  node_image="${NODE_IMAGE:-$(dockerfile_default NODE_IMAGE)}"
  redis_image="${REDIS_IMAGE:-$(dockerfile_default REDIS_IMAGE)}"
  [ "$(dockerfile_default REDIS_ENGINE)" = redis ] || die "local bases are made for the redis engine only"
  case "$bases" in
    registry) return 0 ;;
    auto)
      if [ -n "${NODE_IMAGE:-}" ] || usable "$node_image"; then :; else node_image=""; fi
      if [ -n "${REDIS_IMAGE:-}" ] || usable "$redis_image"; then :; else redis_image=""; fi ;;
    local) node_image="" redis_image="" ;;
    *) die "HOLDFAST_IMAGE_BASES is auto, registry or local, not $bases" ;;
  esac
  if [ -z "$node_image" ]; then
    say "no registry has $(dockerfile_default NODE_IMAGE): using a local Node base"
    node_image=$(local_node)
  fi
  if [ -z "$redis_image" ]; then
    local version
    version=$(dockerfile_default REDIS_IMAGE | sed -n 's/^redis:\([0-9][0-9.]*\)-bookworm$/\1/p')
    [ -n "$version" ] || die "REDIS_IMAGE $(dockerfile_default REDIS_IMAGE) is not redis:<x.y.z>-bookworm"
    say "no registry has $(dockerfile_default REDIS_IMAGE): using a local Redis $version base"
    redis_image=$(local_redis "$version")
  fi
}

build() {
  ensure_engine
  choose_bases
  local started
  started=$(date +%s)
  say "docker build -f jobs/Dockerfile -t $tag (NODE_IMAGE=$node_image REDIS_IMAGE=$redis_image)"
  build_image jobs -f jobs/Dockerfile --build-arg NODE_IMAGE="$node_image" \
    --build-arg REDIS_IMAGE="$redis_image" -t "$tag" . || die "the image did not build"
  local size node
  size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MiB", $1/1048576}')
  node=$(docker run --rm --network host --entrypoint node "$tag" --version)
  say "built $tag in $(($(date +%s) - started)) s: $size, Node.js $node inside"
}

case "${1:-build}" in
  build) build ;;
  bases) ensure_engine; choose_bases; printf 'NODE_IMAGE=%s\nREDIS_IMAGE=%s\n' "$node_image" "$redis_image" ;;
  test)
    shift || true
    test_started=$(date +%s)
    build
    # The image tests run the set on the image's engine (Redis 8.0 from the engine matrix's root).
    tools/engines.sh >/dev/null
    HOLDFAST_IMAGE="$tag" HOLDFAST_TEST_ENGINE="${HOLDFAST_TEST_ENGINE:-redis8}" \
      HOLDFAST_IMAGE_TEST=1 HOLDFAST_PORT_SLICE=7 npx jest --maxWorkers=1 test/image/ "$@"
    say "image:test took $(($(date +%s) - test_started)) s" ;;
  *) die "usage: tools/image.sh [build | test | bases]" ;;
esac
