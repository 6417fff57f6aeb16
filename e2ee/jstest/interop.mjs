// A command the Go interop test (e2ee/interop_test.go) runs to use the
// browser module from Go: it reads a JSON array of requests on stdin and
// writes a JSON array of answers on stdout. Bytes are hex, KIDs decimal.
//
//   { "op": "keys",    "secret" }                        -> { room_id, room_auth, verifier, signal, media, sas, safety_code }
//   { "op": "encrypt", "secret", "kid", "frames": [..] } -> { frames: [..] }       (a fresh Sender, in order)
//   { "op": "decrypt", "secret", "kids": [..], "frames": [..] } -> { results: [{ plaintext } | { error }] }
//   { "op": "seal",    "secret", "plaintext" }           -> { blob }               (under the signal key)
//   { "op": "open",    "secret", "blob" }                -> { plaintext } | { error }
//   { "op": "link",    "base", "secret" }                -> { link }
//   { "op": "parse",   "link" }                          -> { secret } | { error }
//   v2 (docs/keys.md); sids and epochs decimal, KIDs decimal:
//   { "op": "seal-key", "room", "private", "peer_public", "from", "to", "epoch", "sender_key" } -> { blob } (random nonce)
//   { "op": "open-key", "room", "private", "peer_public", "blob" } -> { from, to, epoch, sender_key } | { error }
//   { "op": "encrypt-v2", "sender_key", "kid", "frames": [..] } -> { frames: [..] }
//   { "op": "decrypt-v2", "sender_key", "kid", "frames": [..] } -> { results: [{ plaintext } | { error }] }
//
// Usage: node e2ee/jstest/interop.mjs < requests.json

import { codeOf } from '../../static/js/e2ee/errors.js';
import { fromHex, toHex } from '../../static/js/e2ee/encoding.js';
import { deriveRoomKeys } from '../../static/js/e2ee/keys.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';
import { openBlob, sealBlob } from '../../static/js/e2ee/blob.js';
import { formatLink, parseLink } from '../../static/js/e2ee/link.js';
import { KeyPair } from '../../static/js/e2ee/agree.js';
import { openKeyBlob, sealKeyBlob } from '../../static/js/e2ee/keyblob.js';

// decryptAll decrypts each frame (hex) with rcv: its plaintext or its error
// code, for the v1 and v2 decrypt requests alike.
async function decryptAll(rcv, frames) {
  const results = [];
  for (const f of frames) {
    try {
      results.push({ plaintext: toHex(await rcv.decrypt(fromHex(f))) });
    } catch (err) {
      results.push({ error: codeOf(err) || String(err) });
    }
  }
  return results;
}

async function answer(req) {
  switch (req.op) {
    case 'keys': {
      const k = await deriveRoomKeys(fromHex(req.secret));
      return {
        room_id: toHex(k.roomId), room_auth: toHex(k.roomAuth), verifier: toHex(k.verifier),
        signal: toHex(k.signal), media: toHex(k.media), sas: toHex(k.sas), safety_code: k.safetyCode,
      };
    }
    case 'encrypt': {
      const k = await deriveRoomKeys(fromHex(req.secret));
      const snd = await Sender.create(k.media, BigInt(req.kid));
      const frames = [];
      for (const f of req.frames) frames.push(toHex(await snd.encrypt(fromHex(f))));
      return { frames };
    }
    case 'decrypt': {
      const k = await deriveRoomKeys(fromHex(req.secret));
      const rcv = new Receiver(k.media);
      for (const kid of req.kids) await rcv.addSender(BigInt(kid));
      return { results: await decryptAll(rcv, req.frames) };
    }
    case 'seal': {
      const k = await deriveRoomKeys(fromHex(req.secret));
      return { blob: await sealBlob(k.signal, fromHex(req.plaintext)) };
    }
    case 'open': {
      const k = await deriveRoomKeys(fromHex(req.secret));
      try {
        return { plaintext: toHex(await openBlob(k.signal, req.blob)) };
      } catch (err) {
        return { error: codeOf(err) || String(err) };
      }
    }
    case 'link':
      return { link: formatLink(req.base, fromHex(req.secret)) };
    case 'parse':
      try {
        return { secret: toHex(parseLink(req.link)) };
      } catch (err) {
        return { error: codeOf(err) || String(err) };
      }
    case 'seal-key': {
      const own = await KeyPair.fromPrivate(fromHex(req.private));
      const header = { from: Number(req.from), to: Number(req.to), epoch: Number(req.epoch) };
      return { blob: toHex(await sealKeyBlob(own, fromHex(req.peer_public), fromHex(req.room), header, fromHex(req.sender_key))) };
    }
    case 'open-key': {
      const own = await KeyPair.fromPrivate(fromHex(req.private));
      try {
        const { header, senderKey } = await openKeyBlob(own, fromHex(req.peer_public), fromHex(req.room), fromHex(req.blob));
        return { from: String(header.from), to: String(header.to), epoch: String(header.epoch), sender_key: toHex(senderKey) };
      } catch (err) {
        return { error: codeOf(err) || String(err) };
      }
    }
    case 'encrypt-v2': {
      const snd = await Sender.fromSenderKey(fromHex(req.sender_key), BigInt(req.kid));
      const frames = [];
      for (const f of req.frames) frames.push(toHex(await snd.encrypt(fromHex(f))));
      return { frames };
    }
    case 'decrypt-v2': {
      const rcv = Receiver.epochOnly();
      await rcv.setSenderKey(BigInt(req.kid), fromHex(req.sender_key));
      return { results: await decryptAll(rcv, req.frames) };
    }
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const req of JSON.parse(input)) out.push(await answer(req));
process.stdout.write(JSON.stringify(out) + '\n');
