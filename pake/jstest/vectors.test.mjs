// Every vector in pake/testdata/vectors.json, checked against the browser
// module (static/js/pake) in Node: the draft's published CPace vectors, the
// code derivation and parsing, whole exchanges with fixed randomness, the
// wrong-code run and every bad-message case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { fromHex, toHex } from '../../static/js/e2ee/encoding.js';
import { codeOf } from '../../static/js/pake/errors.js';
import { codePassword, formatCode, parseCode } from '../../static/js/pake/code.js';
import * as cpace from '../../static/js/pake/cpace.js';
import { deriveSession, newJoiner, newMember } from '../../static/js/pake/exchange.js';
import { ristretto255 } from '../../static/vendor/noble-curves/ed25519.js';

const v = JSON.parse(readFileSync(new URL('../testdata/vectors.json', import.meta.url), 'utf8'));
const utf8 = new TextEncoder();

/** fixed returns a random(n) that hands out the given bytes in order, and fails when they run out. */
export function fixed(...hexes) {
  let rest = fromHex(hexes.join(''));
  return (n) => {
    if (rest.length < n) throw new Error('fixed randomness exhausted');
    const out = rest.slice(0, n);
    rest = rest.slice(n);
    return out;
  };
}

async function codeOfRejection(promise) {
  try {
    await promise;
    return '';
  } catch (err) {
    return codeOf(err) || `non-pake error: ${err}`;
  }
}

test('draft Appendix A string utilities', () => {
  const s = v.cpace_strings;
  assert.match(s.source, /draft-irtf-cfrg-cpace-21/);
  assert.equal(s.prepend_len.length, 4);
  for (const c of s.prepend_len) assert.equal(toHex(cpace.prependLen(fromHex(c.input))), c.output);
  assert.equal(toHex(cpace.lvCat(...s.lv_cat.inputs.map(fromHex))), s.lv_cat.output);
  for (const c of s.lexiographically_larger) assert.equal(cpace.lexicographicallyLarger(fromHex(c.a), fromHex(c.b)), c.larger, `${c.a} > ${c.b}`);
  for (const c of s.o_cat) assert.equal(toHex(cpace.oCat(fromHex(c.a), fromHex(c.b))), c.output);
  for (const c of s.transcript_ir) assert.equal(toHex(cpace.transcriptIR(fromHex(c.Ya), fromHex(c.ADa), fromHex(c.Yb), fromHex(c.ADb))), c.output);
  for (const c of s.transcript_oc) assert.equal(toHex(cpace.transcriptOC(fromHex(c.Ya), fromHex(c.ADa), fromHex(c.Yb), fromHex(c.ADb))), c.output);
});

test('draft Appendix B.3 ristretto255 run, byte for byte', () => {
  const r = v.cpace_ristretto255;
  assert.match(r.source, /draft-irtf-cfrg-cpace-21, Appendix B\.3/);
  const [prs, ci, sid, ada, adb] = [r.prs, r.ci, r.sid, r.ADa, r.ADb].map(fromHex);
  assert.equal(toHex(cpace.DSI), r.dsi);
  const gs = cpace.generatorString(cpace.DSI, prs, ci, sid, cpace.S_IN_BYTES);
  assert.equal(toHex(gs), r.generator_string);
  assert.equal(gs.length, 1 + cpace.DSI.length + 1 + prs.length + 1 + r.zpad_len + 1 + ci.length + 1 + sid.length);
  assert.equal(toHex(cpace.generatorHash(prs, ci, sid)), r.generator_hash);
  const g = cpace.calculateGenerator(prs, ci, sid);
  assert.equal(toHex(g.toBytes()), r.g);
  const ya = cpace.scalarFromBytes(fromHex(r.ya));
  const yb = cpace.scalarFromBytes(fromHex(r.yb));
  const Ya = cpace.scalarMult(ya, g);
  const Yb = cpace.scalarMult(yb, g);
  assert.equal(toHex(Ya), r.Ya);
  assert.equal(toHex(Yb), r.Yb);
  assert.equal(toHex(cpace.scalarMultVfy(ya, Yb)), r.K);
  assert.equal(toHex(cpace.scalarMultVfy(yb, Ya)), r.K);
  const k = fromHex(r.K);
  const tir = cpace.transcriptIR(Ya, ada, Yb, adb);
  const toc = cpace.transcriptOC(Ya, ada, Yb, adb);
  assert.equal(toHex(tir), r.transcript_ir);
  assert.equal(toHex(toc), r.transcript_oc);
  assert.equal(toHex(utf8.encode('CPaceRistretto255_ISK')), r.isk_dsi);
  assert.equal(toHex(cpace.iskInput(sid, k, tir)), r.isk_input_ir);
  assert.equal(toHex(cpace.iskInput(sid, k, toc)), r.isk_input_oc);
  assert.equal(toHex(cpace.isk(sid, k, tir)), r.isk_ir);
  assert.equal(toHex(cpace.isk(sid, k, toc)), r.isk_oc);
  assert.equal(toHex(cpace.sidOutput(tir)), r.sid_output_ir);
  assert.equal(toHex(cpace.sidOutput(toc)), r.sid_output_oc);
});

