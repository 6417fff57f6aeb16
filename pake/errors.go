package pake

import "errors"

// Error is a failure with a stable code. The same codes are used by the
// JavaScript module (static/js/pake/errors.js) and by testdata/vectors.json,
// so a test can assert "this input fails with wrong-code" in both languages.
//
// Messages never contain the room secret, the code's password digits or key
// material.
type Error struct {
	code string
	msg  string
}

func (e *Error) Error() string { return "pake: " + e.msg }

// Code returns the stable code, e.g. "wrong-code" or "bad-confirm".
func (e *Error) Code() string { return e.code }

// The sentinel errors. Compare with errors.Is; read the code with Code.
var (
	// Codes typed by a person, and the values they are made of.
	ErrBadCode      = &Error{"bad-code", "not a room code: expected digits, a nameplate of 3 to 12 and 7 more"}
	ErrBadNameplate = &Error{"bad-nameplate", "nameplate must be 3 to 12 ASCII digits"}
	ErrBadPassword  = &Error{"bad-password", "password part must be 7 ASCII digits"}
	ErrBadSecret    = &Error{"bad-secret", "room secret must be 32 bytes"}

	// Messages that cannot be read.
	ErrMalformed = &Error{"malformed", "message has the wrong length"}
	ErrVersion   = &Error{"version", "message is of an unsupported version"}
	ErrType      = &Error{"message-type", "message is not the one expected at this step"}
	ErrBadPoint  = &Error{"bad-point", "invalid or identity group element"}

	// Outcomes of the exchange.
	//
	// ErrWrongCode: the joiner could not verify the member's confirmation.
	// Either the typed code is wrong, or someone between the two (the relay)
	// changed a message: the two cannot be told apart, and neither delivers
	// anything.
	ErrWrongCode = &Error{"wrong-code", "the code is wrong, or the exchange was tampered with"}
	// ErrBadConfirm: the member could not verify the joiner's confirmation,
	// so the joiner did not prove the code. The member sends nothing more;
	// its caller counts this as a failed exchange.
	ErrBadConfirm = &Error{"bad-confirm", "the joiner did not prove the code"}
	// ErrAbandoned: the member's caller gave up on an exchange that had not
	// finished (Member.Abort). Counted like ErrBadConfirm.
	ErrAbandoned = &Error{"abandoned", "the exchange was abandoned before the joiner proved the code"}
	// ErrBadSeal: the sealed secret (message 4) did not authenticate.
	ErrBadSeal = &Error{"bad-seal", "the sealed secret failed authentication"}

	// ErrState: a method was called out of order, twice, or after a failure.
	ErrState = &Error{"state", "called out of order, twice, or after the exchange ended"}
	// ErrRandom: the random source failed.
	ErrRandom = &Error{"random", "the random source failed"}
)

// Code returns the stable code of a pake error (wrapped or not), or "" if
// err is nil or did not come from this package.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	return ""
}
