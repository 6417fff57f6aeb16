package pake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/gtank/ristretto255"

	"sotto/pake/cpace"
)

// The relay (the signaling server, or anyone on its path) carries the four
// messages as opaque blobs. These tests make it malicious: it substitutes
// its own PAKE messages, replays old ones, flips bits. In every case the
// joiner gets no S unless it typed the right code and the member sealed S
// for it; the member never produces message 4 unless the joiner proved the
// code; and every failure shows up as an error from the member's Finish (or
// its Abort, when no message 3 ever comes), which the member's caller
// counts.

// failureLimit is the policy the tests apply: after this many failed
// exchanges the room answers no more knocks for that code.
const failureLimit = 5

// counter is the member's caller: it counts failed exchanges.
type counter struct{ failures int }

func (c *counter) allow() bool { return c.failures < failureLimit }

// record counts err if it is a failed exchange, and reports whether it did.
func (c *counter) record(err error) bool {
	if err != nil {
		c.failures++
		return true
	}
	return false
}

// relay rewrites messages; a nil hook forwards unchanged. hook3 is called
// even when the joiner sent no message 3 (msg is nil then), so the relay
// can forge one; a nil result means no message 3 reaches the member.
type relay struct {
	hook1, hook2, hook3, hook4 func(msg []byte) []byte
}

func pass(h func([]byte) []byte, msg []byte) []byte {
	if h == nil {
		return msg
	}
	return h(msg)
}

type outcome struct {
	secret     []byte // what the joiner ended with
	joinerErr  error  // the joiner's first error
	memberMsg4 []byte // what the member produced, if anything
	memberErr  error  // the member's Respond, Finish or Abort error
	counted    bool   // the member's caller counted a failed exchange
}

// exchange runs one exchange through r. The joiner types password.
func exchange(t *testing.T, secret []byte, nameplate, password string, r relay, c *counter) outcome {
	t.Helper()
	var o outcome
	j, msg1, err := NewJoiner(nameplate, password)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMember(secret, nameplate)
	if err != nil {
		t.Fatal(err)
	}
	msg2, err := m.Respond(pass(r.hook1, msg1))
	if err != nil {
		o.memberErr = err // not a guess: no message 2 was made
		return o
	}
	msg3, err := j.Confirm(pass(r.hook2, msg2))
	if err != nil {
		o.joinerErr = err
	}
	if msg3 = pass(r.hook3, msg3); msg3 == nil {
		o.memberErr = m.Abort() // the joiner left, or the time ran out
		o.counted = c.record(o.memberErr)
		return o
	}
	msg4, err := m.Finish(msg3)
	o.memberMsg4 = msg4
	if err != nil {
		o.memberErr = err
		o.counted = c.record(err)
		return o
	}
	if o.joinerErr == nil {
		o.secret, o.joinerErr = j.Open(pass(r.hook4, msg4))
	}
	return o
}

// attackerAnswer is a relay posing as a member with a guessed password: a
// message 2 for msg1 made with its own yb and the guess (it does not know S).
func attackerAnswer(t *testing.T, msg1 []byte, nameplate, guess string) []byte {
	t.Helper()
	sid, ya := msg1[1:1+SIDSize], msg1[1+SIDSize:]
	yb, _ := cpace.SampleScalar(rand.Reader)
	y, _ := cpace.ScalarFromBytes(yb)
	ybPub := cpace.ScalarMult(y, cpace.CalculateGenerator([]byte(guess), []byte(ciPrefix+nameplate), sid))
	keys, err := deriveSession(msg1, sid, ya, ybPub, cpace.ScalarMultVfy(y, ya))
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{typeAnswer}, ybPub...), mac(keys.confirmMember, keys.th)...)
}

// otherPassword returns a 7-digit password that is not pw.
func otherPassword(pw string, i int) string {
	for {
		p := fmt.Sprintf("%07d", (i*7919+1234567)%10_000_000)
		if p != pw {
			return p
		}
		i++
	}
}

