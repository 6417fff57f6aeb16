// Errors with stable codes, the same as the Go package's (e2ee/errors.go)
// and as the "error" fields of e2ee/testdata/vectors.json.
// Messages never contain key material or plaintext.

export class E2EEError extends Error {
  constructor(code, message) {
    super(`e2ee: ${message}`);
    this.name = 'E2EEError';
    this.code = code;
  }
}

const MESSAGES = {
  'bad-secret': 'room secret must be 32 bytes',
  'bad-key': 'key has the wrong length',
  'bad-kid': 'sender id (KID) out of range',
  'bad-header': 'malformed SFrame header',
  'truncated': 'frame too short',
  'unknown-kid': 'frame from an unknown sender',
  'too-many-senders': 'too many senders registered',
  'replay': 'replayed frame',
  'too-old': 'frame older than the replay window',
  'auth': 'frame failed authentication',
  'ctr-exhausted': 'frame counter exhausted: start a new sender',
  'blob-too-large': 'blob too large',
  'blob-malformed': 'blob is not valid base64url or is too short',
  'blob-version': 'unsupported blob version',
  'blob-auth': 'blob failed authentication',
  'link-format': 'link has no room secret fragment',
  'link-version': 'unsupported link version',
  'link-chars': 'link secret is not canonical base64url',
  'link-length': 'link secret has the wrong length',
  // v2 media keys (docs/keys.md).
  'bad-sid': 'sender id (sid) is not 8 lowercase hex digits',
  'duplicate-sid': 'another live member already announced this sid',
  'bad-public-key': 'X25519 public key is malformed or of low order',
  'key-pair-erased': 'the ephemeral key pair was erased',
  'key-blob-format': 'key blob has the wrong length',
  'key-blob-version': 'unsupported key blob version',
  'key-not-for-us': 'key blob addressed to another member',
  'unknown-sender': 'key blob from a sid that is not a live member',
  'key-unwrap': 'key blob failed authentication',
  'stale-epoch': 'key blob for an older epoch, or another key for the current one',
  // JavaScript only: the browser offers no way to encrypt media frames.
  'unsupported': 'this browser cannot encrypt audio end to end',
};

/** fail returns the E2EEError for a code, to be thrown. */
export function fail(code, detail) {
  const msg = MESSAGES[code] ?? code;
  return new E2EEError(code, detail ? `${msg} (${detail})` : msg);
}

/** codeOf returns the code of an E2EEError, or '' for anything else. */
export function codeOf(err) {
  return err instanceof E2EEError ? err.code : '';
}
