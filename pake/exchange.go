package pake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/gtank/ristretto255"

	"sotto/pake/cpace"
)

// ciPrefix is the start of CPace's channel identifier CI; the nameplate
// follows, so a run for one nameplate never matches a run for another.
const ciPrefix = "sotto/v1 knock "

// HKDF info strings for the keys derived from ISK (salt "sotto/v1").
const (
	infoConfirmMember = "knock confirm member"
	infoConfirmJoiner = "knock confirm joiner"
	infoSeal          = "knock seal"
)

// sessionKeys are what both sides derive once CPace has run.
type sessionKeys struct {
	confirmMember []byte // HMAC key of tagM
	confirmJoiner []byte // HMAC key of tagJ
	seal          []byte // AES-256-GCM key of message 4
	th            []byte // transcript hash: tags' input and message 4's AAD
}

// deriveSession runs the end of CPace and the key schedule: ISK from sid, K
// and the initiator-responder transcript of Ya and Yb (ADa and ADb empty),
// then the three keys from ISK, and the transcript hash
// SHA-256(msg1 || msg2's type byte || Yb): every byte exchanged before the
// tags.
func deriveSession(msg1, sid, ya, yb, k []byte) (*sessionKeys, error) {
	isk := cpace.ISK(sid, k, cpace.TranscriptIR(ya, nil, yb, nil))
	s := new(sessionKeys)
	var err error
	for _, p := range []struct {
		dst  *[]byte
		info string
	}{{&s.confirmMember, infoConfirmMember}, {&s.confirmJoiner, infoConfirmJoiner}, {&s.seal, infoSeal}} {
		if *p.dst, err = hkdf.Key(sha256.New, isk, []byte(scheduleSalt), p.info, 32); err != nil {
			return nil, err
		}
	}
	h := sha256.New()
	h.Write(msg1)
	h.Write([]byte{typeAnswer})
	h.Write(yb)
	s.th = h.Sum(nil)
	return s, nil
}

func mac(key, th []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(th)
	return m.Sum(nil)
}

func gcm(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil { // only for a key that is not 16, 24 or 32 bytes
		panic("pake: " + err.Error())
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic("pake: " + err.Error())
	}
	return a
}

// States of both sides. Each method may be called once, in order; any
// error ends the exchange, and every later call returns ErrState.
type state int

const (
	stateStart     state = iota
	stateWaiting         // joiner: msg1 sent; member: msg2 sent
	stateConfirmed       // joiner: msg3 sent
	stateDone            // finished (successfully or not)
)

// Joiner is the side that typed the code and wants the room secret. Make it
// with NewJoiner, then call Confirm with message 2 and Open with message 4.
// A Joiner is one exchange; it is not safe for concurrent use.
type Joiner struct {
	state state
	sid   []byte
	ya    *ristretto255.Scalar
	msg1  []byte
	keys  *sessionKeys
}

// NewJoiner starts an exchange for a typed code (see ParseCode): it returns
// the joiner and message 1, sid || Ya, to send to a member.
func NewJoiner(nameplate, password string) (*Joiner, []byte, error) {
	return NewJoinerWithRand(rand.Reader, nameplate, password)
}