func flipAt(i int) func([]byte) []byte {
	return func(b []byte) []byte {
		if b == nil {
			return nil
		}
		c := bytes.Clone(b)
		c[i%len(c)] ^= 0x40
		return c
	}
}

func TestMaliciousRelay(t *testing.T) {
	secret := newSecret()
	const np = "482"
	pw, _ := CodePassword(secret, np)
	guess := otherPassword(pw, 1)
	forgedMsg3 := func([]byte) []byte { return append([]byte{typeProof}, make([]byte, TagSize)...) }

	// Messages of an earlier, honest exchange, for replays.
	old, _ := honest(t, secret, np)

	// An attacker joiner with a guessed password, whose messages the relay
	// puts in place of the real joiner's.
	var attacker *Joiner
	attackerKnock := func([]byte) []byte {
		j, msg1, err := NewJoiner(np, guess)
		if err != nil {
			t.Fatal(err)
		}
		attacker = j
		return msg1
	}

	// What the relay has seen of the current exchange.
	var seen1, seen2 []byte
	see1 := func(msg1 []byte) []byte { seen1 = msg1; return msg1 }
	poseAsMember := func([]byte) []byte { return attackerAnswer(t, seen1, np, guess) }

	cases := []struct {
		name       string
		r          relay
		joinerErr  error // nil: the joiner is not expected to fail at Confirm
		memberErr  error
		noResponse bool // the member refused message 1: no guess, nothing counted
	}{
		{
			name:      "replaces msg1 with its own Ya from a guessed password, forges msg3",
			r:         relay{hook1: attackerKnock, hook3: forgedMsg3},
			joinerErr: ErrWrongCode, memberErr: ErrBadConfirm,
		},
		{
			name: "replaces msg1 with its own, checks its guess against msg2, forges msg3",
			r: relay{hook1: attackerKnock, hook2: func(msg2 []byte) []byte {
				if _, err := attacker.Confirm(msg2); !errors.Is(err, ErrWrongCode) {
					t.Errorf("attacker's own check of its guess: %v, want ErrWrongCode", err)
				}
				return msg2
			}, hook3: forgedMsg3},
			joinerErr: ErrWrongCode, memberErr: ErrBadConfirm,
		},
		{
			name:      "poses as a member with a guessed password toward the joiner; the real member hears nothing more",
			r:         relay{hook1: see1, hook2: poseAsMember},
			joinerErr: ErrWrongCode, memberErr: ErrAbandoned,
		},
		{
			name:      "poses as a member with a guessed password toward the joiner, forges msg3 to the real member",
			r:         relay{hook1: see1, hook2: poseAsMember, hook3: forgedMsg3},
			joinerErr: ErrWrongCode, memberErr: ErrBadConfirm,
		},
		{
			name:      "replays msg2 from an earlier exchange, then its msg3",
			r:         relay{hook2: func([]byte) []byte { return old[1] }, hook3: func([]byte) []byte { return old[2] }},
			joinerErr: ErrWrongCode, memberErr: ErrBadConfirm,
		},
		{
			name:      "replays msg1 and msg3 of an earlier exchange to a new member",
			r:         relay{hook1: func([]byte) []byte { return old[0] }, hook3: func([]byte) []byte { return old[2] }},
			joinerErr: ErrWrongCode, memberErr: ErrBadConfirm,
		},
		{
			name:      "flips a bit of sid in msg1",
			r:         relay{hook1: flipAt(3)},
			joinerErr: ErrWrongCode, memberErr: ErrAbandoned,
		},
		{
			name: "replaces Ya with another valid element (Ya + B)",
			r: relay{hook1: func(b []byte) []byte {
				ya, err := ristretto255.NewIdentityElement().SetCanonicalBytes(b[1+SIDSize:])
				if err != nil {
					t.Fatal(err)
				}
				ya.Add(ya, ristretto255.NewGeneratorElement())
				return append(bytes.Clone(b[:1+SIDSize]), ya.Bytes()...)
			}},
			joinerErr: ErrWrongCode, memberErr: ErrAbandoned,
		},
		{
			name:      "flips a bit of tagM",
			r:         relay{hook2: flipAt(Msg2Size - 1)},
			joinerErr: ErrWrongCode, memberErr: ErrAbandoned,
		},
		{
			name:      "flips a bit of tagM and forges msg3",
			r:         relay{hook2: flipAt(40), hook3: forgedMsg3},
			joinerErr: ErrWrongCode, memberErr: ErrBadConfirm,
		},
		{
			name:      "flips a bit of tagJ",
			r:         relay{hook3: flipAt(Msg3Size - 1)},
			memberErr: ErrBadConfirm,
		},
		{
			name: "sends the member its own tagM back as tagJ (reflection)",
			r: relay{
				hook2: func(msg2 []byte) []byte { seen2 = msg2; return msg2 },
				hook3: func([]byte) []byte { return append([]byte{typeProof}, seen2[1+32:]...) },
			},
			memberErr: ErrBadConfirm,
		},
		{
			name:      "replaces Yb with the identity",
			r:         relay{hook2: func(b []byte) []byte { return append(append([]byte{typeAnswer}, cpace.Identity...), b[33:]...) }},
			joinerErr: ErrBadPoint, memberErr: ErrAbandoned,
		},
		{
			name:       "replaces Ya with the identity",
			r:          relay{hook1: func(b []byte) []byte { return append(bytes.Clone(b[:1+SIDSize]), cpace.Identity...) }},
			memberErr:  ErrBadPoint,
			noResponse: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cnt counter
			o := exchange(t, secret, np, pw, c.r, &cnt)
			if o.secret != nil {
				t.Fatalf("the joiner got a secret: %x", o.secret)
			}
			if o.memberMsg4 != nil {
				t.Fatal("the member produced message 4 without the joiner proving the code")
			}
			if c.joinerErr != nil && !errors.Is(o.joinerErr, c.joinerErr) {
				t.Errorf("joiner: %v, want %v", o.joinerErr, c.joinerErr)
			}
			if !errors.Is(o.memberErr, c.memberErr) {
				t.Errorf("member: %v, want %v", o.memberErr, c.memberErr)
			}
			if want := !c.noResponse; o.counted != want || cnt.failures != map[bool]int{true: 1, false: 0}[want] {
				t.Errorf("counted %v (%d failures), want %v", o.counted, cnt.failures, want)
			}
		})
	}

	t.Run("flips a bit of msg4", func(t *testing.T) {
		// The member's Finish succeeded: the joiner proved the code. The
		// relay can only destroy message 4, not read or change S.
		for _, i := range []int{0, 1, 13, Msg4Size - 1} {
			var cnt counter
			o := exchange(t, secret, np, pw, relay{hook4: flipAt(i)}, &cnt)
			if o.secret != nil || o.memberMsg4 == nil || o.memberErr != nil {
				t.Fatalf("byte %d: secret %x, msg4 %v, member %v", i, o.secret, o.memberMsg4 != nil, o.memberErr)
			}
			want := ErrBadSeal
			if i == 0 {
				want = ErrVersion
			}
			if !errors.Is(o.joinerErr, want) {
				t.Errorf("byte %d: joiner %v, want %v", i, o.joinerErr, want)
			}
		}
	})

	t.Run("honest relay", func(t *testing.T) {
		var cnt counter
		o := exchange(t, secret, np, pw, relay{}, &cnt)
		if !bytes.Equal(o.secret, secret) || o.joinerErr != nil || o.memberErr != nil || cnt.failures != 0 {
			t.Fatalf("honest exchange: %+v, %d failures", o, cnt.failures)
		}
	})
}

