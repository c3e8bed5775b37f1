# A local stand-in for the official Redis image (redis:<version>-bookworm), for builds where no registry
# answers: Redis compiled on Debian bookworm, as the official image does it, from the upstream source
# tarball Debian ships in its `redis` source package of the same version (fetched with `apt-get source`
# from the Debian mirror, Debian's signatures checked by apt). The binaries land in /usr/local/bin, where
# jobs/Dockerfile copies them from. Built by tools/image.sh; needs `--network host` for apt.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE} AS build
# The release whose source package holds the wanted version (Redis 8.0 is in trixie).
ARG SOURCE_SUITE=trixie
ARG MIRROR=http://deb.debian.org/debian
ARG REDIS_VERSION
RUN test -n "${REDIS_VERSION}" \
 && printf 'deb-src %s %s main\n' "${MIRROR}" "${SOURCE_SUITE}" > /etc/apt/sources.list.d/redis-source.list \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential pkg-config libssl-dev dpkg-dev xz-utils ca-certificates >/dev/null
WORKDIR /src
# Only the pristine upstream tarball (redis_<version>.orig.tar.*) is used, not Debian's patches, which
# switch to Debian's shared jemalloc, Lua and hiredis. A mirror that serves the tarball but not Debian's
# packaging files is enough: the tarball is checked against the SHA-256 of apt's signed source index.
RUN apt-get source --download-only -qq redis || true; \
    orig=$(ls redis_${REDIS_VERSION}.orig.tar.*) \
 && apt-cache showsrc redis | sed -n '/^Checksums-Sha256:/,/^[A-Z]/p' | grep " ${orig}$" \
      | awk '{print $1 "  " $3}' | sha256sum -c - \
 && tar -xf redis_${REDIS_VERSION}.orig.tar.* \
 && cd redis-${REDIS_VERSION} \
 && grep -q "REDIS_VERSION \"${REDIS_VERSION}\"" src/version.h \
 && make -j"$(nproc)" BUILD_TLS=yes USE_SYSTEMD=no >/dev/null \
 && make install PREFIX=/usr/local >/dev/null \
 && /usr/local/bin/redis-server --version

FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libssl3 >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/ /usr/local/bin/
RUN redis-server --version
CMD ["redis-server"]
