package e2etest

// "Remove and re-key" in an open room (issue #8), through the real server:
// the removed member can neither follow the others into their new room nor
// decrypt a single frame said there, while the others keep hearing each
// other.

import (
	"context"
	"errors"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
)

func TestRemoveAndRekey(t *testing.T) {
	srv := startServer(t)
	old := e2ee.NewSecret()

	rekeys := make(chan client.Event, 4)
	onRekey := func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Type == "rekey" {
				rekeys <- ev
			}
		}
	}
	xRekeys := make(chan client.Event, 4)
	a := srv.member(t, old, "A")
	b := srv.member(t, old, "B", onRekey)
	x := srv.member(t, old, "X", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Type == "rekey" {
				xRekeys <- ev
			}
		}
	})
	knowEachOther(t, a, b, x)
	// Before: X hears A, like B does.
	takeFloor(t, a)
	heard(t, a, 25, b, x)
	release(t, a)

	// A removes X: the new secret reaches B, and only B.
	next, err := a.RemoveAndRekey(x.Self())
	if err != nil {
		t.Fatal(err)
	}
	var got client.Event
	select {
	case got = <-rekeys:
	case <-time.After(10 * time.Second):
		t.Fatal("B got no re-key")
	}
	if string(got.Secret) != string(next) || got.Member != a.Self() {
		t.Fatalf("B's re-key: from %s, secret equal %v", got.Member, string(got.Secret) == string(next))
	}

	// A and B move; X stays behind, alone in the old room.
	a.Close()
	b.Close()
	a2 := srv.member(t, next, "A")
	b2 := srv.member(t, next, "B")
	knowEachOther(t, a2, b2)
	testutil.WaitFor(t, 10*time.Second, "X to see everyone go", func() bool { return len(x.Members()) == 0 })

	// A spy in the new room that has everything X has (the old secret's
	// signal and media keys) and more than X has (the new room's id and
	// auth token, so that the SFU forwards it every frame): it opens no
	// hello or key blob of the new room, so it holds no sender key and not
	// one frame decrypts.
	oldKeys, _ := e2ee.DeriveRoomKeys(old)
	spyKeys, _ := e2ee.DeriveRoomKeys(next)
	spyKeys.Signal, spyKeys.Media = oldKeys.Signal, oldKeys.Media
	spy := srv.member(t, nil, "spy", func(c *client.Config) { c.Keys = spyKeys })

	takeFloor(t, a2)
	heard(t, a2, 100, b2)
	testutil.WaitFor(t, 10*time.Second, "the spy to get 100 packets", func() bool { return spy.From(a2.SID()).Packets >= 100 })
	release(t, a2)
	takeFloor(t, b2)
	heard(t, b2, 50, a2)
	release(t, b2)

	if s := spy.From(a2.SID()); s.Decrypted != 0 || s.Failed != s.Packets {
		t.Errorf("the old keys decrypted new frames: %+v", s)
	}
	if st := spy.Stats(); st.Decrypted != 0 || st.UnknownKID != st.Packets {
		t.Errorf("spy: %+v, want every frame dropped as from an unknown KID", st)
	}
	if s := x.From(a2.SID()); s.Packets != 0 {
		t.Errorf("X, in the old room, got %d packets of the new room", s.Packets)
	}
	if s := b2.From(a2.SID()); s.Failed != 0 || s.Corrupt != 0 {
		t.Errorf("B in the new room: %+v", s)
	}
	select {
	case ev := <-xRekeys:
		t.Fatalf("X got a re-key from %s", ev.Member)
	default:
	}

	// X's link still opens only the old room: a new X lands beside the old
	// X, with nobody else.
	x2 := srv.member(t, old, "X again")
	testutil.WaitFor(t, 5*time.Second, "the second X to see the first", func() bool { return len(x2.Members()) == 1 })
	if ms := x2.Members(); len(ms) != 1 || ms[0] != x.Self() {
		t.Fatalf("X's old link leads to %v, want only X's first session %s", ms, x.Self())
	}
	// Even knowing the new room's id (the server could tell it), X's old
	// auth token does not open it.
	guess := *oldKeys
	guess.RoomID = spyKeys.RoomID
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.Connect(ctx, client.Config{URL: srv.ws, Keys: &guess, Name: "X guessing"})
	if !errors.Is(err, client.ErrBadAuth) {
		t.Fatalf("X joining the new room with its old token: %v, want bad_auth", err)
	}
	t.Logf("after the re-key: B decrypted %d of A's frames; the spy got %d and decrypted %d",
		b2.From(a2.SID()).Decrypted, spy.From(a2.SID()).Packets, spy.From(a2.SID()).Decrypted)
}
