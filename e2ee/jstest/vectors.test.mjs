// Every vector in e2ee/testdata/vectors.json, checked against the browser
// module in Node (WebCrypto through globalThis.crypto).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { fromHex, toHex } from '../../static/js/e2ee/encoding.js';
import { codeOf } from '../../static/js/e2ee/errors.js';
import { encodeHeader, parseHeader } from '../../static/js/e2ee/header.js';
import { deriveKeySalt, deriveRoomKeys, formatKid, parseKid, senderBaseKey, sframeLabel } from '../../static/js/e2ee/keys.js';
import { importFrameKey, nonceFor, openSFrame, Receiver, sealSFrame, Sender, frameKeyFor } from '../../static/js/e2ee/sframe.js';
import { openBlob, sealBlobWithNonce } from '../../static/js/e2ee/blob.js';
import { formatLink, parseFragment, parseLink } from '../../static/js/e2ee/link.js';

const v = JSON.parse(readFileSync(new URL('../testdata/vectors.json', import.meta.url), 'utf8'));

async function codeOfRejection(promise) {
  try {
    await promise;
    return '';
  } catch (err) {
    return codeOf(err) || `non-e2ee error: ${err}`;
  }
}

test('RFC 9605 C.1 header vectors', () => {
  assert.equal(v.rfc9605_headers.length, 289);
  for (const h of v.rfc9605_headers) {
    const kid = BigInt(h.kid);
    const ctr = BigInt(h.ctr);
    assert.equal(toHex(encodeHeader(kid, ctr)), h.header, `encode(${kid}, ${ctr})`);
    const b = fromHex(h.header + 'aabb');
    assert.deepEqual(parseHeader(b), { kid, ctr, size: h.header.length / 2 });
  }
});

test('RFC 9605 C.3 suite 0x0005 vector, byte for byte', async () => {
  const r = v.rfc9605_sframe;
  assert.equal(r.cipher_suite, 5);
  const kid = BigInt(r.kid);
  const ctr = BigInt(r.ctr);
  assert.equal(toHex(sframeLabel('key', kid)), r.sframe_key_label);
  assert.equal(toHex(sframeLabel('salt', kid)), r.sframe_salt_label);
  // HKDF-Extract(salt = "", base_key) is HMAC-SHA512 keyed with 64 zero bytes.
  const hmacKey = await crypto.subtle.importKey('raw', new Uint8Array(64), { name: 'HMAC', hash: 'SHA-512' }, false, ['sign']);
  const secret = new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, fromHex(r.base_key)));
  assert.equal(toHex(secret), r.sframe_secret);
  const { key, salt } = await deriveKeySalt(fromHex(r.base_key), kid);
  assert.equal(toHex(key), r.sframe_key);
  assert.equal(toHex(salt), r.sframe_salt);
  assert.equal(toHex(nonceFor(salt, ctr)), r.nonce);
  const fk = await importFrameKey(key, salt);
  const ct = await sealSFrame(fk, kid, ctr, fromHex(r.metadata), fromHex(r.pt));
  assert.equal(toHex(ct), r.ct);
  const { size } = parseHeader(ct);
  const pt = await openSFrame(fk, ct.subarray(0, size), ctr, fromHex(r.metadata), ct.subarray(size));
  assert.equal(toHex(pt), r.pt);
  assert.equal(await codeOfRejection(openSFrame(fk, ct.subarray(0, size), ctr, fromHex(r.metadata).subarray(1), ct.subarray(size))), 'auth');
});

test('key schedule vectors', async () => {
  assert.ok(v.key_schedule.length > 0);
  for (const ks of v.key_schedule) {
    const k = await deriveRoomKeys(fromHex(ks.secret));
    assert.equal(toHex(k.roomId), ks.room_id);
    assert.equal(toHex(k.roomAuth), ks.room_auth);
    assert.equal(toHex(k.verifier), ks.verifier);
    assert.equal(toHex(k.signal), ks.signal);
    assert.equal(toHex(k.media), ks.media);
    assert.equal(toHex(k.sas), ks.sas);
    assert.equal(k.safetyCode, ks.safety_code);
  }
});

