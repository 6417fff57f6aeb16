package room

import (
	"errors"
	"fmt"
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

// RelayEach delivers each parcel to its member in order, skips parcels to
// strangers (a member that just left) and to the sender, asks the budget
// once with what it would deliver, and on a no delivers nothing.
func TestRelayEach(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	id := ID{5}
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	sa, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", b)
	sc, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", c)
	a.take()
	b.take()
	from, bid, cid := sa.Self.ID, sb.Self.ID, sc.Self.ID
	parcels := []Parcel{
		{To: cid, Data: []byte("c1")},
		{To: uuid.New(), Data: []byte("stranger")},
		{To: bid, Data: []byte("b1")},
		{To: from, Data: []byte("self")},
		{To: cid, Data: []byte("c2")},
	}

	var asked []string
	refuse := func(d []Parcel) bool {
		for _, p := range d {
			asked = append(asked, string(p.Data))
		}
		return false
	}
	if err := r.RelayEach(id, from, parcels, refuse); !errors.Is(err, ErrRelayRefused) {
		t.Fatalf("refused batch: %v", err)
	}
	if want := "[c1 b1 c2]"; fmt.Sprint(asked) != want {
		t.Fatalf("the budget was asked for %v, want %s: only what is delivered", asked, want)
	}
	if ev := append(a.take(), append(b.take(), c.take()...)...); len(ev) != 0 {
		t.Fatalf("a refused batch delivered %+v", ev)
	}

	if err := r.RelayEach(id, from, parcels, func([]Parcel) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if ev := a.take(); len(ev) != 0 {
		t.Fatalf("the sender got %+v", ev)
	}
	if ev := b.take(); len(ev) != 1 || string(ev[0].Data) != "b1" || ev[0].Member != sa.Self || ev[0].Kind != Message {
		t.Fatalf("b got %+v", ev)
	}
	if ev := c.take(); len(ev) != 2 || string(ev[0].Data) != "c1" || string(ev[1].Data) != "c2" {
		t.Fatalf("c got %+v, want c1 then c2", ev)
	}

	// A parcel to a member that has left is skipped: a race, not an error.
	r.LeaveFrom(id, cid, c)
	if err := r.RelayEach(id, from, []Parcel{{To: cid, Data: []byte("late")}}, nil); err != nil {
		t.Fatalf("a batch to a member that left: %v", err)
	}
	if ev := c.take(); len(ev) != 0 {
		t.Fatalf("a member that left got %+v", ev)
	}
	if err := r.RelayEach(id, cid, parcels, nil); !errors.Is(err, ErrNotMember) {
		t.Fatalf("a batch from a member that left: %v", err)
	}
}