// NewJoinerWithRand is NewJoiner with the randomness read from r: first 16
// bytes of sid, then 32 bytes for the scalar ya. It exists for test vectors;
// everything else must use NewJoiner.
func NewJoinerWithRand(r io.Reader, nameplate, password string) (*Joiner, []byte, error) {
	if !validNameplate(nameplate) {
		return nil, nil, ErrBadNameplate
	}
	if !validPassword(password) {
		return nil, nil, ErrBadPassword
	}
	sid := make([]byte, SIDSize)
	if _, err := io.ReadFull(r, sid); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	yaBytes, err := cpace.SampleScalar(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	ya, err := cpace.ScalarFromBytes(yaBytes)
	if err != nil {
		return nil, nil, err // SampleScalar's output is always canonical and non-zero
	}
	g := cpace.CalculateGenerator([]byte(password), []byte(ciPrefix+nameplate), sid)
	msg1 := make([]byte, 0, Msg1Size)
	msg1 = append(msg1, typeKnock)
	msg1 = append(msg1, sid...)
	msg1 = append(msg1, cpace.ScalarMult(ya, g)...)
	return &Joiner{state: stateWaiting, sid: sid, ya: ya, msg1: msg1}, msg1, nil
}

// Confirm reads message 2 (Yb || tagM). If tagM proves that the member ran
// CPace with the same code over the same messages, Confirm returns message
// 3 (tagJ), the joiner's proof. Otherwise it returns ErrWrongCode (or a
// decoding error) and the exchange is over: nothing is sent back.
func (j *Joiner) Confirm(msg2 []byte) ([]byte, error) {
	if j == nil || j.state != stateWaiting {
		return nil, ErrState
	}
	j.state = stateDone // until proven otherwise
	if err := check(msg2, typeAnswer, Msg2Size); err != nil {
		return nil, err
	}
	yb, tagM := msg2[1:1+cpace.ElementSize], msg2[1+cpace.ElementSize:]
	k := cpace.ScalarMultVfy(j.ya, yb)
	if cpace.IsIdentity(k) {
		return nil, ErrBadPoint
	}
	keys, err := deriveSession(j.msg1, j.sid, j.msg1[1+SIDSize:], yb, k)
	if err != nil {
		return nil, err
	}
	j.ya = nil
	if !hmac.Equal(tagM, mac(keys.confirmMember, keys.th)) {
		return nil, ErrWrongCode
	}
	j.keys = keys
	j.state = stateConfirmed
	return append([]byte{typeProof}, mac(keys.confirmJoiner, keys.th)...), nil
}

// Open reads message 4 and returns the room secret S (32 bytes).
func (j *Joiner) Open(msg4 []byte) ([]byte, error) {
	if j == nil || j.state != stateConfirmed {
		return nil, ErrState
	}
	j.state = stateDone
	keys := j.keys
	j.keys = nil
	if err := check(msg4, typeSecret, Msg4Size); err != nil {
		return nil, err
	}
	nonce, ct := msg4[1:1+NonceSize], msg4[1+NonceSize:]
	secret, err := gcm(keys.seal).Open(nil, nonce, ct, keys.th)
	if err != nil || len(secret) != SecretSize {
		return nil, ErrBadSeal
	}
	return secret, nil
}

// Member is a room member answering a knock: it holds the room secret S,
// derives the code's password from it, and hands S over only to a joiner
// that proved the code. Make it with NewMember, then call Respond with
// message 1 and Finish with message 3. A Member is one exchange; it is not
// safe for concurrent use.
//
// Counting failures: once Respond has returned message 2, the exchange is
// one password guess. Count it as failed unless Finish returns message 4:
// Finish's ErrBadConfirm, and an exchange given up (call Abort, which then
// returns ErrAbandoned), both count.
type Member struct {
	state  state
	rand   io.Reader
	secret []byte
	prs    []byte
	ci     []byte
	keys   *sessionKeys
}

// NewMember prepares a member of the room with secret S to answer one
// knock at nameplate. It fails only for a malformed secret or nameplate.
func NewMember(secret []byte, nameplate string) (*Member, error) {
	return NewMemberWithRand(rand.Reader, secret, nameplate)
}

// NewMemberWithRand is NewMember with the randomness read from r: 32 bytes
// for the scalar yb in Respond, then the 12-byte nonce in Finish. It exists
// for test vectors; everything else must use NewMember.
func NewMemberWithRand(r io.Reader, secret []byte, nameplate string) (*Member, error) {
	password, err := CodePassword(secret, nameplate)
	if err != nil {
		return nil, err
	}
	return &Member{
		rand:   r,
		secret: append([]byte(nil), secret...),
		prs:    []byte(password),
		ci:     []byte(ciPrefix + nameplate),
	}, nil
}

// Respond reads message 1 (sid || Ya) and returns message 2 (Yb || tagM):
// the member confirms first, so a joiner with the right code knows it
// reached a real member before it proves anything.
func (m *Member) Respond(msg1 []byte) (msg2 []byte, err error) {
	if m == nil || m.state != stateStart {
		return nil, ErrState
	}
	m.state = stateDone
	prs := m.prs
	m.prs = nil
	defer func() {
		if err != nil {
			m.secret = nil
		}
	}()
	if err := check(msg1, typeKnock, Msg1Size); err != nil {
		return nil, err
	}
	sid, ya := msg1[1:1+SIDSize], msg1[1+SIDSize:]
	if _, err := ristretto255.NewIdentityElement().SetCanonicalBytes(ya); err != nil {
		return nil, ErrBadPoint
	}
	ybBytes, err := cpace.SampleScalar(m.rand)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	y, err := cpace.ScalarFromBytes(ybBytes)
	if err != nil {
		return nil, err // SampleScalar's output is always canonical and non-zero
	}
	yb := cpace.ScalarMult(y, cpace.CalculateGenerator(prs, m.ci, sid))
	k := cpace.ScalarMultVfy(y, ya)
	if cpace.IsIdentity(k) { // Ya is the identity
		return nil, ErrBadPoint
	}
	keys, err := deriveSession(msg1, sid, ya, yb, k)
	if err != nil {
		return nil, err
	}
	m.keys = keys
	m.state = stateWaiting
	msg2 = make([]byte, 0, Msg2Size)
	msg2 = append(msg2, typeAnswer)
	msg2 = append(msg2, yb...)
	return append(msg2, mac(keys.confirmMember, keys.th)...), nil
}

// Finish reads message 3 (tagJ). If it proves the code, Finish returns
// message 4: S sealed with AES-256-GCM under the session's seal key, a
// random nonce first, the transcript hash as associated data. Otherwise it
// returns ErrBadConfirm (or a decoding error), sends nothing, and the caller
// counts a failed exchange.
func (m *Member) Finish(msg3 []byte) ([]byte, error) {
	if m == nil || m.state != stateWaiting {
		return nil, ErrState
	}
	m.state = stateDone
	keys, secret := m.keys, m.secret
	m.keys, m.secret = nil, nil
	if err := check(msg3, typeProof, Msg3Size); err != nil {
		return nil, err
	}
	if !hmac.Equal(msg3[1:], mac(keys.confirmJoiner, keys.th)) {
		return nil, ErrBadConfirm
	}
	nonce := make([]byte, NonceSize)
	if _, err := io.ReadFull(m.rand, nonce); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	msg4 := make([]byte, 0, Msg4Size)
	msg4 = append(msg4, typeSecret)
	msg4 = append(msg4, nonce...)
	return gcm(keys.seal).Seal(msg4, nonce, secret, keys.th), nil
}

// Abort ends an exchange that will not be finished (the joiner left, or a
// time limit ran out). It returns ErrAbandoned if message 2 had been sent
// and no message 3 read, so that the caller counts the guess; otherwise
// (never answered, already finished or failed) nil.
func (m *Member) Abort() error {
	if m == nil {
		return nil
	}
	was := m.state
	m.state, m.keys, m.secret, m.prs = stateDone, nil, nil, nil
	if was == stateWaiting {
		return ErrAbandoned
	}
	return nil
}
