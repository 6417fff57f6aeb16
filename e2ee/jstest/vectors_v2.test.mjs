// The v2 vectors (docs/keys.md) against the browser module in Node; the
// checks themselves are in v2check.mjs, shared with Chromium and Firefox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { checkEpochFrames, checkKeyBlobs, checkKeyRingCases, checkSidsAndEpochs, checkX25519 } from './v2check.mjs';

const v = JSON.parse(readFileSync(new URL('../testdata/vectors.json', import.meta.url), 'utf8'));

for (const [name, check, atLeast] of [
  ['sids, epoch KIDs and their order', checkSidsAndEpochs, 30],
  ['X25519 agreement (RFC 7748 included) and low-order keys', checkX25519, 15],
  ['wrap keys, key blobs and their failures', checkKeyBlobs, 30],
  ['frame keys and frames under an epoch KID', checkEpochFrames, 10],
  ['key ring sequences', checkKeyRingCases, 100],
]) {
  test(`v2 vectors: ${name}`, async () => {
    const r = await check(v);
    assert.deepEqual(r.failures, []);
    assert.ok(r.checks >= atLeast, `only ${r.checks} checks ran`);
  });
}
