// One side of a join-by-code exchange, run by the Go interop test
// (pake/interop_test.go) with the browser module (static/js/pake) in Node.
// Messages travel as lines on stdin and stdout:
//
//   msg <base64url>    a protocol message
//   secret <hex>       the joiner's result
//   error <code>       a pake error code (the side stops)
//   abort              (to a member) the joiner left: call abort()
//
// Usage:
//   node pake/jstest/interop.mjs member <S as hex> <nameplate>
//       reads msg1, writes msg2; reads msg3 (or abort), writes msg4 (or an error)
//   node pake/jstest/interop.mjs joiner <typed code>
//       writes msg1; reads msg2, writes msg3 (or an error); reads msg4, writes the secret

import { createInterface } from 'node:readline';
import { fromBase64url, fromHex, toBase64url, toHex } from '../../static/js/e2ee/encoding.js';
import { codeOf, newJoiner, newMember, parseCode } from '../../static/js/pake/index.js';

const lines = createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
const say = (s) => process.stdout.write(`${s}\n`);

async function next() {
  const { value, done } = await lines.next();
  if (done) throw new Error('stdin closed');
  return value.trim();
}

async function readMsg() {
  const line = await next();
  if (line === 'abort') return null;
  if (!line.startsWith('msg ')) throw new Error(`unexpected line ${JSON.stringify(line)}`);
  const b = fromBase64url(line.slice(4));
  if (b === null) throw new Error('bad base64url');
  return b;
}

async function step(fn) {
  try {
    return await fn();
  } catch (err) {
    const code = codeOf(err);
    if (!code) throw err;
    say(`error ${code}`);
    return null;
  }
}

async function member(secretHex, nameplate) {
  const m = await newMember(fromHex(secretHex), nameplate);
  const msg2 = await step(async () => m.respond(await readMsg()));
  if (msg2 === null) return;
  say(`msg ${toBase64url(msg2)}`);
  const msg3 = await readMsg();
  if (msg3 === null) {
    const err = m.abort();
    say(err ? `error ${codeOf(err)}` : 'ok');
    return;
  }
  const msg4 = await step(() => m.finish(msg3));
  if (msg4 !== null) say(`msg ${toBase64url(msg4)}`);
}

async function joiner(typed) {
  const parsed = await step(() => parseCode(typed));
  if (parsed === null) return;
  const { joiner: j, msg1 } = await newJoiner(parsed.nameplate, parsed.password);
  say(`msg ${toBase64url(msg1)}`);
  const msg3 = await step(async () => j.confirm(await readMsg()));
  if (msg3 === null) return;
  say(`msg ${toBase64url(msg3)}`);
  const secret = await step(async () => j.open(await readMsg()));
  if (secret !== null) say(`secret ${toHex(secret)}`);
}

const [role, ...args] = process.argv.slice(2);
if (role === 'member') await member(args[0], args[1]);
else if (role === 'joiner') await joiner(args[0]);
else throw new Error(`unknown role ${role}`);
process.exit(0);