// TestGuessingRelayGetsOneGuessPerExchange: a relay that knows the
// nameplate (the server assigned it) but not the password plays the joiner.
// Each exchange tests exactly one password, the one its Ya commits to; each
// failed exchange is counted; with a limit of 5 it gets 5 guesses in all.
func TestGuessingRelayGetsOneGuessPerExchange(t *testing.T) {
	secret := newSecret()
	const np = "482"
	pw, _ := CodePassword(secret, np)

	var cnt counter
	guesses := 0
	for i := 0; i < 20; i++ {
		if !cnt.allow() {
			break // the room answers no more knocks for this code
		}
		guesses++
		guess := otherPassword(pw, i)
		j, msg1, _ := NewJoiner(np, guess)
		m, _ := NewMember(secret, np)
		msg2, err := m.Respond(msg1)
		if err != nil {
			t.Fatal(err)
		}
		// The relay's whole test of its guess: can it confirm tagM?
		if _, err := j.Confirm(msg2); !errors.Is(err, ErrWrongCode) {
			t.Fatalf("guess %s: %v", guess, err)
		}
		// A second Ya (a second guess) in the same exchange is refused.
		_, again, _ := NewJoiner(np, otherPassword(pw, i+100))
		if _, err := m.Respond(again); !errors.Is(err, ErrState) {
			t.Fatalf("a second msg1 in one exchange: %v", err)
		}
		// It has no valid msg3; whatever it sends, or if it sends nothing,
		// the exchange is counted.
		var fail error
		if i%2 == 0 {
			_, fail = m.Finish(append([]byte{typeProof}, make([]byte, TagSize)...))
		} else {
			fail = m.Abort()
		}
		if !cnt.record(fail) {
			t.Fatalf("exchange %d was not counted", i)
		}
	}
	if guesses != failureLimit || cnt.failures != failureLimit {
		t.Fatalf("%d guesses, %d failures; want %d of each", guesses, cnt.failures, failureLimit)
	}

	// Nothing in one exchange's transcript lets the relay test a second
	// password offline. It holds its scalar ya, msg1 and msg2; the only key
	// it can compute is from K = ya*Yb, which matches the member's only if
	// its Ya was made with the right password. Tried against candidate
	// passwords, the real one included, nothing verifies tagM...
	guess := otherPassword(pw, 0)
	yaBytes, _ := cpace.SampleScalar(rand.Reader)
	ya, _ := cpace.ScalarFromBytes(yaBytes)
	sid := make([]byte, SIDSize)
	rand.Read(sid)
	checkOffline := func(knock []byte, candidate string, msg2 []byte) bool {
		yb, tagM := msg2[1:33], msg2[33:]
		// The candidate enters through the generator the relay assumes the
		// member used: K = ya*Yb does not depend on it, nor can anything
		// else the relay computes bring the candidate in without yb.
		_ = cpace.CalculateGenerator([]byte(candidate), []byte(ciPrefix+np), sid)
		keys, _ := deriveSession(knock, sid, knock[1+SIDSize:], yb, cpace.ScalarMultVfy(ya, yb))
		return hmac.Equal(tagM, mac(keys.confirmMember, keys.th))
	}
	knock := func(password string) []byte {
		g := cpace.CalculateGenerator([]byte(password), []byte(ciPrefix+np), sid)
		return append(append([]byte{typeKnock}, sid...), cpace.ScalarMult(ya, g)...)
	}
	wrongKnock := knock(guess)
	m, _ := NewMember(secret, np)
	msg2, err := m.Respond(wrongKnock)
	if err != nil {
		t.Fatal(err)
	}
	candidates := []string{pw}
	for i := 0; i < 300; i++ {
		candidates = append(candidates, otherPassword(pw, 1000+i))
	}
	for _, c := range candidates {
		if checkOffline(wrongKnock, c, msg2) {
			t.Fatalf("candidate %s verified offline against a transcript made with guess %s", c, guess)
		}
	}
	// ...while a relay whose one guess is right does see it (so the check
	// above is the real one): exactly one password per exchange.
	m, _ = NewMember(secret, np)
	rightKnock := knock(pw)
	msg2, err = m.Respond(rightKnock)
	if err != nil {
		t.Fatal(err)
	}
	if !checkOffline(rightKnock, pw, msg2) {
		t.Fatal("the right guess did not verify: the offline check is not the protocol's")
	}
}