test('draft Appendix B.3 scalar_mult and invalid inputs to scalar_mult_vfy', () => {
  const sm = v.cpace_scalar_mult;
  assert.match(sm.source, /B\.3\.11/);
  const s = cpace.scalarFromBytes(fromHex(sm.s));
  assert.equal(toHex(cpace.scalarMult(s, ristretto255.Point.fromBytes(fromHex(sm.X)))), sm.scalar_mult);
  assert.equal(toHex(cpace.scalarMultVfy(s, fromHex(sm.X))), sm.scalar_mult_vfy);
  assert.equal(sm.invalid.length, 2);
  for (const bad of sm.invalid) {
    const k = cpace.scalarMultVfy(s, fromHex(bad));
    assert.equal(toHex(k), sm.identity);
    assert.ok(cpace.isIdentity(k));
  }
});

test('code passwords and formatting', async () => {
  assert.ok(v.codes.length >= 5);
  for (const c of v.codes) {
    const pw = await codePassword(fromHex(c.secret), c.nameplate);
    assert.equal(pw, c.password, `password for ${c.nameplate}`);
    assert.equal(toHex(utf8.encode(`code ${c.nameplate}`)), c.hkdf_info);
    assert.equal(String(BigInt('0x' + c.hkdf_output) % 10_000_000n).padStart(7, '0'), c.password);
    assert.equal(formatCode(c.nameplate, pw), c.code);
    assert.deepEqual(parseCode(c.code), { nameplate: c.nameplate, password: c.password });
  }
});

test('code parsing: accepted inputs', () => {
  assert.ok(v.code_parses.length >= 10);
  for (const c of v.code_parses) assert.deepEqual(parseCode(c.input), { nameplate: c.nameplate, password: c.password }, JSON.stringify(c.input));
});

test('code parsing: rejected inputs', () => {
  assert.ok(v.code_errors.length >= 10);
  for (const c of v.code_errors) {
    assert.throws(() => parseCode(c.input), (err) => codeOf(err) === c.error, c.name);
  }
});

