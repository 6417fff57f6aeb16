// Errors with stable codes, the same as the Go package's (pake/errors.go)
// and as the "error" fields of pake/testdata/vectors.json.
// Messages never contain the room secret, the code's password digits or key
// material.

export class PakeError extends Error {
  constructor(code, message) {
    super(`pake: ${message}`);
    this.name = 'PakeError';
    this.code = code;
  }
}

const MESSAGES = {
  'bad-code': 'not a room code: expected digits, a nameplate of 3 to 12 and 7 more',
  'bad-nameplate': 'nameplate must be 3 to 12 ASCII digits',
  'bad-password': 'password part must be 7 ASCII digits',
  'bad-secret': 'room secret must be 32 bytes',
  'malformed': 'message has the wrong length',
  'version': 'message is of an unsupported version',
  'message-type': 'message is not the one expected at this step',
  'bad-point': 'invalid or identity group element',
  'wrong-code': 'the code is wrong, or the exchange was tampered with',
  'bad-confirm': 'the joiner did not prove the code',
  'abandoned': 'the exchange was abandoned before the joiner proved the code',
  'bad-seal': 'the sealed secret failed authentication',
  'state': 'called out of order, twice, or after the exchange ended',
  'random': 'the random source failed',
};

/** fail returns the PakeError for a code, to be thrown (or, from abort, returned). */
export function fail(code, detail) {
  const msg = MESSAGES[code] ?? code;
  return new PakeError(code, detail ? `${msg} (${detail})` : msg);
}

/** codeOf returns the code of a PakeError, or '' for anything else. */
export function codeOf(err) {
  return err instanceof PakeError ? err.code : '';
}
