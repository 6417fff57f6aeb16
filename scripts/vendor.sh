#!/usr/bin/env bash
# Re-fetches the vendored third-party code from the npm registry and checks
# it byte for byte against the pinned checksums below. Nothing is ever
# loaded from a CDN: the browser gets only what static/vendor/ holds.
#
#   scripts/vendor.sh           fetch with `npm pack`, verify, install into static/vendor/
#   scripts/vendor.sh --check   verify the committed copy only (no network)
#   scripts/vendor.sh --sbom    print a CycloneDX 1.6 document of the vendored
#                               packages (versions and tarball hashes from below)
#
# qrcode-generator (MIT, Kazuhiko Arase) draws the invite link's QR code in
# the browser. Its npm tarball ships an ES module (dist/qrcode.mjs), which is
# vendored unchanged; the tarball has no LICENSE file, so static/vendor/
# qrcode-generator/LICENSE is the upstream repository's (MIT), and the
# package's own license field and file header are checked here.
#
# @noble/curves and @noble/hashes (MIT, Paul Miller; audited) give the
# join-by-code PAKE (static/js/pake/) ristretto255 and SHA-512. Only the
# files that @noble/curves/ed25519.js needs are vendored (its static import
# graph, listed below), each under its path in the package, with the
# package's LICENSE and a VERSION file. The ES modules are unchanged but for
# one deterministic rewrite: @noble/curves imports @noble/hashes by bare
# specifier ('@noble/hashes/sha2.js'), which a browser cannot resolve
# without an import map, so every line of the form
#     import ... from '@noble/hashes/NAME.js';
# (a real import statement at the start of a line; the examples in doc
# comments are left alone) becomes
#     import ... from '../noble-hashes/NAME.js';      (files at the top)
#     import ... from '../../noble-hashes/NAME.js';   (files in abstract/)
# The tarballs' checksums are pinned, and so are the installed files'
# checksums after the rewrite (NOBLE_SUMS), so both what npm served and
# what the browser loads are fixed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/static/vendor"

sha() { sha256sum "$1" | cut -d' ' -f1; }
die() { echo "vendor.sh: $*" >&2; exit 1; }

# ---- qrcode-generator ------------------------------------------------------

QR_NAME=qrcode-generator
QR_VERSION=2.0.4
QR_TARBALL_SHA256=02e2e18a99a90b02dad940851f59b7c3c5fd1ab79cbdece8595cb06328878159
QR_FILE=dist/qrcode.mjs
QR_FILE_SHA256=ea91d7118a5395289170da848b7c6758b996163bfbccf312591ab65a4911b7c0

check_qr() {
  local dest="$vendor/$QR_NAME" got
  got="$(sha "$dest/qrcode.mjs")"
  [ "$got" = "$QR_FILE_SHA256" ] || die "$dest/qrcode.mjs has sha256 $got, want $QR_FILE_SHA256"
  grep -q "MIT License" "$dest/LICENSE" || die "$dest/LICENSE is not the MIT licence"
  echo "ok: $QR_NAME $QR_VERSION $QR_FILE sha256 $QR_FILE_SHA256"
}

fetch_qr() {
  local work="$1" tgz got dest="$vendor/$QR_NAME"
  (cd "$work" && npm pack --silent "$QR_NAME@$QR_VERSION" >/dev/null)
  tgz="$work/$QR_NAME-$QR_VERSION.tgz"
  got="$(sha "$tgz")"
  [ "$got" = "$QR_TARBALL_SHA256" ] || die "$QR_NAME-$QR_VERSION.tgz has sha256 $got, want $QR_TARBALL_SHA256"
  mkdir -p "$work/qr"
  tar -xzf "$tgz" -C "$work/qr"
  got="$(sha "$work/qr/package/$QR_FILE")"
  [ "$got" = "$QR_FILE_SHA256" ] || die "$QR_FILE has sha256 $got, want $QR_FILE_SHA256"
  grep -q '"license": "MIT"' "$work/qr/package/package.json" || die "$QR_NAME package.json does not say MIT"
  grep -q "Licensed under the MIT license" "$work/qr/package/$QR_FILE" || die "$QR_FILE header does not say MIT"
  mkdir -p "$dest"
  cp "$work/qr/package/$QR_FILE" "$dest/qrcode.mjs"
}

# ---- @noble/curves and @noble/hashes ----------------------------------------

