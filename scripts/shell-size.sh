#!/usr/bin/env bash
# Measures what a first visit to Sotto transfers, gzip-compressed (the goal
# is at most 100 KB), and what entering a room adds.
#
# First load = index.html, what it links (stylesheet, theme script, icons,
# manifest), the static import graph of js/app.js, sw.js, and what sw.js
# fetches when it installs (its OFFLINE list). Entering a room adds the E2EE
# worker's import graph and the QR encoder (dynamic imports); joining by a
# typed code, or answering a knock, adds the PAKE module and the vendored
# curve library (js/pake/index.js and its graph, a dynamic import). Each file is
# counted once, at gzip -9 (what a compressing server or proxy would send;
# main.go itself serves files uncompressed today).
#
# Usage: scripts/shell-size.sh [--max KB]   (exits 1 when the first load is over --max)
set -euo pipefail
cd "$(dirname "$0")/../static"
max=""
if [ "${1:-}" = "--max" ]; then max="$2"; fi

node - "$max" <<'JS'
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const max = process.argv[2] ? Number(process.argv[2]) : null;

const read = (p) => fs.readFileSync(path.join('.', p));
const gz = (p) => zlib.gzipSync(read(p), { level: 9 }).length;

// Static imports and re-exports of an ES module, resolved against its path.
function imports(file) {
  const src = read(file).toString();
  const out = [];
  const re = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of src.matchAll(re)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('.') || spec.startsWith('/')) out.push(path.posix.normalize(spec.startsWith('/') ? spec : path.posix.join(path.posix.dirname(file), spec)));
  }
  return out;
}
// graph adds entry and everything it imports, directly or not, to seen.
function graph(entry, seen = new Set()) {
  seen.add(entry);
  for (const dep of imports(entry)) if (!seen.has(dep)) graph(dep, seen);
  return seen;
}
const strip = (u) => u.replace(/^\//, '');

const html = read('index.html').toString();
const linked = [...html.matchAll(/(?:href|src)="(\/[^"#?]+)"/g)].map((m) => strip(m[1]));
const sw = read('sw.js').toString();
const offline = [...(sw.match(/const OFFLINE = \[([\s\S]*?)\];/)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => strip(m[1]));

const first = new Set(['index.html', 'sw.js', ...linked, ...offline]);
for (const f of [...first]) if (f.endsWith('.js') && !f.endsWith('theme-boot.js')) graph(f, first);
const room = new Set();
for (const f of [...graph('js/e2ee/worker.js'), 'vendor/qrcode-generator/qrcode.mjs']) if (!first.has(f)) room.add(f);

function report(title, files) {
  let raw = 0, zipped = 0;
  const rows = [...files].sort().map((f) => {
    const r = read(f).length, z = gz(f);
    raw += r;
    zipped += z;
    return `  ${String(z).padStart(7)}  ${String(r).padStart(7)}  ${f}`;
  });
  console.log(`${title}: ${files.size} files, ${(zipped / 1000).toFixed(1)} KB gzipped (${(raw / 1000).toFixed(1)} KB raw)`);
  console.log('     gzip      raw  file');
  console.log(rows.join('\n'));
  return zipped;
}
const knock = new Set();
for (const f of graph('js/pake/index.js')) if (!first.has(f) && !room.has(f)) knock.add(f);
const firstKB = report('First load', first) / 1000;
console.log('');
report('Entering a room adds', room);
console.log('');
report('Joining by code or answering a knock adds', knock);
console.log('');
console.log(`first-load gzip total: ${firstKB.toFixed(1)} KB${max ? ` (limit ${max} KB)` : ''}`);
if (max && firstKB > max) {
  console.error(`shell-size: first load ${firstKB.toFixed(1)} KB is over ${max} KB`);
  process.exit(1);
}
JS
