package pake

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// honest runs one exchange with real randomness and returns its messages.
func honest(t *testing.T, secret []byte, nameplate string) (msgs [4][]byte, got []byte) {
	t.Helper()
	pw, err := CodePassword(secret, nameplate)
	if err != nil {
		t.Fatal(err)
	}
	j, msg1, err := NewJoiner(nameplate, pw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMember(secret, nameplate)
	if err != nil {
		t.Fatal(err)
	}
	msg2, err := m.Respond(msg1)
	if err != nil {
		t.Fatal(err)
	}
	msg3, err := j.Confirm(msg2)
	if err != nil {
		t.Fatal(err)
	}
	msg4, err := m.Finish(msg3)
	if err != nil {
		t.Fatal(err)
	}
	got, err = j.Open(msg4)
	if err != nil {
		t.Fatal(err)
	}
	return [4][]byte{msg1, msg2, msg3, msg4}, got
}

func newSecret() []byte {
	s := make([]byte, SecretSize)
	rand.Read(s)
	return s
}

func TestExchangeDeliversTheSecret(t *testing.T) {
	for _, np := range []string{"482", "000", "123456789012"} {
		s := newSecret()
		msgs, got := honest(t, s, np)
		if !bytes.Equal(got, s) {
			t.Fatalf("%s: joiner got %x, want %x", np, got, s)
		}
		for i, want := range []int{Msg1Size, Msg2Size, Msg3Size, Msg4Size} {
			if len(msgs[i]) != want || msgs[i][0] != byte(0x11+i) {
				t.Errorf("msg%d: %d bytes, type %#x", i+1, len(msgs[i]), msgs[i][0])
			}
		}
	}
}

func TestExchangesAreFresh(t *testing.T) {
	s := newSecret()
	a, _ := honest(t, s, "482")
	b, _ := honest(t, s, "482")
	for i := range a {
		if bytes.Equal(a[i], b[i]) {
			t.Errorf("msg%d repeats across exchanges", i+1)
		}
	}
	if bytes.Contains(a[3], s) {
		t.Error("msg4 holds S in the clear")
	}
}

func TestOneShotAndOrder(t *testing.T) {
	s := newSecret()
	pw, _ := CodePassword(s, "482")
	j, msg1, _ := NewJoiner("482", pw)
	m, _ := NewMember(s, "482")

	if _, err := m.Finish([]byte{0x13}); !errors.Is(err, ErrState) {
		t.Errorf("Finish before Respond: %v", err)
	}
	// Finish out of order ended that member: a new one for the rest.
	m, _ = NewMember(s, "482")
	if _, err := j.Open(make([]byte, Msg4Size)); !errors.Is(err, ErrState) {
		t.Errorf("Open before Confirm: %v", err)
	}
	msg2, err := m.Respond(msg1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Respond(msg1); !errors.Is(err, ErrState) {
		t.Errorf("second Respond: %v", err)
	}
	msg3, err := j.Confirm(msg2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Confirm(msg2); !errors.Is(err, ErrState) {
		t.Errorf("second Confirm: %v", err)
	}
	msg4, err := m.Finish(msg3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Finish(msg3); !errors.Is(err, ErrState) {
		t.Errorf("second Finish: %v", err)
	}
	if err := m.Abort(); err != nil {
		t.Errorf("Abort after success: %v", err)
	}
	if _, err := j.Open(msg4); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Open(msg4); !errors.Is(err, ErrState) {
		t.Errorf("second Open: %v", err)
	}

	// Nil receivers fail, never panic.
	var nj *Joiner
	var nm *Member
	if _, err := nj.Confirm(msg2); !errors.Is(err, ErrState) {
		t.Error(err)
	}
	if _, err := nj.Open(msg4); !errors.Is(err, ErrState) {
		t.Error(err)
	}
	if _, err := nm.Respond(msg1); !errors.Is(err, ErrState) {
		t.Error(err)
	}
	if _, err := nm.Finish(msg3); !errors.Is(err, ErrState) {
		t.Error(err)
	}
	if err := nm.Abort(); err != nil {
		t.Error(err)
	}
}

func TestAnErrorEndsTheExchange(t *testing.T) {
	s := newSecret()
	pw, _ := CodePassword(s, "482")
	// A malformed message 2 ends the joiner: the right one afterwards is refused.
	j, msg1, _ := NewJoiner("482", pw)
	m, _ := NewMember(s, "482")
	msg2, _ := m.Respond(msg1)
	if _, err := j.Confirm(msg2[:10]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short msg2: %v", err)
	}
	if _, err := j.Confirm(msg2); !errors.Is(err, ErrState) {
		t.Errorf("Confirm after a failure: %v", err)
	}
	// A bad message 3 ends the member: the right one afterwards is refused.
	j, msg1, _ = NewJoiner("482", pw)
	m, _ = NewMember(s, "482")
	msg2, _ = m.Respond(msg1)
	msg3, _ := j.Confirm(msg2)
	bad := bytes.Clone(msg3)
	bad[5] ^= 1
	if _, err := m.Finish(bad); !errors.Is(err, ErrBadConfirm) {
		t.Fatalf("flipped tagJ: %v", err)
	}
	if msg4, err := m.Finish(msg3); msg4 != nil || !errors.Is(err, ErrState) {
		t.Errorf("Finish after a failure: %x, %v", msg4, err)
	}
	if err := m.Abort(); err != nil {
		t.Errorf("Abort after a counted failure: %v (would count it twice)", err)
	}
}

func TestAbort(t *testing.T) {
	s := newSecret()
	pw, _ := CodePassword(s, "482")
	m, _ := NewMember(s, "482")
	if err := m.Abort(); err != nil {
		t.Errorf("Abort before Respond: %v (no guess was made)", err)
	}
	_, msg1, _ := NewJoiner("482", pw)
	m, _ = NewMember(s, "482")
	if _, err := m.Respond(msg1); err != nil {
		t.Fatal(err)
	}
	if err := m.Abort(); !errors.Is(err, ErrAbandoned) {
		t.Errorf("Abort after Respond: %v", err)
	}
	if err := m.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if _, err := m.Finish(make([]byte, Msg3Size)); !errors.Is(err, ErrState) {
		t.Errorf("Finish after Abort: %v", err)
	}
}

func TestConstructorsValidate(t *testing.T) {
	for _, c := range []struct{ np, pw string }{{"48", "1234567"}, {"4820000000000", "1234567"}, {"48a", "1234567"}, {"", "1234567"}} {
		if _, _, err := NewJoiner(c.np, c.pw); !errors.Is(err, ErrBadNameplate) {
			t.Errorf("NewJoiner(%q): %v", c.np, err)
		}
	}
	for _, pw := range []string{"123456", "12345678", "123456a", "", "１２３４５６７"} {
		if _, _, err := NewJoiner("482", pw); !errors.Is(err, ErrBadPassword) {
			t.Errorf("NewJoiner password %q: %v", pw, err)
		}
	}
	if _, err := NewMember(make([]byte, 31), "482"); !errors.Is(err, ErrBadSecret) {
		t.Errorf("NewMember short secret: %v", err)
	}
	if _, err := NewMember(make([]byte, 32), "48"); !errors.Is(err, ErrBadNameplate) {
		t.Errorf("NewMember bad nameplate: %v", err)
	}
	// The member copies S: changing the caller's slice afterwards changes nothing.
	s := newSecret()
	keep := bytes.Clone(s)
	pw, _ := CodePassword(s, "482")
	j, msg1, _ := NewJoiner("482", pw)
	m, _ := NewMember(s, "482")
	clear(s)
	msg2, _ := m.Respond(msg1)
	msg3, _ := j.Confirm(msg2)
	msg4, _ := m.Finish(msg3)
	if got, err := j.Open(msg4); err != nil || !bytes.Equal(got, keep) {
		t.Errorf("Open: %x, %v", got, err)
	}
}

func TestRandomFailures(t *testing.T) {
	if _, _, err := NewJoinerWithRand(bytes.NewReader(make([]byte, 20)), "482", "1234567"); !errors.Is(err, ErrRandom) {
		t.Errorf("joiner with 20 random bytes: %v", err)
	}
	s := newSecret()
	pw, _ := CodePassword(s, "482")
	_, msg1, _ := NewJoiner("482", pw)
	m, _ := NewMemberWithRand(bytes.NewReader(nil), s, "482")
	if _, err := m.Respond(msg1); !errors.Is(err, ErrRandom) {
		t.Errorf("member without randomness: %v", err)
	}
	// Randomness that runs out before the nonce: Finish fails, sends nothing.
	j, msg1, _ := NewJoiner("482", pw)
	m, _ = NewMemberWithRand(io.LimitReader(rand.Reader, 32), s, "482")
	msg2, _ := m.Respond(msg1)
	msg3, _ := j.Confirm(msg2)
	if msg4, err := m.Finish(msg3); msg4 != nil || !errors.Is(err, ErrRandom) {
		t.Errorf("Finish without a nonce: %x, %v", msg4, err)
	}
}

func TestWrongCodeFailsBothSides(t *testing.T) {
	s := newSecret()
	pw, _ := CodePassword(s, "482")
	wrong := []byte(pw)
	wrong[6] = '0' + (wrong[6]-'0'+1)%10 // one digit off
	j, msg1, _ := NewJoiner("482", string(wrong))
	m, _ := NewMember(s, "482")
	msg2, err := m.Respond(msg1)
	if err != nil {
		t.Fatal(err)
	}
	if msg3, err := j.Confirm(msg2); msg3 != nil || !errors.Is(err, ErrWrongCode) {
		t.Fatalf("Confirm with a wrong code: %x, %v", msg3, err)
	}
	if err := m.Abort(); !errors.Is(err, ErrAbandoned) {
		t.Errorf("member Abort: %v", err)
	}
	// The right password at another nameplate is a wrong code too (CI differs).
	pw483, _ := CodePassword(s, "483")
	j, msg1, _ = NewJoiner("483", pw)
	m, _ = NewMember(s, "482")
	msg2, _ = m.Respond(msg1)
	if _, err := j.Confirm(msg2); pw483 != pw && !errors.Is(err, ErrWrongCode) {
		t.Errorf("other nameplate: %v", err)
	}
}

func TestCodeRoundTrip(t *testing.T) {
	for i := 0; i < 200; i++ {
		s := newSecret()
		np := []string{"100", "4821", "99999999"}[i%3]
		pw, err := CodePassword(s, np)
		if err != nil || !validPassword(pw) {
			t.Fatalf("CodePassword: %q, %v", pw, err)
		}
		code, err := FormatCode(np, pw)
		if err != nil {
			t.Fatal(err)
		}
		gotNP, gotPW, err := ParseCode(code)
		if err != nil || gotNP != np || gotPW != pw {
			t.Fatalf("ParseCode(%q) = %q, %q, %v", code, gotNP, gotPW, err)
		}
	}
	if _, err := CodePassword(make([]byte, 16), "482"); !errors.Is(err, ErrBadSecret) {
		t.Error(err)
	}
	if _, err := FormatCode("482", "123"); !errors.Is(err, ErrBadPassword) {
		t.Error(err)
	}
	if _, err := FormatCode("4x2", "1234567"); !errors.Is(err, ErrBadNameplate) {
		t.Error(err)
	}
	if _, _, err := ParseCode("\xff\xfe48271935280"); !errors.Is(err, ErrBadCode) {
		t.Errorf("invalid UTF-8: %v", err)
	}
}
