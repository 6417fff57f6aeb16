// The browser module's exchange (static/js/pake) as a state machine: whole
// runs with real randomness, one-shot methods, abort, input checks, and a
// relay that tampers. The vectors are in vectors.test.mjs; Go <-> Node runs
// are in pake/interop_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { codeOf, codePassword, formatCode, newJoiner, newMember, parseCode } from '../../static/js/pake/index.js';

const newSecret = () => crypto.getRandomValues(new Uint8Array(32));

async function rejection(promise) {
  try {
    await promise;
    return '';
  } catch (err) {
    return codeOf(err) || `non-pake error: ${err}`;
  }
}

async function start(secret, nameplate, password) {
  const { joiner, msg1 } = await newJoiner(nameplate, password ?? await codePassword(secret, nameplate));
  const member = await newMember(secret, nameplate);
  return { joiner, member, msg1 };
}

test('a whole exchange delivers S, and every run is fresh', async () => {
  const s = newSecret();
  const seen = [];
  for (let i = 0; i < 2; i++) {
    const code = formatCode('482', await codePassword(s, '482'));
    const { nameplate, password } = parseCode(code);
    const { joiner, member, msg1 } = await start(s, nameplate, password);
    const msg2 = await member.respond(msg1);
    const msg3 = await joiner.confirm(msg2);
    const msg4 = await member.finish(msg3);
    assert.deepEqual(await joiner.open(msg4), s);
    assert.deepEqual([msg1.length, msg2.length, msg3.length, msg4.length], [49, 65, 33, 61]);
    assert.deepEqual([msg1[0], msg2[0], msg3[0], msg4[0]], [0x11, 0x12, 0x13, 0x14]);
    seen.push([msg1, msg2, msg3, msg4].map((m) => Buffer.from(m).toString('hex')));
  }
  for (let i = 0; i < 4; i++) assert.notEqual(seen[0][i], seen[1][i], `msg${i + 1} repeats`);
});

test('methods are one-shot and in order', async () => {
  const s = newSecret();
  const { joiner, member, msg1 } = await start(s, '482');
  assert.equal(await rejection(joiner.open(new Uint8Array(61))), 'state');
  assert.equal(await rejection(member.finish(new Uint8Array(33))), 'state', 'finish before respond');
  const m2 = await newMember(s, '482');
  const msg2 = await m2.respond(msg1);
  assert.equal(await rejection(m2.respond(msg1)), 'state');
  const msg3 = await joiner.confirm(msg2);
  assert.equal(await rejection(joiner.confirm(msg2)), 'state');
  const msg4 = await m2.finish(msg3);
  assert.equal(await rejection(m2.finish(msg3)), 'state');
  assert.equal(m2.abort(), null);
  await joiner.open(msg4);
  assert.equal(await rejection(joiner.open(msg4)), 'state');
  assert.equal(member.abort(), null, 'a member that never answered counts nothing');
});