NOBLE_VERSION=2.4.0
CURVES_TARBALL_SHA256=55279c71b0201d6c0e58d0206d15825359e02a3932f326ba7b7909ac2d334aa9
HASHES_TARBALL_SHA256=e1946149b780017b2564fcc092cb01c04e1d7f20627d0296c17da8868f4436dc
CURVES_FILES="ed25519.js utils.js abstract/curve.js abstract/edwards.js abstract/fft.js abstract/frost.js
  abstract/hash-to-curve.js abstract/modular.js abstract/montgomery.js abstract/oprf.js"
HASHES_FILES="sha2.js _md.js _u64.js utils.js"
# sha256 of every installed file, paths relative to static/vendor/ (after
# the rewrite above; README.md is ours and not pinned).
NOBLE_SUMS='
4f221aee6e072336700c408c68ab3b96a3fc09f6aebe6f48f1bd99e5ef13faec  noble-curves/LICENSE
b18f629bef53dc81d2999821c4f757b0311b82268213924558dd1c810290c0bd  noble-curves/VERSION
dbaeee3b41ff47efb76b78e14170fe4dda7c7ecdc387c402f16c5118e0bac356  noble-curves/abstract/curve.js
f24a9c221a549a8fff259eb8f245ab0dc17679b13c532c3970d91acc4df9fffd  noble-curves/abstract/edwards.js
a4b2ff7ca33f4acc85d61f0e83ec3303c3f6b38ecc19b20d0f6462d820e518cf  noble-curves/abstract/fft.js
8defa97225915ae6abc53a6b930a43c69941aac07fa08f92eb135cd7dbe7e9d9  noble-curves/abstract/frost.js
e3c97e7d0827b728b14e3311ed11d8e386d8a70d8fc77e0b9fd2a3090f19d955  noble-curves/abstract/hash-to-curve.js
9ced3aa10598277a735e54f7b61d88e929d565da884ba5385f9006ebb3b6aab2  noble-curves/abstract/modular.js
cdafa8816dad5a24475ec51952c5f71fdd5d1b46880ab982694c4f8ff605fc46  noble-curves/abstract/montgomery.js
2ca36b3e4930092db1f91559410e86975816c036e248067bc65a8055aa1c504c  noble-curves/abstract/oprf.js
f287770bc7c729964eaa8b29f68b3e3abff23db922d4f6284c95e20586e09de2  noble-curves/ed25519.js
6a66bcce57ddabddd68776ea5211be52c226984723c440cd79d795ccecb0f0d1  noble-curves/utils.js
4f221aee6e072336700c408c68ab3b96a3fc09f6aebe6f48f1bd99e5ef13faec  noble-hashes/LICENSE
78399fb383b3d8d46721f0f904640df704eefca87018ee51c531436123fd1121  noble-hashes/VERSION
60cf3010fda89e3e4d3f0e7ff1ce249e9c467f34b4fd41b6fd6101d9f69be763  noble-hashes/_md.js
b09da8c07fe8187c07649494cdb7cd0bcf13df90b506a9473d19e4d5f8c2e102  noble-hashes/_u64.js
471746bba6ec4c6238ca41358d1d3b40b6ff31cf3363f0b4d550c649c1a8e83b  noble-hashes/sha2.js
037ad49adb78168b6b699598fd33f85f7877456b1d28b4d032e2a1a16807947c  noble-hashes/utils.js
'

check_noble() {
  local pkg files f want
  printf '%s\n' "$NOBLE_SUMS" | sed '/^$/d' > "$tmp/noble.sums"
  (cd "$vendor" && sha256sum --check --quiet "$tmp/noble.sums") || die "a vendored @noble file differs from its pinned checksum"
  for pkg in curves hashes; do
    [ "$(cat "$vendor/noble-$pkg/VERSION")" = "@noble/$pkg@$NOBLE_VERSION" ] || die "noble-$pkg/VERSION is not @noble/$pkg@$NOBLE_VERSION"
    grep -q "The MIT License" "$vendor/noble-$pkg/LICENSE" || die "noble-$pkg/LICENSE is not the MIT licence"
    # Nothing but the pinned files, LICENSE, VERSION and README.md.
    files="$(cd "$vendor" && find "noble-$pkg" -type f | sort)"
    want="$( (awk '{print $2}' "$tmp/noble.sums" | grep "^noble-$pkg/"; echo "noble-$pkg/README.md") | sort)"
    [ "$files" = "$want" ] || die "noble-$pkg/ holds other files than the pinned ones:"$'\n'"$(diff <(echo "$want") <(echo "$files") || true)"
  done
  if grep -rEn "^(import|export) .*from '@" "$vendor/noble-curves" "$vendor/noble-hashes"; then
    die "a bare import specifier is left in the vendored @noble files"
  fi
  echo "ok: @noble/curves@$NOBLE_VERSION and @noble/hashes@$NOBLE_VERSION, $(wc -l < "$tmp/noble.sums") files match their sha256"
}

