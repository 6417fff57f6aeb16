#!/usr/bin/env bash
# Re-fetches the vendored third-party code from the npm registry and checks
# it byte for byte against the pinned checksums below. Nothing is ever
# loaded from a CDN: the browser gets only what static/vendor/ holds.
#
#   scripts/vendor.sh           fetch with `npm pack`, verify, install into static/vendor/
#   scripts/vendor.sh --check   verify the committed copy only (no network)
#
# qrcode-generator (MIT, Kazuhiko Arase) draws the invite link's QR code in
# the browser. Its npm tarball ships an ES module (dist/qrcode.mjs), which is
# vendored unchanged; the tarball has no LICENSE file, so static/vendor/
# qrcode-generator/LICENSE is the upstream repository's (MIT), and the
# package's own license field and file header are checked here.
set -euo pipefail

NAME=qrcode-generator
VERSION=2.0.4
TARBALL_SHA256=02e2e18a99a90b02dad940851f59b7c3c5fd1ab79cbdece8595cb06328878159
FILE=dist/qrcode.mjs
FILE_SHA256=ea91d7118a5395289170da848b7c6758b996163bfbccf312591ab65a4911b7c0

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/static/vendor/$NAME"

sha() { sha256sum "$1" | cut -d' ' -f1; }

check_installed() {
  local got
  got="$(sha "$dest/qrcode.mjs")"
  if [ "$got" != "$FILE_SHA256" ]; then
    echo "vendor.sh: $dest/qrcode.mjs has sha256 $got, want $FILE_SHA256" >&2
    exit 1
  fi
  grep -q "MIT License" "$dest/LICENSE" || { echo "vendor.sh: $dest/LICENSE is not the MIT licence" >&2; exit 1; }
  echo "ok: $NAME $VERSION $FILE sha256 $FILE_SHA256"
}

if [ "${1:-}" = "--check" ]; then
  check_installed
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$NAME@$VERSION" >/dev/null)
tgz="$work/$NAME-$VERSION.tgz"
got="$(sha "$tgz")"
if [ "$got" != "$TARBALL_SHA256" ]; then
  echo "vendor.sh: $NAME-$VERSION.tgz has sha256 $got, want $TARBALL_SHA256" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work"
got="$(sha "$work/package/$FILE")"
if [ "$got" != "$FILE_SHA256" ]; then
  echo "vendor.sh: $FILE has sha256 $got, want $FILE_SHA256" >&2
  exit 1
fi
grep -q '"license": "MIT"' "$work/package/package.json" || { echo "vendor.sh: package.json does not say MIT" >&2; exit 1; }
grep -q "Licensed under the MIT license" "$work/package/$FILE" || { echo "vendor.sh: $FILE header does not say MIT" >&2; exit 1; }
mkdir -p "$dest"
cp "$work/package/$FILE" "$dest/qrcode.mjs"
check_installed
