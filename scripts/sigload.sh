#!/usr/bin/env bash
# Runs cmd/sigload several times in a row and prints each run's last line
# (the figures docs/abuse.md §2 reports), then the ratios side by side. The
# server binary and sigload are built once, so every run measures the same
# code. Not part of `make test`: each run takes about 40 s and wants the
# machine to itself (check `uptime` first; other work on a 2-CPU machine
# moves sub-millisecond percentiles).
#
# Usage: scripts/sigload.sh [runs] [sigload flags...]
#   scripts/sigload.sh 3                    # the figures in docs/abuse.md
#   scripts/sigload.sh 2 -flood-nice 19     # the flooder on idle CPU only
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/sotto" .
go build -o "$dir/sigload" ./cmd/sigload
ratios=()
for i in $(seq 1 "$runs"); do
	echo "run $i of $runs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	last=$("$dir/sigload" -bin "$dir/sotto" "$@" | tail -n 1)
	echo "$last"
	ratios+=("${last##* }")
done
echo "ratios: ${ratios[*]}"
