// How a join by typed code ended, in the words the home screen shows. Pure:
// codejoin.js runs the exchange and asks here what each answer from the
// server or the PAKE means; ui/home.js shows the message. Every outcome is
// one of the keys of MESSAGES.

export const MESSAGES = {
  'bad-code': 'That is not a room code. A code is the digits shown under "Room code" in the room, like 482-719-3528.',
  no_such_room: 'No room has this code right now. Check the first digits; a room ends when everyone has left.',
  'wrong-code': 'That code is wrong. Check it with the person who shared it. (After a few wrong tries the room gets a new code.)',
  try_later: 'Too many codes were tried just now. Wait a few seconds and try again.',
  timeout: 'Nobody in the room answered in time. Try again.',
  gone: 'The person who was letting you in left. Try again.',
  refused: 'Nobody in the room can let you in by code right now (too many wrong codes were tried). Ask for the invite link.',
  failed: 'Joining by code did not work. Try again, or open the invite link.',
};

// The server's error codes for a knock that the user can act on; any other
// error is 'failed'.
const KNOCK_ERRORS = new Set(['no_such_room', 'try_later']);

// knock_done results (docs/protocol.md): 'ok' before our last message is
// not a success, and 'failed' means the member did not accept our proof.
const KNOCK_ENDINGS = new Map([
  ['ok', 'failed'],
  ['failed', 'wrong-code'],
  ['timeout', 'timeout'],
  ['gone', 'gone'],
  ['refused', 'refused'],
  ['try_later', 'try_later'],
]);

/** knockRefused: the outcome when the server answers our knock with an error code. */
export const knockRefused = (code) => (KNOCK_ERRORS.has(code) ? code : 'failed');

/** knockEnded: the outcome when a knock_done with `result` ends the exchange early. */
export const knockEnded = (result) => KNOCK_ENDINGS.get(result) ?? 'failed';

/** proofRejected: the outcome when our PAKE rejects the member's answer (pake error code). */
export const proofRejected = (pakeCode) => (pakeCode === 'wrong-code' ? 'wrong-code' : 'failed');

/** messageOf: what the home screen says for an outcome (anything unknown is 'failed'). */
export const messageOf = (outcome) => (Object.hasOwn(MESSAGES, outcome) ? MESSAGES[outcome] : MESSAGES.failed);
