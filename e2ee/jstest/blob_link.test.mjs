import { test } from 'node:test';
import assert from 'node:assert/strict';

import { codeOf } from '../../static/js/e2ee/errors.js';
import { fromBase64url, toBase64url } from '../../static/js/e2ee/encoding.js';
import { deriveRoomKeys, newSecret } from '../../static/js/e2ee/keys.js';
import { MAX_BLOB_ENCODED, MAX_BLOB_PLAINTEXT, openBlob, openJSON, sealBlob, sealJSON } from '../../static/js/e2ee/blob.js';
import { formatLink, parseFragment, parseLink } from '../../static/js/e2ee/link.js';

async function code(promise) {
  try {
    await promise;
    return '';
  } catch (err) {
    return codeOf(err) || `non-e2ee error: ${err}`;
  }
}

test('blobs round-trip up to the limit and stay under the signaling cap', async () => {
  const k = await deriveRoomKeys(newSecret());
  for (const n of [0, 1, 100, MAX_BLOB_PLAINTEXT]) {
    const pt = new Uint8Array(n).fill(97);
    const blob = await sealBlob(k.signal, pt);
    assert.ok(blob.length <= MAX_BLOB_ENCODED, `${n} bytes -> ${blob.length} chars`);
    assert.deepEqual(await openBlob(k.signal, blob), pt);
  }
  assert.equal(await code(sealBlob(k.signal, new Uint8Array(MAX_BLOB_PLAINTEXT + 1))), 'blob-too-large');
  assert.equal(await code(sealBlob(k.signal.subarray(0, 16), 'x')), 'bad-key');
});

test('blob nonces are random and every changed character is caught', async () => {
  const k = await deriveRoomKeys(newSecret());
  const a = await sealBlob(k.signal, 'same');
  assert.notEqual(a, await sealBlob(k.signal, 'same'));
  assert.equal(await code(openBlob(k.media, a)), 'blob-auth', 'the media key must not open signal blobs');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < a.length; i++) {
    const c = alphabet[(alphabet.indexOf(a[i]) + 1) % 64];
    assert.notEqual(await code(openBlob(k.signal, a.slice(0, i) + c + a.slice(i + 1))), '', `change at ${i}`);
  }
  assert.equal(await code(openBlob(k.signal, 42)), 'blob-malformed');
});

test('JSON blobs', async () => {
  const k = await deriveRoomKeys(newSecret());
  const hello = { t: 'hello', kid: '0123456789ab', name: 'Zoë' };
  assert.deepEqual(await openJSON(k.signal, await sealJSON(k.signal, hello)), hello);
  assert.equal(await code(openJSON(k.signal, await sealBlob(k.signal, '{not json'))), 'blob-malformed');
});

test('links round-trip and errors never echo the secret', () => {
  for (let i = 0; i < 100; i++) {
    const s = newSecret();
    const link = formatLink('https://sotto.example/', s);
    assert.match(link, /^https:\/\/sotto\.example\/#1\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parseLink(link), s);
    assert.deepEqual(parseFragment(link.slice(link.indexOf('#'))), s);
  }
  assert.throws(() => formatLink('https://h/#x', newSecret()), (e) => codeOf(e) === 'link-format');
  assert.throws(() => formatLink('https://h/', new Uint8Array(31)), (e) => codeOf(e) === 'bad-secret');
  try {
    parseFragment('#1.SECRETSECRETSECRETSECRETSECRETSECRETSECRET');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(codeOf(err));
    assert.ok(!err.message.includes('SECRET'));
  }
});

test('base64url matches Node and is strict', () => {
  for (let n = 0; n < 70; n++) {
    const b = crypto.getRandomValues(new Uint8Array(n));
    const s = toBase64url(b);
    assert.equal(s, Buffer.from(b).toString('base64url'));
    assert.deepEqual(fromBase64url(s), b);
  }
  for (const bad of ['A', 'AB', 'AQ==', 'A+', 'A/', 'A A', 'AQ=']) assert.equal(fromBase64url(bad), null, bad);
});
