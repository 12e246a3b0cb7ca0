#!/usr/bin/env bash
# tests/deploy/lib/image-run.sh ROOTFS DATADIR [VAR=VALUE...] -- CMD [ARG...]
#
# Runs CMD from an unpacked container root filesystem the way a hardened
# Kubernetes pod would (readOnlyRootFilesystem, runAsNonRoot), without a
# container runtime (this sandbox refuses `podman run`): in a private mount
# namespace, ROOTFS is bind-mounted read-only, DATADIR (a host directory, the
# "volume") on /var/lib/tixin, a tmpfs on /tmp, proc on /proc and a minimal
# /dev; then chroot as uid/gid 10001 into /var/lib/tixin with only the
# environment given (the caller passes the image's ENV, then overrides).
# The command becomes the direct child of `unshare`, so its pid is
# /proc/<unshare pid>/task/<unshare pid>/children and signals reach it
# directly; unshare exits with its status.
set -euo pipefail
rootfs=$1 data=$2; shift 2
envs=()
while [[ $# -gt 0 && $1 != -- ]]; do envs+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
[[ $# -gt 0 ]] || { echo "usage: $0 ROOTFS DATADIR [VAR=VAL...] -- CMD..." >&2; exit 2; }
RUN_UID=${RUN_UID:-10001}

exec unshare --mount --propagation private --fork --kill-child=SIGKILL \
    bash -euo pipefail -c '
    rootfs=$1 data=$2 uid=$3; shift 3
    top=$(mktemp -d /tmp/tixin-imgroot.XXXXXX)
    mount --bind "$rootfs" "$top"
    mount -o remount,bind,ro "$top"
    mount --bind "$data" "$top/var/lib/tixin"
    mount -t tmpfs -o mode=1777,size=64m tmpfs "$top/tmp"
    mount -t proc proc "$top/proc"
    mount -t tmpfs -o mode=0755,size=1m tmpfs "$top/dev"
    for d in null zero random urandom; do
        touch "$top/dev/$d"; mount --bind "/dev/$d" "$top/dev/$d"
    done
    exec chroot --userspec="$uid:$uid" "$top" /usr/bin/env -i -C /var/lib/tixin "$@"
' image-run "$rootfs" "$data" "$RUN_UID" "${envs[@]}" "$@"
