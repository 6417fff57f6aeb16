package room

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestKnockTargetAndFailures(t *testing.T) {
	r, _ := newTestRegistry(Config{MaxKnockFailures: 3})
	id := ID{7}
	a, b := &recorder{}, &recorder{}
	sa, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(id, token(1), RoleListen, "", "", b)
	a.take()

	if _, _, err := r.KnockTarget("999999"); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("unknown nameplate: %v", err)
	}
	// Members take turns answering.
	seen := map[uuid.UUID]int{}
	for range 4 {
		rid, m, err := r.KnockTarget(sa.Nameplate)
		if err != nil || rid != id {
			t.Fatalf("KnockTarget = %v, %v", rid, err)
		}
		seen[m]++
	}
	if seen[sa.Self.ID] != 2 || seen[sb.Self.ID] != 2 {
		t.Fatalf("knocks went to %v, want two each", seen)
	}

	if err := r.Notify(id, sb.Self.ID, Event{Kind: Signal, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if ev := b.take(); len(ev) != 1 || ev[0].Kind != Signal || string(ev[0].Data) != "x" {
		t.Fatalf("Notify delivered %+v", ev)
	}
	if err := r.Notify(id, uuid.New(), Event{Kind: Signal}); !errors.Is(err, ErrNotMember) {
		t.Fatalf("Notify to a stranger: %v", err)
	}
	// A detached member is never asked; with everyone detached, nobody is.
	if err := r.Detach(id, sb.Self.ID, b); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, m, err := r.KnockTarget(sa.Nameplate); err != nil || m != sa.Self.ID {
			t.Fatalf("with b detached the knock went to %v (%v)", m, err)
		}
	}
	r.Detach(id, sa.Self.ID, a)
	if _, _, err := r.KnockTarget(sa.Nameplate); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("with everyone detached: %v", err)
	}
	r.Resume(id, sa.Resume, a)
	r.Resume(id, sb.Resume, b)
	a.take()
	b.take()

	// Two failures: everyone hears of each, the code stays.
	for i := range 2 {
		if retired, err := r.KnockFailed(id); err != nil || retired {
			t.Fatalf("failure %d: retired %v, %v", i+1, retired, err)
		}
	}
	for _, rec := range []*recorder{a, b} {
		if ev := rec.take(); len(ev) != 2 || ev[0].Kind != KnockFailed || ev[1].Kind != KnockFailed {
			t.Fatalf("after two failures: %+v", ev)
		}
	}
	// The third retires it: a new nameplate, the old one dead.
	if retired, err := r.KnockFailed(id); err != nil || !retired {
		t.Fatalf("third failure: retired %v, %v", retired, err)
	}
	var plate string
	for _, rec := range []*recorder{a, b} {
		ev := rec.take()
		if len(ev) != 2 || ev[0].Kind != KnockFailed || ev[1].Kind != NameplateChanged || ev[1].Nameplate == "" || ev[1].Nameplate == sa.Nameplate {
			t.Fatalf("after the third failure: %+v", ev)
		}
		plate = ev[1].Nameplate
	}
	if _, _, err := r.KnockTarget(sa.Nameplate); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("the retired nameplate still finds the room: %v", err)
	}
	if rid, _, err := r.KnockTarget(plate); err != nil || rid != id {
		t.Fatalf("the new nameplate: %v, %v", rid, err)
	}
	if len(r.nameplates) != 1 {
		t.Fatalf("%d nameplates for one room", len(r.nameplates))
	}
	// The count starts again on the new code.
	if retired, _ := r.KnockFailed(id); retired {
		t.Fatal("a fresh code retired on its first failure")
	}
	// A failure for a room that is gone changes nothing.
	if retired, err := r.KnockFailed(ID{99}); err != nil || retired {
		t.Fatalf("failure for no room: %v %v", retired, err)
	}
}

func TestNameplatesGrowWithRooms(t *testing.T) {
	r, _ := newTestRegistry(Config{MaxRooms: 500})
	seen := map[string]bool{}
	for i := 0; i < 500; i++ {
		s, err := r.CreateFrom(ID{byte(i), byte(i >> 8)}, VerifierOf(token(1)), RoleTalk, "", "", &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[s.Nameplate] {
			t.Fatalf("nameplate %q handed out twice", s.Nameplate)
		}
		seen[s.Nameplate] = true
		for _, ch := range s.Nameplate {
			if ch < '0' || ch > '9' {
				t.Fatalf("nameplate %q is not all digits", s.Nameplate)
			}
		}
		// Live rooms never fill more than 1/NameplateSparsity of the space.
		space := pow10(len(s.Nameplate))
		if int64(i+1)*NameplateSparsity > space {
			t.Fatalf("%d rooms in a space of %d", i+1, space)
		}
	}
}

// In a cluster a node's nameplates all start with its prefix, so the load
// balancer can route a typed code by its first digits; the random part after
// the prefix keeps the one-node sparsity rule, so codes grow by exactly the
// prefix's digits.
func TestNameplatesCarryTheNodePrefix(t *testing.T) {
	r, _ := newTestRegistry(Config{MaxRooms: 200, NodePrefix: "42"})
	for i := 0; i < 200; i++ {
		s, err := r.CreateFrom(ID{byte(i), byte(i >> 8)}, VerifierOf(token(1)), RoleTalk, "", "", &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.Nameplate, "42") {
			t.Fatalf("nameplate %q lacks the node prefix", s.Nameplate)
		}
		random := len(s.Nameplate) - 2
		if random < MinNameplateDigits || int64(i+1)*NameplateSparsity > pow10(random) {
			t.Fatalf("nameplate %q: %d random digits for %d rooms", s.Nameplate, random, i+1)
		}
	}
	// A retired nameplate's successor keeps the prefix too.
	r2, _ := newTestRegistry(Config{NodePrefix: "7", MaxKnockFailures: 2})
	rec, id := &recorder{}, ID{0xee}
	if _, err := r2.CreateFrom(id, VerifierOf(token(2)), RoleTalk, "", "", rec); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r2.KnockFailed(id); err != nil {
			t.Fatal(err)
		}
	}
	var renamed string
	for _, ev := range rec.take() {
		if ev.Kind == NameplateChanged {
			renamed = ev.Nameplate
		}
	}
	if !strings.HasPrefix(renamed, "7") || len(renamed) < 1+MinNameplateDigits {
		t.Fatalf("retired nameplate's successor %q, want the prefix 7 and %d random digits", renamed, MinNameplateDigits)
	}
}

func TestValidNodePrefix(t *testing.T) {
	for _, ok := range []string{"", "0", "7", "12", "999"} {
		if err := ValidNodePrefix(ok); err != nil {
			t.Errorf("ValidNodePrefix(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"1234", "a", "1-", " 1", "١"} {
		if err := ValidNodePrefix(bad); err == nil {
			t.Errorf("ValidNodePrefix(%q) = nil, want an error", bad)
		}
	}
}
