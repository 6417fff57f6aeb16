package e2etest

// Joining by a typed code (issue #6) with Go clients through the real
// server: the right code brings the room secret and the joiner hears the
// creator; a wrong code is a clear error, every member hears of it, and the
// fifth wrong try retires the code.

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
	"sotto/pake"
	"sotto/room"
)

func TestJoinByCode(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	var failures atomic.Int32
	a := srv.member(t, secret, "A", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Type == "knock_failed" {
				failures.Add(1)
			}
		}
	})
	code := a.Code()
	plate, password, err := pake.ParseCode(code)
	if err != nil {
		t.Fatalf("the creator's code %q: %v", code, err)
	}

	// The right code: the secret, and then the room.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := client.ConnectByCode(ctx, client.Config{URL: srv.ws, Name: "J", Record: true}, code)
	if err != nil {
		t.Fatalf("joining by code %q: %v", code, err)
	}
	t.Cleanup(func() { j.Close() })
	if err := j.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	knowEachOther(t, a, j)
	takeFloor(t, a)
	heard(t, a, 25, j)
	release(t, a)
	if failures.Load() != 0 {
		t.Fatalf("a right code was counted as a failure")
	}

	// Wrong codes: a clear error each time, and every member is told.
	wrong := wrongCode(plate, code)
	for i := 1; i < 5; i++ {
		_, err := client.SecretFromCode(ctx, srv.ws, wrong)
		if !errors.Is(err, client.ErrWrongCode) {
			t.Fatalf("wrong code, try %d: %v", i, err)
		}
		testutil.WaitFor(t, 5*time.Second, "the members to hear of the failure", func() bool { return failures.Load() == int32(i) })
	}
	if a.Code() != code {
		t.Fatal("the code changed before the fifth failure")
	}
	if _, err := client.SecretFromCode(ctx, srv.ws, wrong); !errors.Is(err, client.ErrWrongCode) {
		t.Fatalf("fifth wrong code: %v", err)
	}
	// Each member learns the new nameplate on its own connection: wait for
	// both, since the joiner's code is read below.
	testutil.WaitFor(t, 5*time.Second, "a new code at both members", func() bool {
		return a.Code() != code && a.Code() != "" && j.Code() == a.Code()
	})
	// The old code is dead, even the right one; the new one works.
	if _, err := client.SecretFromCode(ctx, srv.ws, code); !errors.Is(err, client.ErrNoSuchRoom) {
		t.Fatalf("the retired code: %v, want no_such_room", err)
	}
	got, err := client.SecretFromCode(ctx, srv.ws, j.Code())
	if err != nil || string(got) != string(secret) {
		t.Fatalf("the new code, read from the joiner: %v", err)
	}
	t.Logf("code %s (nameplate %s, password %d digits) retired after 5 wrong tries; new code %s", code, plate, len(password), a.Code())
}

// A member answers at most client.MaxAnsweredKnockFailures failed exchanges
// per code, whatever the server counts: here a server that would allow 100
// wrong tries (as a lying server might) gets 5 guesses out of the only
// member, and then a refusal before any PAKE message.
func TestMemberCapsWrongCodes(t *testing.T) {
	srv := startServer(t, "--code-tries", "100")
	// A hears of each failure (knock_failed) after the end of the exchange
	// it answered, on the same connection: once it has, it has counted it.
	var failures atomic.Int32
	a := srv.member(t, e2ee.NewSecret(), "A", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Type == "knock_failed" {
				failures.Add(1)
			}
		}
	})
	code := a.Code()
	plate, _, _ := pake.ParseCode(code)
	wrong := wrongCode(plate, code)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 1; i <= client.MaxAnsweredKnockFailures; i++ {
		if _, err := client.SecretFromCode(ctx, srv.ws, wrong); !errors.Is(err, client.ErrWrongCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
		testutil.WaitFor(t, 5*time.Second, "A to hear of the failure", func() bool { return failures.Load() == int32(i) })
	}
	// The next try, even with the right code, gets no answer from A.
	_, err := client.SecretFromCode(ctx, srv.ws, code)
	if err == nil || errors.Is(err, client.ErrWrongCode) || !strings.Contains(err.Error(), "ended: refused") {
		t.Fatalf("after %d failures, the right code: %v, want a refusal before the exchange", client.MaxAnsweredKnockFailures, err)
	}
	if a.Code() != code {
		t.Fatal("the server retired the code: this test needs it not to")
	}
}

// wrongCode is a code for the same nameplate with another password part.
func wrongCode(plate, code string) string {
	_, password, _ := pake.ParseCode(code)
	wrong := strings.Repeat("0", pake.PasswordDigits)
	if wrong == password {
		wrong = strings.Repeat("1", pake.PasswordDigits)
	}
	formatted, err := pake.FormatCode(plate, wrong)
	if err != nil {
		panic(err) // plate came from a code the server handed out
	}
	return formatted
}

// TestNameplateLengthsAgree: every nameplate the registry can hand out is
// one the code parsers accept (Go here; the JavaScript parser is held to the
// same bounds by pake/testdata/vectors.json's code_errors).
func TestNameplateLengthsAgree(t *testing.T) {
	if room.MinNameplateDigits != pake.MinNameplateDigits || room.MaxNameplateDigits != pake.MaxNameplateDigits {
		t.Fatalf("registry hands out %d to %d digits, pake parses %d to %d",
			room.MinNameplateDigits, room.MaxNameplateDigits, pake.MinNameplateDigits, pake.MaxNameplateDigits)
	}
	longest := strings.Repeat("9", room.MaxNameplateDigits) + "1234567"
	if plate, _, err := pake.ParseCode(longest); err != nil || plate != strings.Repeat("9", room.MaxNameplateDigits) {
		t.Fatalf("ParseCode(%q) = %q, %v", longest, plate, err)
	}
}
