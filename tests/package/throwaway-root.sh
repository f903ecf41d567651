#!/usr/bin/env bash
# Runs a command with a throwaway copy of this machine at $THROWAWAY_ROOT: an overlay of /
# whose writes go to memory, mounted in a private mount namespace, so whatever is
# installed there (dpkg -i, maintainer scripts, new users) never reaches the host and is
# gone when the command ends. Needs root and unshare(1).
# Usage: tests/package/throwaway-root.sh COMMAND [ARGS...]
set -euo pipefail
if [ -z "${THROWAWAY_NAMESPACE:-}" ]; then
  unshare -m true 2>/dev/null \
    || { echo "throwaway-root: cannot make a mount namespace (needs root and unshare)" >&2; exit 1; }
  THROWAWAY_NAMESPACE=1 exec unshare -m --propagation private "$0" "$@"
fi
base="$(mktemp -d /run/licentric-throwaway.XXXXXX)"
# Unmounted when the command ends. A process the command left behind that still uses the
# root (a daemon its test started, on a fresh machine once) makes umount fail with
# "busy": the root is then detached (lazy unmount; it goes with that last process) and the
# processes are named, but the command's own result stands.
cleanup() {
  umount -R "$base" 2>/dev/null && { rmdir "$base"; return; }
  echo "throwaway-root: still in use at the end, detached instead; by:" >&2
  grep -l -F "$base" /proc/[0-9]*/maps 2>/dev/null | while read -r maps; do
    pid="${maps#/proc/}"; pid="${pid%/maps}"
    printf '  %s %s\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >&2
  done || true
  umount -R -l "$base" && rmdir "$base"
}
trap cleanup EXIT
mount -t tmpfs tmpfs "$base"
mkdir -p "$base/upper" "$base/work" "$base/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root"
mount --rbind /proc "$base/root/proc"
mount --rbind /dev "$base/root/dev"
mount -t tmpfs tmpfs "$base/root/tmp"
export THROWAWAY_ROOT="$base/root"
"$@"