# rewrite_hashes FILE PREFIX: the bare '@noble/hashes/NAME.js' of import
# statements becomes PREFIX'noble-hashes/NAME.js'.
rewrite_hashes() {
  sed -E -i "s#^(import .* from )'@noble/hashes/([A-Za-z0-9_]+\\.js)';\$#\\1'$2noble-hashes/\\2';#" "$1"
}

fetch_noble() {
  local work="$1" pkg sum tgz got f prefix
  for pkg in curves hashes; do
    (cd "$work" && npm pack --silent "@noble/$pkg@$NOBLE_VERSION" >/dev/null)
    tgz="$work/noble-$pkg-$NOBLE_VERSION.tgz"
    sum=$([ $pkg = curves ] && echo $CURVES_TARBALL_SHA256 || echo $HASHES_TARBALL_SHA256)
    got="$(sha "$tgz")"
    [ "$got" = "$sum" ] || die "noble-$pkg-$NOBLE_VERSION.tgz has sha256 $got, want $sum"
    mkdir -p "$work/$pkg"
    tar -xzf "$tgz" -C "$work/$pkg"
    grep -q '"license": "MIT"' "$work/$pkg/package/package.json" || die "@noble/$pkg package.json does not say MIT"
  done
  # Start from empty directories but for our README.md.
  for pkg in curves hashes; do
    mkdir -p "$vendor/noble-$pkg"
    find "$vendor/noble-$pkg" -type f ! -path "$vendor/noble-$pkg/README.md" -delete
    find "$vendor/noble-$pkg" -mindepth 1 -type d -empty -delete
  done
  for f in $CURVES_FILES; do
    mkdir -p "$(dirname "$vendor/noble-curves/$f")"
    cp "$work/curves/package/$f" "$vendor/noble-curves/$f"
    case "$f" in */*) prefix=../../ ;; *) prefix=../ ;; esac
    rewrite_hashes "$vendor/noble-curves/$f" "$prefix"
  done
  for f in $HASHES_FILES; do
    cp "$work/hashes/package/$f" "$vendor/noble-hashes/$f"
  done
  for pkg in curves hashes; do
    cp "$work/$pkg/package/LICENSE" "$vendor/noble-$pkg/LICENSE"
    echo "@noble/$pkg@$NOBLE_VERSION" > "$vendor/noble-$pkg/VERSION"
  done
}

# sbom prints the vendored packages as a CycloneDX 1.6 JSON document: the
# versions and npm tarball hashes pinned above are its only source.
sbom() {
  local comp
  comp() { # name purl-name version sha256
    printf '    {"type": "library", "bom-ref": "pkg:npm/%s@%s", "name": "%s", "version": "%s", "purl": "pkg:npm/%s@%s", "licenses": [{"license": {"id": "MIT"}}], "hashes": [{"alg": "SHA-256", "content": "%s"}]}' \
      "$2" "$3" "$1" "$3" "$2" "$3" "$4"
  }
  cat <<HEAD
{
  "bomFormat": "CycloneDX",
  "specVersion": "1.6",
  "version": 1,
  "metadata": {
    "component": {"type": "application", "bom-ref": "sotto-web-app", "name": "sotto web app (static/vendor)"}
  },
  "components": [
HEAD
  comp "$QR_NAME" "$QR_NAME" "$QR_VERSION" "$QR_TARBALL_SHA256"; echo ","
  comp "@noble/curves" "%40noble/curves" "$NOBLE_VERSION" "$CURVES_TARBALL_SHA256"; echo ","
  comp "@noble/hashes" "%40noble/hashes" "$NOBLE_VERSION" "$HASHES_TARBALL_SHA256"; echo
  printf '  ]\n}\n'
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The SBOM describes the committed copy, so that copy is verified first.
if [ "${1:-}" = "--sbom" ]; then
  check_qr >/dev/null
  check_noble >/dev/null
  sbom
  exit 0
fi

if [ "${1:-}" != "--check" ]; then
  fetch_qr "$tmp"
  fetch_noble "$tmp"
fi
check_qr
check_noble
