// Package operator is Sotto's operator mode: the server runs inside another
// application (the "embedding app") whose backend decides who may enter which
// room. It is on when SOTTO_SECRET is set, and it has two halves:
//
//   - Tokens (token.go, verifier.go). Creating or joining a room needs a
//     short-lived, single-use token the embedding app's backend signs with
//     HMAC-SHA256 under the secret, over the room, an opaque user id, a role
//     and an expiry. The Verifier checks tokens and remembers used ones, in
//     memory, until they expire. Format and signing examples: docs/tokens.md.
//   - The operator API (api.go, bearer.go): HTTP endpoints under /api/v1/,
//     authenticated by the same secret as a bearer token, that list live
//     rooms, remove a participant and change a participant's role. See
//     docs/api.md.
//
// Like room/, the package does no logging and keeps nothing on disk. The only
// names it ever sees for people are the embedding app's opaque user ids; it
// never logs them, never puts them in an error, and the API never answers
// with one.
package operator
