#!/usr/bin/env bash
# The part of CI that runs as a plain user. Run it as root on a clone after
# `npm ci && npm run build`: it installs fuse-overlayfs, opens /dev/fuse as
# most distributions ship it (0666), creates a plain user, and then, as that
# user, runs
#   1. `scratchfs doctor` (for the log),
#   2. the tmpfs, fuse and contract suites inside `scratchfs run` (kernel
#      overlay in a user namespace, with userxattr),
#   3. the fuse and contract suites for fuse-overlayfs and copy without a
#      namespace, as a plain user on a laptop would.
# Nothing is skipped: CI=true turns a missing environment into a failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
user=${SCRATCHFS_TEST_USER:-sfsuser}

if [ "$(id -u)" != 0 ]; then
  echo "ci-rootless.sh: run as root: it installs fuse-overlayfs and creates the user $user" >&2
  exit 1
fi
if [ ! -f "$repo/dist/cli/main.js" ]; then
  echo "ci-rootless.sh: no build in $repo/dist; run: npm ci && npm run build" >&2
  exit 1
fi

if ! command -v fuse-overlayfs >/dev/null || ! command -v fusermount3 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse-overlayfs fuse3
fi
chmod 0666 /dev/fuse
id -u "$user" >/dev/null 2>&1 || useradd --create-home "$user"

# The user works in its own copy of the tree: the clone may sit in a dir
# others cannot read (/root), and Vitest writes its cache next to the tests.
work=$(mktemp -d /tmp/scratchfs-ci-rootless-XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
tar -C "$repo" --exclude=./.git --exclude=./examples --exclude=./bench -cf - . | tar -C "$work" -xf -
chown -R "$user:" "$work"
chmod 0755 "$work"

as_user() {
  runuser -u "$user" -- env -i HOME="/home/$user" USER="$user" PATH="$PATH" CI=true \
    TMPDIR=/tmp "$@"
}
vitest=(node node_modules/vitest/vitest.mjs run)

cd "$work"
echo "== scratchfs doctor as $user"
as_user node dist/cli/main.js doctor

echo "== as $user inside scratchfs run: tmpfs, fuse and contract suites"
as_user node dist/cli/main.js run -- "${vitest[@]}" \
  test/rootless/tmpfs.test.ts test/rootless/fuse.test.ts test/contract

echo "== as $user without a namespace: fuse-overlayfs and copy"
as_user env SCRATCHFS_CONTRACT_BACKENDS=fuse-overlayfs,copy "${vitest[@]}" \
  test/rootless/fuse.test.ts test/contract

echo "== nothing of $user's runs is left mounted"
if grep scratchfs /proc/self/mountinfo; then
  echo "ci-rootless.sh: scratchfs mounts were left behind (above)" >&2
  exit 1
fi
