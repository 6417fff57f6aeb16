#!/usr/bin/env bash
# Signs a Sotto operator-mode token (docs/tokens.md) with openssl.
# usage: SOTTO_SECRET=... signtoken.sh ROOM USER ROLE TTL_SECONDS
set -euo pipefail
if [[ $# -ne 4 || -z ${SOTTO_SECRET:-} || ! $1 =~ ^[A-Za-z0-9_-]{22}$ || ! $2 =~ ^[A-Za-z0-9_-]{1,64}$ ||
  ! $3 =~ ^(talk|listen|priority)$ || ! $4 =~ ^[1-9][0-9]{0,5}$ ]]; then
  echo "usage: SOTTO_SECRET=... $0 ROOM USER talk|listen|priority TTL_SECONDS" >&2
  exit 2
fi
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
exp=$(($(date +%s) + $4))
nonce=$(openssl rand 16 | b64url)
body="v1.$1.$2.$3.$exp.$nonce"
mac=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SOTTO_SECRET" -binary | b64url)
echo "$body.$mac"
