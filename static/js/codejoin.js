// Joining by a typed room code (docs/protocol.md, "Joining by code"): the
// code's nameplate routes a knock to a member of the room; the password part
// never leaves this page. A PAKE exchange (js/pake/, CPace over
// ristretto255) with that member, relayed by the server as four opaque
// messages, turns the code into the room secret S. The PAKE modules and the
// curve library are loaded only here, when someone actually joins by code.

import { Signaling, socketURL } from './signaling.js';
import { fromBase64url, toBase64url } from './e2ee/encoding.js';
import { knockEnded, knockRefused, proofRejected } from './codeoutcome.js';

// The whole exchange; the server ends it after 20 s itself.
const EXCHANGE_WITHIN_MS = 30000;

/** CodeJoinError carries a stable code for the UI: see MESSAGES in codeoutcome.js. */
export class CodeJoinError extends Error {
  constructor(code) {
    super(code);
    this.name = 'CodeJoinError';
    this.code = code;
  }
}

/**
 * secretFromCode resolves to the room secret for a typed code, or rejects
 * with a CodeJoinError: 'bad-code' (not a code), 'no_such_room', 'wrong-code',
 * 'try_later', 'timeout', 'gone' (the member left), 'failed' (anything else).
 */
export async function secretFromCode(typed, opts = {}) {
  const pake = await import('./pake/index.js');
  let parsed;
  try {
    parsed = pake.parseCode(typed);
  } catch {
    throw new CodeJoinError('bad-code');
  }
  const { joiner, msg1 } = await pake.newJoiner(parsed.nameplate, parsed.password);

  // Messages of our exchange, in order; knock_done ends it.
  const inbox = [];
  let wake = () => {};
  const sig = new Signaling({
    // The nameplate routes the knock to the node that minted it (cluster).
    url: opts.url || socketURL(location, { nameplate: parsed.nameplate }),
    onMessage: (m) => {
      if (m.type === 'knock_data' || m.type === 'knock_done') {
        inbox.push(m);
        wake();
      }
    },
    onClose: () => {
      inbox.push({ type: 'closed' });
      wake();
    },
  });
  const deadline = Date.now() + EXCHANGE_WITHIN_MS;
  let id = '';
  const next = async () => {
    for (;;) {
      const m = inbox.shift();
      if (m) {
        if (m.type === 'closed') throw new CodeJoinError('failed');
        if (m.knock !== id) continue;
        if (m.type === 'knock_done') throw new CodeJoinError(knockEnded(m.result));
        return fromBase64url(m.data);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new CodeJoinError('timeout');
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  };
  try {
    await sig.open();
    try {
      id = (await sig.request({ type: 'knock', nameplate: parsed.nameplate, data: toBase64url(msg1) })).knock;
    } catch (err) {
      throw new CodeJoinError(knockRefused(err?.code));
    }
    const msg2 = await next();
    let msg3;
    try {
      msg3 = await joiner.confirm(msg2);
    } catch (err) {
      // Tell the member at once (it stops waiting; the try is counted).
      sig.send({ type: 'knock_done', knock: id });
      throw new CodeJoinError(proofRejected(pake.codeOf(err)));
    }
    sig.send({ type: 'knock_data', knock: id, data: toBase64url(msg3) });
    const msg4 = await next();
    try {
      return await joiner.open(msg4);
    } catch {
      throw new CodeJoinError('failed');
    }
  } catch (err) {
    if (err instanceof CodeJoinError) throw err;
    throw new CodeJoinError('failed');
  } finally {
    sig.close();
  }
}

/**
 * KnockAnswerer is a member's side: it answers the knocks the server sends
 * to this member with the room secret's PAKE, one Member per exchange.
 */
// MAX_ANSWERED_FAILURES: a member answers at most this many failed
// exchanges per nameplate. The server retires a code after 5 failures in
// the room; this holds even against a server that lies about counting.
export const MAX_ANSWERED_FAILURES = 5;
// ...and at most this many over every code of the room (the server chooses
// nameplates, so a per-nameplate cap alone would not bound a lying server).
export const MAX_ANSWERED_FAILURES_TOTAL = 20;

export class KnockAnswerer {
  #secret;
  #nameplate;
  #send;
  #members = new Map(); // knock id -> pake Member (null while it is being made)
  #failures; // { byPlate: Map(nameplate -> count), total }, kept by the session across connections

  /** secret: S; nameplate: the room's now; send(msg): to the server; failures: see above. */
  constructor(secret, nameplate, send, failures = { byPlate: new Map(), total: 0 }) {
    this.#secret = secret;
    this.#nameplate = nameplate;
    this.#send = send;
    this.#failures = failures;
  }

  setNameplate(nameplate) {
    this.#nameplate = nameplate;
  }

  /** onMessage takes knock, knock_data and knock_done. */
  async onMessage(m) {
    const id = m.knock;
    if (typeof id !== 'string') return;
    const plate = this.#nameplate;
    const failed = () => {
      this.#failures.byPlate.set(plate, (this.#failures.byPlate.get(plate) ?? 0) + 1);
      this.#failures.total++;
    };
    // forget drops an exchange, counting it if the joiner had had our answer.
    const forget = () => {
      if (this.#members.get(id)?.abort?.()) failed();
      this.#members.delete(id);
    };
    const end = () => {
      forget();
      this.#send({ type: 'knock_done', knock: id });
    };
    try {
      if (m.type === 'knock') {
        if ((this.#failures.byPlate.get(plate) ?? 0) >= MAX_ANSWERED_FAILURES || this.#failures.total >= MAX_ANSWERED_FAILURES_TOTAL) return end();
        this.#members.set(id, null); // a knock_done while we get ready removes it
        const pake = await import('./pake/index.js');
        const member = await pake.newMember(this.#secret, plate);
        if (!this.#members.has(id)) return; // ended meanwhile
        this.#members.set(id, member);
        const msg2 = await member.respond(fromBase64url(m.data));
        if (!this.#members.has(id)) {
          if (member.abort()) failed();
          return;
        }
        this.#send({ type: 'knock_data', knock: id, data: toBase64url(msg2) });
      } else if (m.type === 'knock_data') {
        const member = this.#members.get(id);
        if (!member) return end();
        this.#members.delete(id);
        let msg4;
        try {
          msg4 = await member.finish(fromBase64url(m.data));
        } catch {
          failed(); // the joiner did not prove the code: nothing is sent but the end
          this.#send({ type: 'knock_done', knock: id });
          return;
        }
        this.#send({ type: 'knock_data', knock: id, data: toBase64url(msg4) });
      } else if (m.type === 'knock_done') {
        forget();
      }
    } catch {
      end();
    }
  }
}

/** roomCode is the code members show: nameplate and password part. */
export async function roomCode(secret, nameplate) {
  const { codePassword, formatCode } = await import('./pake/code.js');
  return formatCode(nameplate, await codePassword(secret, nameplate));
}