test('whole exchanges with fixed randomness, every intermediate value', async () => {
  assert.equal(v.exchanges.length, 3);
  for (const e of v.exchanges) {
    const secret = fromHex(e.secret);
    assert.equal(await codePassword(secret, e.nameplate), e.password);
    assert.equal(formatCode(e.nameplate, e.password), e.code);
    assert.equal(toHex(utf8.encode(`sotto/v1 knock ${e.nameplate}`)), e.ci);
    // The primitives, step by step.
    const g = cpace.calculateGenerator(utf8.encode(e.password), fromHex(e.ci), fromHex(e.sid));
    assert.equal(toHex(g.toBytes()), e.g, e.name);
    assert.equal(toHex(cpace.sampleScalar(fixed(e.ya_random))), e.ya);
    assert.equal(toHex(cpace.sampleScalar(fixed(e.yb_random))), e.yb);
    const ya = cpace.scalarFromBytes(fromHex(e.ya));
    const yb = cpace.scalarFromBytes(fromHex(e.yb));
    assert.equal(toHex(cpace.scalarMult(ya, g)), e.Ya);
    assert.equal(toHex(cpace.scalarMult(yb, g)), e.Yb);
    assert.equal(toHex(cpace.scalarMultVfy(ya, fromHex(e.Yb))), e.K);
    assert.equal(toHex(cpace.isk(fromHex(e.sid), fromHex(e.K), cpace.transcriptIR(fromHex(e.Ya), new Uint8Array(), fromHex(e.Yb), new Uint8Array()))), e.isk);
    const keys = await deriveSession(fromHex(e.msg1), fromHex(e.sid), fromHex(e.Ya), fromHex(e.Yb), fromHex(e.K));
    assert.equal(toHex(keys.th), e.transcript_hash);
    // The API with the same randomness.
    const { joiner, msg1 } = await newJoiner(e.nameplate, e.password, { random: fixed(e.sid, e.ya_random) });
    const member = await newMember(secret, e.nameplate, { random: fixed(e.yb_random, e.nonce) });
    assert.equal(toHex(msg1), e.msg1);
    const msg2 = await member.respond(msg1);
    assert.equal(toHex(msg2), e.msg2);
    assert.equal(toHex(msg2.slice(33)), e.tag_m);
    const msg3 = await joiner.confirm(msg2);
    assert.equal(toHex(msg3), e.msg3);
    assert.equal(toHex(msg3.slice(1)), e.tag_j);
    const msg4 = await member.finish(msg3);
    assert.equal(toHex(msg4), e.msg4);
    assert.equal(toHex(await joiner.open(msg4)), e.secret);
    assert.equal(member.abort(), null, 'abort after success counts nothing');
  }
});

test('the HKDF keys of the exchange vectors', async () => {
  for (const e of v.exchanges) {
    const derive = async (info) => {
      const key = await crypto.subtle.importKey('raw', fromHex(e.isk), 'HKDF', false, ['deriveBits']);
      return toHex(new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: utf8.encode('sotto/v1'), info: utf8.encode(info) }, key, 256)));
    };
    assert.equal(await derive('knock confirm member'), e.kc_member);
    assert.equal(await derive('knock confirm joiner'), e.kc_joiner);
    assert.equal(await derive('knock seal'), e.seal_key);
  }
});

test('wrong code: the joiner fails at confirm, the member at finish or abort', async () => {
  const w = v.wrong_code;
  assert.notEqual(w.member_password, w.joiner_password);
  const { joiner, msg1 } = await newJoiner(w.nameplate, w.joiner_password, { random: fixed(w.sid, w.ya_random) });
  assert.equal(toHex(msg1), w.msg1);
  const member = await newMember(fromHex(w.secret), w.nameplate, { random: fixed(w.yb_random) });
  const msg2 = await member.respond(msg1);
  assert.equal(toHex(msg2), w.msg2);
  assert.equal(await codeOfRejection(joiner.confirm(msg2)), w.joiner_error);
  assert.equal(await codeOfRejection(joiner.open(fromHex(v.exchanges[0].msg4))), 'state');
  assert.equal(await codeOfRejection(member.finish(fromHex(w.forged_msg3))), w.member_error);
  const m2 = await newMember(fromHex(w.secret), w.nameplate, { random: fixed(w.yb_random) });
  await m2.respond(msg1);
  assert.equal(codeOf(m2.abort()), w.abort_error);
  assert.equal(m2.abort(), null, 'a second abort counts nothing more');
});

test('bad messages at every step', async () => {
  const e = v.exchanges[0];
  assert.ok(v.message_errors.length >= 20);
  for (const c of v.message_errors) {
    const { joiner } = await newJoiner(e.nameplate, e.password, { random: fixed(e.sid, e.ya_random) });
    const member = await newMember(fromHex(e.secret), e.nameplate, { random: fixed(e.yb_random, e.nonce) });
    const input = fromHex(c.input);
    let p;
    switch (c.step) {
      case 'respond': p = member.respond(input); break;
      case 'confirm': p = joiner.confirm(input); break;
      case 'finish': await member.respond(fromHex(e.msg1)); p = member.finish(input); break;
      case 'open': await joiner.confirm(fromHex(e.msg2)); p = joiner.open(input); break;
      default: throw new Error(`unknown step ${c.step}`);
    }
    assert.equal(await codeOfRejection(p), c.error, c.name);
  }
});