test('sender key vectors and KID text', async () => {
  for (const sk of v.sender_keys) {
    const kid = BigInt(sk.kid);
    const base = await senderBaseKey(fromHex(sk.media), kid);
    assert.equal(toHex(base), sk.base_key);
    const { key, salt } = await deriveKeySalt(base, kid);
    assert.equal(toHex(key), sk.key);
    assert.equal(toHex(salt), sk.salt);
  }
  for (const kt of v.kid_text) {
    assert.equal(formatKid(BigInt(kt.kid)), kt.text);
    assert.equal(parseKid(kt.text), BigInt(kt.kid));
  }
});

test('frame vectors: same bytes as Go, and they decrypt', async () => {
  const f = v.frames;
  const k = await deriveRoomKeys(fromHex(f.secret));
  const kid = BigInt(f.kid);
  const snd = await Sender.create(k.media, kid);
  const rcv = new Receiver(k.media);
  await rcv.addSender(kid);
  const sizes = new Set();
  for (const fv of f.frames) {
    const pt = fromHex(fv.plaintext);
    sizes.add(pt.length);
    assert.equal(toHex(await snd.encrypt(pt)), fv.frame, fv.name);
    assert.equal(toHex(await rcv.decrypt(fromHex(fv.frame))), fv.plaintext, fv.name);
  }
  for (const n of [0, 1, 2, 80, 1200]) assert.ok(sizes.has(n), `${n}-byte frame vector`);
});

test('frame error cases', async () => {
  const codes = new Set();
  for (const fc of v.frame_cases) {
    const k = await deriveRoomKeys(fromHex(fc.secret));
    const rcv = new Receiver(k.media);
    for (const kid of fc.register) await rcv.addSender(BigInt(kid));
    for (const [i, st] of fc.steps.entries()) {
      let got = '';
      let pt = null;
      try {
        pt = await rcv.decrypt(fromHex(st.frame));
      } catch (err) {
        got = codeOf(err) || `non-e2ee error: ${err}`;
      }
      assert.equal(got, st.error, `${fc.name} step ${i}`);
      if (!st.error) assert.equal(toHex(pt), st.plaintext, `${fc.name} step ${i} plaintext`);
      codes.add(st.error);
    }
  }
  for (const c of ['auth', 'bad-header', 'truncated', 'replay', 'too-old', 'unknown-kid']) assert.ok(codes.has(c), c);
});

test('blob vectors', async () => {
  for (const b of v.blobs) {
    assert.equal(toHex(await openBlob(fromHex(b.key), b.blob)), b.plaintext);
    assert.equal(await sealBlobWithNonce(fromHex(b.key), fromHex(b.nonce), fromHex(b.plaintext)), b.blob);
  }
  for (const be of v.blob_errors) {
    assert.equal(await codeOfRejection(openBlob(fromHex(be.key), be.blob)), be.error, be.name);
  }
});

test('link vectors', () => {
  for (const l of v.links) assert.equal(formatLink(l.base, fromHex(l.secret)), l.link);
  const parse = (s) => (s.startsWith('http') ? parseLink(s) : parseFragment(s));
  for (const lp of v.link_parses) assert.equal(toHex(parse(lp.input)), lp.secret);
  for (const le of v.link_errors) {
    let got = '';
    try {
      parse(le.input);
    } catch (err) {
      got = codeOf(err);
    }
    assert.equal(got, le.error, le.name);
  }
});

test('frameKeyFor matches the sender key vector', async () => {
  const sk = v.sender_keys.find((s) => s.kid === v.frames.kid);
  const fk = await frameKeyFor(fromHex(sk.media), BigInt(sk.kid));
  assert.equal(toHex(fk.salt), sk.salt);
});
