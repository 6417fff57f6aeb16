package pake

import (
	"bytes"
	"testing"
)

// The fuzz targets run one side of the basic exchange vector (fixed
// randomness) and feed it arbitrary bytes in place of the peer's messages.
// Neither side may panic, return a message together with an error, or, for
// the member, produce message 4 without the joiner's valid proof; the
// joiner may only open the member's own sealed secret. The seeds are the
// real messages, so the fuzzer mutates valid ones.

var (
	fuzzSecret    = seqBytes(0x00, SecretSize)
	fuzzNameplate = "482"
	fuzzSID       = seqBytes(0x10, SIDSize)
	fuzzYa        = seqBytes(0x20, 32)
	fuzzYb        = seqBytes(0x40, 32)
	fuzzNonce     = seqBytes(0x60, NonceSize)
)

func seqBytes(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// fuzzRun is the honest exchange the targets start from.
func fuzzRun(t testing.TB) (msgs [4][]byte) {
	pw, _ := CodePassword(fuzzSecret, fuzzNameplate)
	j, msg1, err := NewJoinerWithRand(bytes.NewReader(cat(fuzzSID, fuzzYa)), fuzzNameplate, pw)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewMemberWithRand(bytes.NewReader(cat(fuzzYb, fuzzNonce)), fuzzSecret, fuzzNameplate)
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
	return [4][]byte{msg1, msg2, msg3, msg4}
}

// FuzzMember: arbitrary message 1 into Respond, then arbitrary message 3
// into Finish.
func FuzzMember(f *testing.F) {
	msgs := fuzzRun(f)
	f.Add(msgs[0], msgs[2])
	f.Add(msgs[0], []byte{})
	f.Add([]byte{}, []byte{0x13})
	f.Add(msgs[1], msgs[3])
	f.Fuzz(func(t *testing.T, msg1, msg3 []byte) {
		m, _ := NewMemberWithRand(bytes.NewReader(cat(fuzzYb, fuzzNonce)), fuzzSecret, fuzzNameplate)
		msg2, err := m.Respond(msg1)
		if err != nil {
			if msg2 != nil || Code(err) == "" {
				t.Fatalf("Respond: %x with error %v", msg2, err)
			}
			if _, err := m.Finish(msg3); Code(err) != "state" {
				t.Fatalf("Finish after a failed Respond: %v", err)
			}
			return
		}
		if len(msg2) != Msg2Size || msg2[0] != typeAnswer {
			t.Fatalf("msg2 %x", msg2)
		}
		msg4, err := m.Finish(msg3)
		if err != nil {
			if msg4 != nil || Code(err) == "" {
				t.Fatalf("Finish: %x with error %v", msg4, err)
			}
			return
		}
		// Only the honest joiner's proof, for the honest knock, opens the
		// secret: anything else would be a forged tag.
		if !bytes.Equal(msg1, msgs[0]) || !bytes.Equal(msg3, msgs[2]) || !bytes.Equal(msg4, msgs[3]) {
			t.Fatalf("Finish accepted msg1 %x, msg3 %x", msg1, msg3)
		}
	})
}

// FuzzJoiner: arbitrary message 2 into Confirm, then arbitrary message 4
// into Open.
func FuzzJoiner(f *testing.F) {
	msgs := fuzzRun(f)
	f.Add(msgs[1], msgs[3])
	f.Add(msgs[1], []byte{})
	f.Add([]byte{}, []byte{0x14})
	f.Add(msgs[0], msgs[2])
	pw, _ := CodePassword(fuzzSecret, fuzzNameplate)
	f.Fuzz(func(t *testing.T, msg2, msg4 []byte) {
		j, _, err := NewJoinerWithRand(bytes.NewReader(cat(fuzzSID, fuzzYa)), fuzzNameplate, pw)
		if err != nil {
			t.Fatal(err)
		}
		msg3, err := j.Confirm(msg2)
		if err != nil {
			if msg3 != nil || Code(err) == "" {
				t.Fatalf("Confirm: %x with error %v", msg3, err)
			}
			if _, err := j.Open(msg4); Code(err) != "state" {
				t.Fatalf("Open after a failed Confirm: %v", err)
			}
			return
		}
		if !bytes.Equal(msg2, msgs[1]) || !bytes.Equal(msg3, msgs[2]) {
			t.Fatalf("Confirm accepted msg2 %x", msg2)
		}
		secret, err := j.Open(msg4)
		if err != nil {
			if secret != nil || Code(err) == "" {
				t.Fatalf("Open: %x with error %v", secret, err)
			}
			return
		}
		if !bytes.Equal(msg4, msgs[3]) || !bytes.Equal(secret, fuzzSecret) {
			t.Fatalf("Open accepted msg4 %x, gave %x", msg4, secret)
		}
	})
}

// FuzzParseCode: ParseCode never panics; what it accepts formats back to a
// code that parses to the same parts.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"482-719-3528", "4827193528", " 482.719.3528 ", "482\u2013719\u20143528", "", "48a", "999999999999-000-0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		np, pw, err := ParseCode(typed)
		if err != nil {
			if np != "" || pw != "" || Code(err) != "bad-code" {
				t.Fatalf("ParseCode(%q): %q, %q, %v", typed, np, pw, err)
			}
			return
		}
		code, err := FormatCode(np, pw)
		if err != nil {
			t.Fatalf("ParseCode(%q) gave parts FormatCode refuses: %q, %q: %v", typed, np, pw, err)
		}
		np2, pw2, err := ParseCode(code)
		if err != nil || np2 != np || pw2 != pw {
			t.Fatalf("round trip of %q: %q, %q, %v", code, np2, pw2, err)
		}
	})
}
