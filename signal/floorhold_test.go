package signal

import (
	"sync"
	"testing"

	"github.com/google/uuid"

	"sotto/room"
)

// holdingMedia is a fakeMedia that holds talkers' packets for their grant
// (FloorHolding) and notes which requests it was told were refused.
type holdingMedia struct {
	*fakeMedia
	holdMS  int64
	mu      sync.Mutex
	refused []uuid.UUID
}

func (h *holdingMedia) FloorHoldMS() int64 { return h.holdMS }

func (h *holdingMedia) FloorRefused(_ room.ID, member uuid.UUID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refused = append(h.refused, member)
}

func (h *holdingMedia) refusals() []uuid.UUID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]uuid.UUID(nil), h.refused...)
}

// joined advertises the hold of a Media that holds packets, and only then;
// a busy floor_request is told to it before the client hears floor_busy,
// a granted one is not.
func TestFloorHoldIsAdvertisedAndRefusalsTold(t *testing.T) {
	for _, holdMS := range []int64{300, 0} {
		hm := &holdingMedia{fakeMedia: newFakeMedia(), holdMS: holdMS}
		ts := startServer(t, Config{Media: hm}, room.Config{})
		s := newSecrets()
		a := ts.dial(t)
		if got := a.create(s, 1).FloorHoldMS; got != holdMS {
			t.Errorf("hold %d: joined.floor_hold_ms = %d", holdMS, got)
		}
		b := ts.dial(t)
		bj := b.join(s, 1)
		if bj.FloorHoldMS != holdMS {
			t.Errorf("hold %d: joined.floor_hold_ms = %d for the second member", holdMS, bj.FloorHoldMS)
		}
		a.expect(typeMemberJoined)
		a.send(map[string]any{"type": "floor_request", "id": 2})
		a.expect(typeFloorGranted)
		b.expect(typeFloorGranted)
		b.send(map[string]any{"type": "floor_request", "id": 2})
		b.expect(typeFloorBusy)
		want := 0
		if holdMS > 0 {
			want = 1
		}
		if got := hm.refusals(); len(got) != want || (want == 1 && got[0].String() != bj.Self) {
			t.Errorf("hold %d: refusals told %v, want the busy member's alone (%d)", holdMS, got, want)
		}
	}
}
