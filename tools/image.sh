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
# kept in the engine as holdfast-local/* images:
#   holdfast-local/debian:bookworm     debootstrap --variant=minbase bookworm from this machine's Debian
#                                      mirror, imported with `docker import`
#   holdfast-local/node:<v>-bookworm   that, plus this machine's Node.js (`command -v node`) and npm
#                                      (`npm root -g`), and the CA bundle NODE_EXTRA_CA_CERTS names (npm
#                                      inside the build reaches the registry through it), laid out as the
#                                      official node image is (/usr/local/bin, /usr/local/lib/node_modules)
#   holdfast-local/redis:<v>-bookworm  Redis of REDIS_IMAGE's version compiled on bookworm from the
#                                      upstream tarball of Debian's source package (tools/image/redis.Dockerfile)
# A local Node base is this machine's Node version, whatever NODE_IMAGE's default is; the build says so.
#
# Environment: HOLDFAST_IMAGE (tag, default holdfast-jobs:dev), HOLDFAST_IMAGE_BASES (auto | registry |
# local; default auto), HOLDFAST_IMAGE_CACHE (default /var/cache/holdfast/images), NODE_IMAGE and
# REDIS_IMAGE (bases to use as they are), HOLDFAST_DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${HOLDFAST_IMAGE:-holdfast-jobs:dev}"
cache="${HOLDFAST_IMAGE_CACHE:-/var/cache/holdfast/images}"
bases="${HOLDFAST_IMAGE_BASES:-auto}"
export DOCKER_BUILDKIT=0 # the engine's own builder: Debian's docker.io has no BuildKit plugin

say() { printf 'image: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
as_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root; run it once with sudo"; }

# The Debian mirror apt on this machine uses (deb822 or one-line sources), else deb.debian.org.
host_mirror() { # host_mirror [security]
  local uri filter=(grep -v security)
  [ "${1:-}" = security ] && filter=(grep security)
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | "${filter[@]}" | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | "${filter[@]}" | head -n1 || true)
  if [ "${1:-}" = security ]; then printf '%s' "${uri:-http://deb.debian.org/debian-security}"
  else printf '%s' "${HOLDFAST_DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"; fi
}

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

# Whether a registry base can be used: present already, or pulled now.
usable() { have_image "$1" || docker pull -q "$1" >/dev/null 2>&1; }

# debootstrap's bookworm tree, kept in the cache; built aside and renamed, so a half-made one never counts.
bookworm_root() {
  local dir="$cache/bookworm"
  [ -f "$dir/.holdfast-debootstrap" ] && return 0
  as_root "debootstrap"
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  local mirror partial="$cache/bookworm.partial"
  mirror=$(host_mirror)
  rm -rf "$partial"
  mkdir -p "$cache"
  say "debootstrap --variant=minbase bookworm from $mirror (about 2 minutes)"
  debootstrap --variant=minbase bookworm "$partial" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed; its log: $cache/debootstrap.log"; }
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
    "$mirror" "$mirror" "$(host_mirror security)" >"$partial/etc/apt/sources.list"
  touch "$partial/.holdfast-debootstrap"
  rm -rf "$dir"
  mv "$partial" "$dir"
}

# `docker import` of the bookworm tree, without what an image needs not (apt's lists, manuals, locales).
import_root() { # import_root TAG
  tar --numeric-owner --exclude=./.holdfast-debootstrap --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' --exclude='./var/cache/apt/*' --exclude='./var/lib/apt/lists/*' \
    --exclude='./usr/share/man/*' --exclude='./usr/share/locale/*' --exclude='./usr/share/info/*' \
    -c -C "$cache/bookworm" . | docker import --change 'CMD ["bash"]' - "$1" >/dev/null
}

local_debian() {
  local image=holdfast-local/debian:bookworm
  have_image "$image" || {
    bookworm_root
    import_root "$image"
    say "made $image"
  }
  printf '%s' "$image"
}

local_node() {
  local version image
  version=$(node --version | sed 's/^v//')
  image="holdfast-local/node:$version-bookworm"
  have_image "$image" && { printf '%s' "$image"; return 0; }
  local debian npm_root context="$cache/node-$version.context" ca="${NODE_EXTRA_CA_CERTS:-}" extra=""
  debian=$(local_debian)
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
  docker build --network host -q -f tools/image/node.Dockerfile --build-arg DEBIAN_IMAGE="$debian" \
    --build-arg EXTRA_CA="$extra" -t "$image" "$context" >/dev/null || die "the Node base did not build"
  rm -rf "$context"
  say "made $image (this machine's Node.js v$version and npm $(npm --version))"
  printf '%s' "$image"
}

local_redis() { # local_redis VERSION
  local image="holdfast-local/redis:$1-bookworm" debian
  have_image "$image" && { printf '%s' "$image"; return 0; }
  debian=$(local_debian)
  say "compiling Redis $1 on bookworm for $image (a few minutes, once)"
  docker build --network host -q -f tools/image/redis.Dockerfile --build-arg DEBIAN_IMAGE="$debian" \
    --build-arg REDIS_VERSION="$1" --build-arg MIRROR="$(host_mirror)" -t "$image" tools/image >&2 ||
    die "the Redis base did not build"
  say "made $image"
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
  docker build --network host -q -f jobs/Dockerfile --build-arg NODE_IMAGE="$node_image" \
    --build-arg REDIS_IMAGE="$redis_image" -t "$tag" . >/dev/null || die "the image did not build"
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
    build
    # The image tests run the set on the image's engine (Redis 8.0 from the engine matrix's root).
    tools/engines.sh >/dev/null
    HOLDFAST_IMAGE="$tag" HOLDFAST_TEST_ENGINE="${HOLDFAST_TEST_ENGINE:-redis8}" \
      HOLDFAST_IMAGE_TEST=1 npx jest --maxWorkers=1 test/image/ "$@" ;;
  *) die "usage: tools/image.sh [build | test | bases]" ;;
esac
