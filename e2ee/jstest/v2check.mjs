// The v2 vectors of e2ee/testdata/vectors.json (docs/keys.md) against the
// browser module. Plain ES module with no Node import, so the same checks
// run in Node (vectors_v2.test.mjs) and in Chromium and Firefox (the page
// e2ee/testdata/browser/v2vectors.html, which serves this file at
// /e2ee/jstest/ and static/ at /static/, where these relative imports land).
//
// Each check* function resolves to { checks, failures }: failures is a list
// of messages, empty when every value matched byte for byte.

import { fromHex, toHex } from '../../static/js/e2ee/encoding.js';
import { codeOf } from '../../static/js/e2ee/errors.js';
import { deriveKeySalt } from '../../static/js/e2ee/keys.js';
import { formatSid, parseSid } from '../../static/js/e2ee/sid.js';
import { epochKid, epochNewer, splitKid } from '../../static/js/e2ee/epoch.js';
import { KeyPair } from '../../static/js/e2ee/agree.js';
import { openKeyBlob, sealKeyBlobWithNonce, wrapInfo, wrapKeyBytes, KEY_BLOB_SIZE } from '../../static/js/e2ee/keyblob.js';
import { epochBaseKey, importSenderKey } from '../../static/js/e2ee/epochkeys.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';
import { KeyRing } from '../../static/js/e2ee/keyring.js';

class Tally {
  checks = 0;
  failures = [];
  eq(got, want, what) {
    this.checks++;
    if (got !== want) this.failures.push(`${what}: got ${got}, want ${want}`);
  }
  ok(cond, what) {
    this.eq(Boolean(cond), true, what);
  }
  result() {
    return { checks: this.checks, failures: this.failures };
  }
}

// codeOfCall runs fn (sync or async) and returns '' or its error code.
async function codeOfCall(fn) {
  try {
    await fn();
    return '';
  } catch (err) {
    return codeOf(err) || `non-e2ee error: ${err?.name} ${err?.message}`;
  }
}

const hdr = (x) => ({ from: Number(x.from), to: Number(x.to), epoch: Number(x.epoch) });

export async function checkSidsAndEpochs(v) {
  const t = new Tally();
  for (const s of v.sid_text) {
    t.eq(formatSid(Number(s.sid)), s.text, `formatSid(${s.sid})`);
    t.eq(parseSid(s.text), Number(s.sid), `parseSid(${s.text})`);
  }
  for (const e of v.sid_errors) t.eq(await codeOfCall(() => parseSid(e.input)), e.error, `sid error ${e.name}`);
  for (const e of v.epoch_kids) {
    const kid = epochKid(Number(e.sid), Number(e.epoch));
    t.eq(kid, BigInt(e.kid), `epochKid(${e.sid}, ${e.epoch})`);
    const back = splitKid(BigInt(e.kid));
    t.eq(`${back.sid}/${back.epoch}`, `${e.sid}/${e.epoch}`, `splitKid(${e.kid})`);
  }
  for (const o of v.epoch_order) t.eq(epochNewer(Number(o.b), Number(o.a)), o.b_newer, `epochNewer(${o.b}, ${o.a})`);
  return t.result();
}

export async function checkX25519(v) {
  const t = new Tally();
  t.ok(v.x25519[0].source, 'the first X25519 vector is the published one');
  for (const [i, x] of v.x25519.entries()) {
    const a = await KeyPair.fromPrivate(fromHex(x.private_a));
    const b = await KeyPair.fromPrivate(fromHex(x.private_b));
    t.eq(toHex(a.publicKey), x.public_a, `x25519[${i}] public a`);
    t.eq(toHex(b.publicKey), x.public_b, `x25519[${i}] public b`);
    t.eq(toHex(await a.agree(fromHex(x.public_b))), x.shared, `x25519[${i}] a agrees`);
    t.eq(toHex(await b.agree(fromHex(x.public_a))), x.shared, `x25519[${i}] b agrees`);
  }
  const a = await KeyPair.fromPrivate(fromHex(v.x25519[1].private_a));
  for (const p of v.x25519_low_order) t.eq(await codeOfCall(() => a.agree(fromHex(p))), 'bad-public-key', `low-order ${p}`);
  return t.result();
}

