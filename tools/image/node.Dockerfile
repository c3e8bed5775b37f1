# A local stand-in for the official Node.js image (node:<version>-bookworm-slim), for builds where no
# registry answers: the local bookworm base plus this machine's Node.js and npm, laid out as the official
# image is (/usr/local/bin/node, /usr/local/lib/node_modules/npm), and the CA bundle NODE_EXTRA_CA_CERTS
# names on this machine, so npm inside a build trusts what this machine trusts. Built by tools/image.sh
# from a context that holds only those files.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
COPY . /
# Empty when this machine names no extra CA bundle (Node.js then adds none).
ARG EXTRA_CA=
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_EXTRA_CA_CERTS=${EXTRA_CA}
RUN node --version && npm --version
CMD ["node"]