test('concurrent calls cannot both run', async () => {
  const s = newSecret();
  const { member, msg1 } = await start(s, '482');
  const results = await Promise.allSettled([member.respond(msg1), member.respond(msg1)]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal(codeOf(results.find((r) => r.status === 'rejected').reason), 'state');
});

test('an error ends the exchange', async () => {
  const s = newSecret();
  const { joiner, member, msg1 } = await start(s, '482');
  const msg2 = await member.respond(msg1);
  assert.equal(await rejection(joiner.confirm(msg2.slice(0, 10))), 'malformed');
  assert.equal(await rejection(joiner.confirm(msg2)), 'state');
  // The member: a bad tagJ, then the good one is refused, and abort counts nothing more.
  const x = await start(s, '482');
  const y2 = await x.member.respond(x.msg1);
  const y3 = await x.joiner.confirm(y2);
  const bad = y3.slice();
  bad[7] ^= 1;
  assert.equal(await rejection(x.member.finish(bad)), 'bad-confirm');
  assert.equal(await rejection(x.member.finish(y3)), 'state');
  assert.equal(x.member.abort(), null);
});

test('abort after respond is a counted failure', async () => {
  const s = newSecret();
  const { member, msg1 } = await start(s, '482');
  await member.respond(msg1);
  assert.equal(codeOf(member.abort()), 'abandoned');
  assert.equal(member.abort(), null);
});

test('wrong code: the joiner gets wrong-code, the member bad-confirm', async () => {
  const s = newSecret();
  const pw = await codePassword(s, '482');
  const wrong = pw === '0000000' ? '0000001' : '0000000';
  const { joiner, member, msg1 } = await start(s, '482', wrong);
  const msg2 = await member.respond(msg1);
  assert.equal(await rejection(joiner.confirm(msg2)), 'wrong-code');
  assert.equal(await rejection(member.finish(Uint8Array.of(0x13, ...new Uint8Array(32)))), 'bad-confirm');
});

test('a tampering relay: no S, and the member never seals', async () => {
  const s = newSecret();
  const flip = (m, i) => {
    const c = m.slice();
    c[i] ^= 0x40;
    return c;
  };
  // tagM flipped: wrong-code for the joiner.
  let r = await start(s, '482');
  let msg2 = await r.member.respond(r.msg1);
  assert.equal(await rejection(r.joiner.confirm(flip(msg2, 64))), 'wrong-code');
  assert.equal(codeOf(r.member.abort()), 'abandoned');
  // sid flipped in msg1: the member answers another run; the joiner cannot confirm it.
  r = await start(s, '482');
  msg2 = await r.member.respond(flip(r.msg1, 2));
  assert.equal(await rejection(r.joiner.confirm(msg2)), 'wrong-code');
  // tagJ flipped: the member refuses to seal.
  r = await start(s, '482');
  msg2 = await r.member.respond(r.msg1);
  const msg3 = await r.joiner.confirm(msg2);
  assert.equal(await rejection(r.member.finish(flip(msg3, 32))), 'bad-confirm');
  // msg4 flipped: the joiner cannot open it.
  r = await start(s, '482');
  msg2 = await r.member.respond(r.msg1);
  const msg4 = await r.member.finish(await r.joiner.confirm(msg2));
  assert.equal(await rejection(r.joiner.open(flip(msg4, 30))), 'bad-seal');
  // A knock made with a guessed password, answered by a real member, then forged tagJ.
  const pw = await codePassword(s, '482');
  const guess = pw === '1234567' ? '7654321' : '1234567';
  const attacker = await newJoiner('482', guess);
  const member = await newMember(s, '482');
  msg2 = await member.respond(attacker.msg1);
  assert.equal(await rejection(attacker.joiner.confirm(msg2)), 'wrong-code');
  assert.equal(await rejection(member.finish(Uint8Array.of(0x13, ...new Uint8Array(32)))), 'bad-confirm');
});

test('inputs are checked', async () => {
  assert.equal(await rejection(newJoiner('48', '1234567')), 'bad-nameplate');
  assert.equal(await rejection(newJoiner('482', '123456')), 'bad-password');
  assert.equal(await rejection(newJoiner('482', '１２３４５６７')), 'bad-password');
  assert.equal(await rejection(newMember(new Uint8Array(31), '482')), 'bad-secret');
  assert.equal(await rejection(newMember('not bytes', '482')), 'bad-secret');
  assert.equal(await rejection(newMember(newSecret(), '48a')), 'bad-nameplate');
  assert.equal(await rejection(newJoiner('482', '1234567', { random: () => new Uint8Array(3) })), 'random');
  assert.throws(() => parseCode(42), (e) => codeOf(e) === 'bad-code');
  assert.throws(() => formatCode('482', '12345678'), (e) => codeOf(e) === 'bad-password');
  const s = newSecret();
  const { joiner, member } = await start(s, '482');
  assert.equal(await rejection(member.respond('not bytes')), 'malformed');
  assert.equal(await rejection(joiner.confirm(null)), 'malformed');
  // S is copied: clearing the caller's array after newMember changes nothing.
  const s2 = newSecret();
  const keep = s2.slice();
  const r = await start(s2, '482');
  s2.fill(0);
  const msg4 = await r.member.finish(await r.joiner.confirm(await r.member.respond(r.msg1)));
  assert.deepEqual(await r.joiner.open(msg4), keep);
});
