#!/usr/bin/env bash
# Median setup+teardown per view (make, write 10 files, dispose) for every
# backend, upper on disk and on tmpfs, on a golden of a few thousand files.
# Run as root after `npm run build`; the rootless rows run as a plain user.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
user=${SCRATCHFS_TEST_USER:-sfsuser}
views=${VIEWS:-30}
id -u "$user" >/dev/null 2>&1 || useradd --create-home "$user"

base=$(mktemp -d /tmp/scratchfs-measure-XXXXXX)
trap 'rm -rf "$base" /dev/shm/scratchfs-measure-*' EXIT
chmod 0755 "$base"
# 3,000 files in 20 packages of 150, some nesting: a small monorepo's size.
node -e '
  const fs = require("fs"), path = require("path")
  for (let p = 0; p < 20; p++) for (let f = 0; f < 150; f++) {
    const dir = path.join(process.argv[1], `pkg${p}`, f < 100 ? "src" : "test", `d${f % 10}`)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, `file${f}.js`), `export const v${f} = ${"x".repeat(500).length}\n`)
  }
  for (let p = 0; p < 20; p++) fs.writeFileSync(path.join(process.argv[1], `pkg${p}`, "src", "file0.js"), "export {}\n")
' "$base/golden"
chown -R "$user:" "$base/golden"
echo "golden: $(find "$base/golden" -type f | wc -l) files"

measure() { node "$repo/scripts/measure-view.mjs" "$base/golden" "$@" "$views"; }
as_user() { runuser -u "$user" -- env -i PATH="$PATH" HOME="/home/$user" "$@"; }
user_root() { local dir; dir=$(mktemp -d "$1/scratchfs-measure-XXXXXX"); chown "$user:" "$dir"; echo "$dir"; }

echo "overlay as root:";            measure "$base/root-overlay" overlay disk; measure "$base/root-overlay" overlay tmpfs
ns_root=$(user_root "$base")
echo "overlay in scratchfs run:"
as_user node "$repo/dist/cli/main.js" run -- node "$repo/scripts/measure-view.mjs" "$base/golden" "$ns_root" overlay disk "$views"
as_user node "$repo/dist/cli/main.js" run -- node "$repo/scripts/measure-view.mjs" "$base/golden" "$ns_root" overlay tmpfs "$views"
echo "fuse-overlayfs as a plain user (tmpfs: root on /dev/shm):"
fuse_root=$(user_root "$base"); shm_root=$(user_root /dev/shm)
as_user node "$repo/scripts/measure-view.mjs" "$base/golden" "$fuse_root" fuse-overlayfs disk "$views"
as_user node "$repo/scripts/measure-view.mjs" "$base/golden" "$shm_root" fuse-overlayfs disk "$views" | sed 's/"disk"/"tmpfs (root on \/dev\/shm)"/'
echo "copy (tmpfs: root on /dev/shm):"
measure "$base/root-copy" copy disk; measure "$(mktemp -d /dev/shm/scratchfs-measure-XXXXXX)" copy disk | sed 's/"disk"/"tmpfs (root on \/dev\/shm)"/'
