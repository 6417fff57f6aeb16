package sfu

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/rtp"
)

func TestPacer(t *testing.T) {
	var b pacer
	now := int64(time.Hour)
	// A burst of forwardBurst at once, and not one more.
	for i := range forwardBurst {
		if !b.allow(now) {
			t.Fatalf("packet %d of a burst dropped", i)
		}
	}
	if b.allow(now) {
		t.Fatal("packet past the burst allowed")
	}
	// Then forwardRate a second: over 10 s at 10x the rate, 10*forwardRate
	// (give or take one) get through.
	got := 0
	for i := range 10 * 10 * forwardRate {
		if b.allow(now + int64(i)*int64(time.Second)/(10*forwardRate)) {
			got++
		}
	}
	if got < 10*forwardRate-1 || got > 10*forwardRate+1 {
		t.Fatalf("%d packets through in 10 s, want %d", got, 10*forwardRate)
	}
	// A 50/s talker is never held back, however long it talks.
	b = pacer{}
	for i := range 100_000 {
		if !b.allow(now + int64(i)*int64(20*time.Millisecond)) {
			t.Fatalf("packet %d of a 50/s talker dropped", i)
		}
	}
}

// The holder's packets past the cap are counted in Stats.Limited, and
// the forward path stays free of allocations.
func TestForwardRateCounted(t *testing.T) {
	for _, repair := range []bool{false, true} {
		t.Run(map[bool]string{false: "no repair", true: "repair"}[repair], func(t *testing.T) {
			forwardRateCounted(t, &SFU{lossRepair: repair})
		})
	}
}

// forwardRateCounted is TestForwardRateCounted on s: with loss repair the
// room's history keeps each packet too, in slots it reuses.
func forwardRateCounted(t *testing.T, s *SFU) {
	r := newRoom()
	p := &peer{sfu: s, room: r, id: uuid.New(), num: 1, role: Talk}
	r.add(p)
	r.setHolder(p.id)
	pkt := &rtp.Packet{Header: rtp.Header{PayloadType: 111}, Payload: make([]byte, 100)}
	allocs := testing.AllocsPerRun(1000, func() { r.forward(p, pkt) })
	if allocs != 0 {
		t.Errorf("forward allocates %v times a packet", allocs)
	}
	// 1001 calls within milliseconds: one burst passes, the rest is counted.
	if st := s.Stats(); st.Limited < 800 || st.Limited > 1001-forwardBurst {
		t.Errorf("Stats().Limited = %d after 1001 packets at once, want 800 to %d", st.Limited, 1001-forwardBurst)
	}
}

// BenchmarkPacer is what the cap adds to each packet a holder sends (not
// to each listener's copy).
func BenchmarkPacer(b *testing.B) {
	var p pacer
	now := int64(time.Hour)
	for i := 0; i < b.N; i++ {
		p.allow(now + int64(i)*forwardInterval)
	}
}
