package operator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
)

// CheckSecret reports whether secret (SOTTO_SECRET as given) may be used:
// MinSecretBytes to MaxSecretBytes long, and in the alphabet of an OAuth
// bearer token (RFC 6750 b64token: A-Z a-z 0-9 - . _ ~ + / with '=' only at
// the end), so that it passes unchanged through an Authorization header, an
// environment variable and a shell command line. `openssl rand -base64 32`
// and `openssl rand -hex 32` make such secrets. The error never contains the
// secret.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretBytes {
		return errors.New("operator: the secret must be at least 32 bytes (make one with: openssl rand -base64 32)")
	}
	if len(secret) > MaxSecretBytes {
		return errors.New("operator: the secret must be at most 512 bytes")
	}
	end := len(secret)
	for end > 0 && secret[end-1] == '=' {
		end--
	}
	for _, c := range secret[:end] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return errors.New("operator: the secret may hold only A-Z a-z 0-9 - . _ ~ + / (and '=' at the end), as base64 or hex does")
		}
	}
	if end == 0 {
		return errors.New("operator: the secret cannot be only '='")
	}
	return nil
}

// bearerKey keys the hashes BearerOK compares. It is random per process, so
// nobody outside knows the hash of any string: even a compare that leaked
// timing would leak bits of a value nobody can relate to the secret.
var bearerKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand since Go 1.24)
	return k
}()

// BearerOK reports whether r carries exactly one "Authorization: Bearer
// <secret>" header with the right secret. The scheme name is matched without
// regard to case (RFC 9110 §11.1).
//
// The compare takes the same time whatever the presented value shares with
// the secret, and whatever its length: both are hashed with HMAC-SHA256 under
// a per-process random key, and the two 32-byte hashes are compared in
// constant time. The time does grow with the presented value's length (one
// SHA-256 block per 64 bytes), which is the caller's own input and says
// nothing about the secret. BenchmarkBearer and TestBearerTiming measure it.
func BearerOK(r *http.Request, secret []byte) bool {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return false
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || len(secret) == 0 {
		return false
	}
	got, want := bearerHash([]byte(tok)), bearerHash(secret)
	return hmac.Equal(got[:], want[:])
}

func bearerHash(b []byte) [sha256.Size]byte {
	h := hmac.New(sha256.New, bearerKey)
	h.Write(b)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
