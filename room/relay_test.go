package room

import (
	"errors"
	"testing"

	"github.com/google/uuid"
)

func TestRelay(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	id := ID{4}
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	sa, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", b)
	r.JoinFrom(id, token(1), RoleTalk, "", "", c)
	a.take()
	b.take()
	if err := r.RelayIf(id, sa.Self.ID, uuid.Nil, []byte("all"), nil); err != nil {
		t.Fatal(err)
	}
	if err := r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("one"), nil); err != nil {
		t.Fatal(err)
	}
	if len(a.take()) != 0 {
		t.Fatal("sender received its own broadcast")
	}
	if ev := b.take(); len(ev) != 2 || string(ev[0].Data) != "all" || string(ev[1].Data) != "one" || ev[1].Member != sa.Self {
		t.Fatalf("b got %+v", ev)
	}
	if ev := c.take(); len(ev) != 1 || string(ev[0].Data) != "all" {
		t.Fatalf("c got %+v", ev)
	}
	if err := r.RelayIf(id, sa.Self.ID, uuid.New(), nil, nil); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("relay to a stranger: %v", err)
	}
	if err := r.RelayIf(id, sa.Self.ID, sa.Self.ID, nil, nil); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("relay to self: %v", err)
	}

	// The sender's budget is asked with the number of recipients; a no
	// delivers nothing.
	var asked []int
	refuse := func(n int) bool { asked = append(asked, n); return false }
	if err := r.RelayIf(id, sa.Self.ID, uuid.Nil, []byte("all"), refuse); !errors.Is(err, ErrRelayRefused) {
		t.Fatalf("refused broadcast: %v", err)
	}
	if err := r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("one"), refuse); !errors.Is(err, ErrRelayRefused) {
		t.Fatalf("refused relay to one: %v", err)
	}
	if len(asked) != 2 || asked[0] != 2 || asked[1] != 1 {
		t.Fatalf("the budget was asked for %v recipients, want [2 1]", asked)
	}
	if ev := append(b.take(), c.take()...); len(ev) != 0 {
		t.Fatalf("a refused relay delivered %+v", ev)
	}
	allow := func(int) bool { return true }
	if err := r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("ok"), allow); err != nil {
		t.Fatal(err)
	}
	if ev := b.take(); len(ev) != 1 || string(ev[0].Data) != "ok" {
		t.Fatalf("an allowed relay delivered %+v", ev)
	}
}
