#!/usr/bin/env bash
# tests/deploy/lib/base-image.sh [IMAGE] - make sure podman has IMAGE
# (default localhost/bookworm-base:latest), a Debian bookworm minbase root
# filesystem built from Debian's archive with debootstrap, for building the
# Containerfile where no container registry is reachable (pass it as
# --build-arg BASE=...). The tarball is cached in $TIXIN_DEPLOY_CACHE
# (default /var/cache/tixin-deploy) so that only the first run pays for
# debootstrap (~1 min); later runs import it (~4 s) or find the image.
# The mirror is the one this machine's apt uses (deb.debian.org unless
# DEBIAN_MIRROR says otherwise).
set -euo pipefail
image=${1:-localhost/bookworm-base:latest}
cache=${TIXIN_DEPLOY_CACHE:-/var/cache/tixin-deploy}
arch=$(dpkg --print-architecture)
tarball=$cache/bookworm-minbase-$arch.tar

if podman image exists "$image"; then
    echo "base-image: $image present"; exit 0
fi

mirror=${DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
    mirror=$(grep -hsoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
               /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
             | grep -oE 'https?://[^ ]+' | head -n1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
fi

if [[ ! -s $tarball ]]; then
    mkdir -p "$cache"
    root=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    echo "base-image: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
    # What debian:bookworm-slim also leaves out: package caches, docs.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
           "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
fi
echo "base-image: importing $tarball as $image"
podman import --quiet "$tarball" "$image" >/dev/null