export async function checkKeyBlobs(v) {
  const t = new Tally();
  for (const w of v.wrap_keys) {
    const h = hdr(w);
    t.eq(toHex(wrapInfo(fromHex(w.room_id), h)), w.info, `wrap info ${w.from}->${w.to}/${w.epoch}`);
    t.eq(toHex(await wrapKeyBytes(fromHex(w.shared), fromHex(w.room_id), h)), w.wrap_key, `wrap key ${w.from}->${w.to}/${w.epoch}`);
  }
  for (const b of v.key_blobs) {
    const snd = await KeyPair.fromPrivate(fromHex(b.sender_private));
    const rcv = await KeyPair.fromPrivate(fromHex(b.receiver_private));
    const sealed = await sealKeyBlobWithNonce(snd, rcv.publicKey, fromHex(b.room_id), hdr(b), fromHex(b.sender_key), fromHex(b.nonce));
    t.eq(sealed.length, KEY_BLOB_SIZE, `${b.name} length`);
    t.eq(toHex(sealed), b.blob, `${b.name} sealed`);
    const { header, senderKey } = await openKeyBlob(rcv, snd.publicKey, fromHex(b.room_id), fromHex(b.blob));
    t.eq(`${header.from}/${header.to}/${header.epoch}`, `${b.from}/${b.to}/${b.epoch}`, `${b.name} header`);
    t.eq(toHex(senderKey), b.sender_key, `${b.name} sender key`);
  }
  for (const e of v.key_blob_errors) {
    const rcv = await KeyPair.fromPrivate(fromHex(e.receiver_private));
    const code = await codeOfCall(() => openKeyBlob(rcv, fromHex(e.sender_public), fromHex(e.room_id), fromHex(e.blob)));
    t.eq(code, e.error, `key blob error ${e.name}`);
  }
  return t.result();
}

export async function checkEpochFrames(v) {
  const t = new Tally();
  const ef = v.epoch_frames;
  const kid = BigInt(ef.kid);
  t.eq(epochKid(Number(ef.sid), Number(ef.epoch)), kid, 'epoch frames KID');
  const base = await epochBaseKey(await importSenderKey(fromHex(ef.sender_key)), kid);
  t.eq(toHex(base), ef.base_key, 'epoch base key');
  const { key, salt } = await deriveKeySalt(base, kid);
  t.eq(toHex(key), ef.sframe_key, 'epoch sframe key');
  t.eq(toHex(salt), ef.sframe_salt, 'epoch sframe salt');
  const skBytes = fromHex(ef.sender_key);
  const snd = await Sender.fromSenderKey(skBytes, kid);
  t.ok(skBytes.every((b) => b === 0), 'Sender.fromSenderKey zeroes the sender key bytes');
  const rcv = Receiver.epochOnly();
  await rcv.setSenderKey(kid, fromHex(ef.sender_key));
  for (const f of ef.frames) {
    t.eq(toHex(await snd.encrypt(fromHex(f.plaintext))), f.frame, `epoch frame ${f.name}`);
    t.eq(toHex(await rcv.decrypt(fromHex(f.frame))), f.plaintext, `epoch frame ${f.name} decrypts`);
  }
  return t.result();
}

export async function checkKeyRingCases(v) {
  const t = new Tally();
  const codes = new Set();
  for (const c of v.key_ring_cases) {
    const pair = await KeyPair.fromPrivate(fromHex(c.self_private));
    const rcv = Receiver.epochOnly();
    const ring = new KeyRing({ roomId: fromHex(c.room_id), self: Number(c.self), pair, sink: rcv });
    const sids = new Set();
    for (const [i, s] of c.steps.entries()) {
      const what = `${c.name} step ${i} (${s.op})`;
      let code;
      switch (s.op) {
        case 'add-member':
          sids.add(Number(s.sid));
          code = await codeOfCall(() => ring.addMember(Number(s.sid), fromHex(s.public)));
          break;
        case 'remove-member':
          code = await codeOfCall(() => ring.removeMember(Number(s.sid)));
          break;
        case 'accept':
          code = await codeOfCall(async () => {
            const a = await ring.acceptBlob(fromHex(s.blob), Number(s.now_ms));
            t.eq(`${a.isNew}/${a.from}/${a.epoch}`, `${s.new ?? false}/${s.from}/${s.epoch}`, `${what} result`);
          });
          break;
        case 'expire':
          code = await codeOfCall(() => ring.expire(Number(s.now_ms)));
          break;
        case 'decrypt':
          code = await codeOfCall(async () => {
            t.eq(toHex(await rcv.decrypt(fromHex(s.frame))), s.plaintext, `${what} plaintext`);
          });
          break;
        default:
          t.ok(false, `${what}: unknown op`);
      }
      t.eq(code, s.error, `${what} error`);
      codes.add(s.error);
      const held = {};
      for (const sid of sids) {
        const h = ring.held(sid);
        if (h.length) held[sid] = h.map(String);
      }
      t.eq(JSON.stringify(held), JSON.stringify(Object.fromEntries(Object.entries(s.held).sort())), `${what} held`);
    }
  }
  for (const c of ['stale-epoch', 'unknown-sender', 'key-unwrap', 'key-not-for-us', 'key-blob-format', 'key-blob-version', 'duplicate-sid', 'bad-public-key', 'unknown-kid']) {
    t.ok(codes.has(c), `a key ring step expects ${c}`);
  }
  return t.result();
}

/** checkAll runs every v2 check: { checks, failures } over all of them. */
export async function checkAll(v) {
  let checks = 0;
  const failures = [];
  for (const f of [checkSidsAndEpochs, checkX25519, checkKeyBlobs, checkEpochFrames, checkKeyRingCases]) {
    try {
      const r = await f(v);
      checks += r.checks;
      failures.push(...r.failures);
    } catch (err) {
      failures.push(`${f.name} threw: ${err?.name} ${err?.message}`);
    }
  }
  return { checks, failures };
}
