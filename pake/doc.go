// Package pake lets someone join a room by typing a short code: a member
// already in the room hands the room secret S to the joiner through a
// password-authenticated key exchange (the Magic Wormhole pattern), which
// the server relays as opaque blobs without being able to read or usefully
// change it. The package is the cryptographic core and the two state
// machines; it knows nothing of the transport. static/js/pake is the same
// protocol in the browser, and testdata/vectors.json (written by
// cmd/pake-vectors) pins both to the same bytes.
//
// # The code
//
// "482-719-3528": a nameplate the server assigns ("482", 3 to 12 digits,
// growing with the number of live codes) and a 7-digit password part that
// every member derives from S, so any member can answer:
//
//	password = HKDF-SHA256(ikm = S, salt = "sotto/v1", info = "code " || nameplate, L = 8)
//	           read big-endian, mod 10^7, 7 digits with leading zeros
//
// 10^7 passwords are 23.25 bits. ParseCode drops spaces, dashes and dots
// (and their Unicode look-alikes) and splits off the last 7 digits.
//
// # The exchange
//
// CPace (draft-irtf-cfrg-cpace-21, see sotto/pake/cpace) over ristretto255
// with SHA-512, in the initiator-responder setting: PRS = the 7 password
// digits in ASCII, CI = "sotto/v1 knock " || nameplate, sid = 16 random
// bytes chosen by the joiner, ADa = ADb = empty. Then key confirmation in
// both directions, the member first, and S sealed under a key only a
// party that knew the code can have. Every message starts with a byte that
// holds the version (1) in its high nibble and the message number in the
// low one.
//
//	joiner (typed the code)                          member (holds S)
//	msg1 = 0x11 || sid (16) || Ya (32)        ->     49 bytes
//	                                          <-     msg2 = 0x12 || Yb (32) || tagM (32), 65 bytes
//	checks tagM (else ErrWrongCode, stops)
//	msg3 = 0x13 || tagJ (32)                  ->     33 bytes
//	                                                 checks tagJ (else ErrBadConfirm, stops)
//	                                          <-     msg4 = 0x14 || nonce (12) || AES-256-GCM(S) (48), 61 bytes
//	opens S (32 bytes)
//
// Ya = ya*g and Yb = yb*g, g derived from PRS, CI and sid; K = ya*Yb =
// yb*Ya; both sides abort if a received element does not decode or K is
// the identity. ISK = SHA-512(lv_cat("CPaceRistretto255_ISK", sid, K) ||
// transcript_ir(Ya, "", Yb, "")). From ISK, HKDF-SHA256 (salt "sotto/v1")
// derives kc_member ("knock confirm member"), kc_joiner ("knock confirm
// joiner") and seal_key ("knock seal"), 32 bytes each. th = SHA-256(msg1 ||
// 0x12 || Yb), every byte exchanged before the tags; tagM =
// HMAC-SHA256(kc_member, th), tagJ = HMAC-SHA256(kc_joiner, th); msg4 is
// sealed with a random nonce and th as associated data.
//
// # What a malicious relay can and cannot do
//
// The relay (the server, or anyone on the path) sees sid, Ya, Yb, the two
// tags and the ciphertext. CPace makes these look random to anyone without
// the password, and they hold nothing testable offline: to check a
// password guess an attacker must put it into a live exchange, as the
// joiner (its Ya commits to one guess, which tagM then confirms or refutes)
// or as the member (its Yb and tagM commit to one guess, which the joiner
// refutes by sending nothing). One exchange, one guess; a Member answers
// one msg1 only.
//
// It can: refuse to relay (denial of service); try one password per
// exchange it starts or intercepts; destroy msg4 after the joiner proved
// the code (the joiner then fails with ErrBadSeal and tries again).
//
// It cannot: learn S or the password from any transcript, successful or
// failed; make a member seal S without proving the code (substituted,
// replayed or modified messages 1 and 3 fail ErrBadConfirm, or the member
// is abandoned); make a joiner accept a secret it did not get from a
// member that knows the code (substituted, replayed or modified messages 2
// and 4 fail ErrWrongCode, ErrBadPoint or ErrBadSeal); replay messages
// from another exchange (sid, Ya and Yb are fresh, and th binds them).
//
// # Counting failures
//
// The caller that runs a Member must count failed exchanges per code and
// stop answering after a limit: once Respond has returned msg2, the
// exchange is one password guess, and it failed unless Finish returns msg4.
// Finish's errors and Abort's ErrAbandoned (for an exchange given up,
// e.g. when no msg3 comes in time) are what to count. With a limit of 5 an
// attacker's chance per code is 5 in 10^7.
//
// Joiner and Member are single-use and not safe for concurrent use; each
// method may be called once, in order, and any error ends the exchange
// (later calls return ErrState). No method panics on any input.
package pake
