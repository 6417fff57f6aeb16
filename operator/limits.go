package operator

import "time"

// Limits of operator mode. The token limits are part of the token format's
// contract (docs/tokens.md): a backend must be able to rely on them.
const (
	// MinSecretBytes is the shortest SOTTO_SECRET accepted. The secret is an
	// HMAC key and a bearer password at once; 32 bytes of base64 or hex from
	// a random source (openssl rand -base64 32) is 192-256 bits, beyond
	// guessing, where a human-chosen phrase would not be.
	MinSecretBytes = 32
	// MaxSecretBytes bounds the secret so it fits in one Authorization
	// header well inside the server's 16 KiB header limit.
	MaxSecretBytes = 512

	// MaxTokenBytes is the longest token read. The longest well-formed token
	// (64-character user id, 19-digit expiry, 32-byte nonce) is 205 bytes.
	MaxTokenBytes = 256
	// MaxUserBytes is the longest user id. The embedding app's own ids
	// (database keys, UUIDs, hashes) fit; the server never interprets them.
	MaxUserBytes = 64
	// MinNonceBytes and MaxNonceBytes bound a token's nonce. 8 random bytes
	// keep two tokens signed in the same second for the same user and room
	// from colliding; Sign uses DefaultNonceBytes.
	MinNonceBytes     = 8
	MaxNonceBytes     = 32
	DefaultNonceBytes = 16

	// MaxTokenLifetime is how far in the future a token's expiry may lie when
	// it is presented. Used tokens are remembered until they expire, so this
	// bounds how long the replay cache must keep each one. Backends should
	// sign for minutes (docs/tokens.md suggests 5), far below it; the rest
	// is headroom for the backend's clock running ahead of the server's.
	MaxTokenLifetime = time.Hour
	// MaxUsedTokens bounds the replay cache: used, unexpired tokens. An entry
	// costs about 110 bytes (measured: 10.9 MB for a full cache). Filling it
	// takes 100,000 successful creates and joins within one token lifetime
	// (28 a second for an hour, or 330 a second with 5-minute tokens); when
	// it is full the Verifier refuses new tokens (ErrBusy) rather than forget
	// a used one, which would let it be replayed.
	MaxUsedTokens = 100000

	// maxBodyBytes bounds an API request body. The only body is
	// {"role":"listen"}.
	maxBodyBytes = 1 << 10
)
