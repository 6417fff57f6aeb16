package sfu

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/rtcp"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

func TestListenerLossIsAHighPercentileOfFreshReports(t *testing.T) {
	now := int64(time.Hour)
	r := newRoom()
	talker := &peer{id: uuid.New(), room: r}
	r.add(talker)
	talker.downLoss.set(255, now) // the talker's own report never counts
	if got := r.listenerLoss(talker, now); got != 0 {
		t.Fatalf("no listener reported: loss %d, want 0", got)
	}
	add := func(fraction uint8, at int64) {
		p := &peer{id: uuid.New(), room: r}
		p.downLoss.set(fraction, at)
		r.add(p)
	}
	add(26, now-int64(time.Second)) // 10%, a second ago
	if got := r.listenerLoss(talker, now); got != 26 {
		t.Fatalf("one listener at 26/256: loss %d", got)
	}
	add(200, now-int64(listenerLossFresh)-1) // too old to count
	if got := r.listenerLoss(talker, now); got != 26 {
		t.Fatalf("a stale report counted: loss %d, want 26", got)
	}
	// 19 fresh reports: 17 at 0, 26 and 50. The 90th percentile, nearest
	// rank ceil(0.9×19) = 18, is 26: the one worst listener does not decide.
	for range 17 {
		add(0, now)
	}
	add(50, now)
	if got := r.listenerLoss(talker, now); got != 26 {
		t.Fatalf("19 listeners, two losing: loss %d, want 26 (the 90th percentile)", got)
	}
	// A small room is served by its worst listener.
	small := newRoom()
	st := &peer{id: uuid.New(), room: small}
	small.add(st)
	for _, f := range []uint8{3, 77, 12} {
		p := &peer{id: uuid.New(), room: small}
		p.downLoss.set(f, now)
		small.add(p)
	}
	if got := small.listenerLoss(st, now); got != 77 {
		t.Fatalf("three listeners: loss %d, want the worst, 77", got)
	}
}

// TestTalkerHearsListenersLoss: a listener reports 25% loss on its floor
// track; the receiver reports the SFU sends the talker about its own stream
// say so (and, without loss repair, do not).
func TestTalkerHearsListenersLoss(t *testing.T) {
	const lossy = 64 // 25% in RFC 3550's 256ths
	withAndWithoutRepair(t, func(t *testing.T, name string, repair bool) {
		s := newSFU(t, Config{NoLossRepair: !repair})
		api := clientAPI(t, false)
		roomID := [16]byte{'l', 'o', 's', 's', byte(len(name))}
		a := join(t, s, api, roomID, Talk, 'A')
		l := join(t, s, api, roomID, Listen, 'L')
		s.SetFloor(roomID, a.ID)
		startTalking(t, a)
		testutil.WaitFor(t, 5*time.Second, "the listener to hear", func() bool { n, _ := l.Count(); return n > 5 })
		floorSSRC := l.Received()[0].SSRC

		// The listener reports its loss every second, as a browser
		// does every few; the talker reads every report about its mic
		// for three report intervals.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				_ = l.WriteRTCP(&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: floorSSRC, FractionLost: lossy}}})
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
			}
		}()
		mic := a.MicSSRC()
		worst := -1
		deadline := time.Now().Add(3 * rtcpReportInterval)
		got := make(chan uint8, 16)
		go func() {
			for {
				pkts, err := a.ReadMicRTCP()
				if err != nil {
					close(got)
					return
				}
				for _, p := range pkts {
					if rr, ok := p.(*rtcp.ReceiverReport); ok {
						for _, b := range rr.Reports {
							if b.SSRC == mic {
								got <- b.FractionLost
							}
						}
					}
				}
			}
		}()
		reports := 0
	read:
		for time.Now().Before(deadline) && worst < lossy {
			select {
			case f, ok := <-got:
				if !ok {
					break read
				}
				reports++
				worst = max(worst, int(f))
			case <-time.After(time.Until(deadline)):
			}
		}
		if reports == 0 {
			t.Fatalf("the talker got no receiver report about its mic in %v", 3*rtcpReportInterval)
		}
		t.Logf("%d reports to the talker, the highest fraction lost %d/256", reports, worst)
		if repair && worst < lossy {
			t.Errorf("the talker was told %d/256 lost, want its listener's %d/256", worst, lossy)
		}
		if !repair && worst != 0 {
			t.Errorf("without loss repair the talker was told %d/256 lost on a clean uplink, want 0", worst)
		}
	})
}

// The listener's NACK for a packet it had gets that packet again, byte for
// byte (and without loss repair, nothing).
func TestNACKResendsAFloorPacket(t *testing.T) {
	withAndWithoutRepair(t, func(t *testing.T, name string, repair bool) {
		s := newSFU(t, Config{NoLossRepair: !repair})
		api := clientAPI(t, false)
		roomID := [16]byte{'n', 'a', 'c', 'k', byte(len(name))}
		a := join(t, s, api, roomID, Talk, 'A')
		seeing := seeingResendsAPI(t)
		l := join(t, s, seeing, roomID, Listen, 'L')
		s.SetFloor(roomID, a.ID)
		ctx := t.Context()
		a.Talk(ctx, 0, 20, 20*time.Millisecond)
		settle(t, []*sfutest.Client{l}, 300*time.Millisecond, 5*time.Second)
		got := l.Received()
		if len(got) < 10 {
			t.Fatalf("the listener heard %d packets of 20", len(got))
		}
		want := got[len(got)-5]
		if err := l.WriteRTCP(&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: want.SSRC,
			Nacks: []rtcp.NackPair{{PacketID: want.Seq}}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		copies := 0
		for _, p := range l.Received() {
			if p.Seq == want.Seq {
				copies++
				if !p.Intact || p.N != want.N {
					t.Errorf("resent packet %d carries frame %d intact %v, want frame %d intact", p.Seq, p.N, p.Intact, want.N)
				}
			}
		}
		if repair && copies != 2 {
			t.Errorf("packet %d arrived %d times after its NACK, want 2", want.Seq, copies)
		}
		if !repair && copies != 1 {
			t.Errorf("without loss repair packet %d arrived %d times, want 1", want.Seq, copies)
		}
	})
}

// A member that NACKs everything over and over gets at most its budget,
// and the rest is counted as refused.
func TestNACKBudgetBoundsResends(t *testing.T) {
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{'b', 'u', 'd'}
	a := join(t, s, api, roomID, Talk, 'A')
	seeing := seeingResendsAPI(t)
	l := join(t, s, seeing, roomID, Listen, 'L')
	s.SetFloor(roomID, a.ID)
	a.Talk(t.Context(), 0, 40, 5*time.Millisecond)
	settle(t, []*sfutest.Client{l}, 300*time.Millisecond, 5*time.Second)
	got := l.Received()
	if len(got) < 20 {
		t.Fatalf("the listener heard %d packets of 40", len(got))
	}
	// Ten NACKs of the last 17 packets, back to back: 170 asked for.
	first := got[len(got)-17]
	for range 10 {
		if err := l.WriteRTCP(&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: first.SSRC,
			Nacks: []rtcp.NackPair{{PacketID: first.Seq, LostPackets: 0xffff}}}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 5*time.Second, "the NACKs to be answered or refused", func() bool {
		st := s.Stats()
		return st.Resent+st.NACKRefused == 170
	})
	st := s.Stats()
	settle(t, []*sfutest.Client{l}, 300*time.Millisecond, 5*time.Second)
	extra := len(l.Received()) - len(got)
	t.Logf("170 packets asked for: %d resent, %d refused, %d arrived again", st.Resent, st.NACKRefused, extra)
	if st.Resent < 17 || st.Resent > nackBudgetBurst {
		t.Errorf("%d packets resent, want at least one NACK's 17 and at most the burst, %d", st.Resent, nackBudgetBurst)
	}
	if uint64(extra) != st.Resent {
		t.Errorf("%d packets arrived again, the SFU counted %d resent", extra, st.Resent)
	}
}

func TestNackAccountIsTheShareAskedForAgain(t *testing.T) {
	var a nackAccount
	// The first report counts from the floor track's first packet, 900:
	// 101 packets, 5 asked for.
	for s := uint16(950); s < 955; s++ {
		a.nacked(&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{s})})
	}
	if got := a.report(1000, 900, true); got != 5*256/101 {
		t.Fatalf("first report, 5 of 101 asked for: %d/256, want %d", got, 5*256/101)
	}
	// 250 packets expected, 25 distinct asked for (one twice): 10%.
	for s := uint16(1000); s < 1025; s++ {
		a.nacked(&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{s})})
	}
	a.nacked(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 1003}}})
	if got := a.report(1250, 900, true); got != 25*256/250 {
		t.Fatalf("25 of 250 asked for: %d/256, want %d", got, 25*256/250)
	}
	if got := a.report(1500, 900, true); got != 0 {
		t.Fatalf("a clean interval: %d/256, want 0", got)
	}
	if got := a.report(1500, 900, true); got != 0 {
		t.Fatalf("nothing expected: %d/256, want 0", got)
	}
	var b nackAccount
	b.nacked(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 5}}})
	if got := b.report(1000, 0, false); got != 0 {
		t.Fatalf("a first report before anything was sent: %d/256, want 0", got)
	}
}

func TestUplinkGapsNameWhatIsMissing(t *testing.T) {
	var g uplinkGaps
	for _, tc := range []struct {
		seq  uint16
		want []uint16
	}{
		{65533, nil},
		{65534, nil},
		{1, []uint16{65535, 0}}, // across the wrap
		{0, nil},                // the resend, late: no news
		{2, nil},
		{2 + maxUplinkNackGap + 2, nil}, // an outage: not asked for
		{2 + maxUplinkNackGap + 4, []uint16{2 + maxUplinkNackGap + 3}},
	} {
		got := g.next(tc.seq)
		if len(got) != len(tc.want) {
			t.Fatalf("after %d: missing %v, want %v", tc.seq, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("after %d: missing %v, want %v", tc.seq, got, tc.want)
			}
		}
	}
}

// The SFU asks the floor holder at once for the packets a gap in its
// sequence numbers says its uplink lost.
func TestHolderIsAskedForItsLostPackets(t *testing.T) {
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{'u', 'p'}
	a := join(t, s, api, roomID, Talk, 'A')
	l := join(t, s, api, roomID, Listen, 'L')
	s.SetFloor(roomID, a.ID)
	warmUp(t, a, []*sfutest.Client{l})
	nacks := make(chan []uint16, 16)
	go func() {
		for {
			pkts, err := a.ReadMicRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if nk, ok := p.(*rtcp.TransportLayerNack); ok && nk.MediaSSRC == a.MicSSRC() {
					var seqs []uint16
					for _, pair := range nk.Nacks {
						seqs = append(seqs, pair.PacketList()...)
					}
					nacks <- seqs
				}
			}
		}
	}()
	_ = a.Send(1)
	a.Skip(3)
	_ = a.Send(5)
	select {
	case seqs := <-nacks:
		if len(seqs) != 3 || seqs[1] != seqs[0]+1 || seqs[2] != seqs[0]+2 {
			t.Fatalf("the holder was asked for %v, want the 3 packets it skipped", seqs)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no NACK reached the holder within 2 s of a 3-packet gap")
	}
	if got := s.Stats().UplinkNACKed; got != 3 {
		t.Fatalf("Stats.UplinkNACKed = %d, want 3", got)
	}
}

// After the floor changes hands, a NACK for the new talker's packet gets
// that packet, renumbered for the listener, not the old talker's that had
// the same number in the room's history.
func TestNACKAfterTalkerChange(t *testing.T) {
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{'c', 'h', 'g'}
	a := join(t, s, api, roomID, Talk, 'A')
	b := join(t, s, api, roomID, Talk, 'B')
	seeing := seeingResendsAPI(t)
	l := join(t, s, seeing, roomID, Listen, 'L')
	s.SetFloor(roomID, a.ID)
	a.Talk(t.Context(), 0, 30, 10*time.Millisecond)
	settle(t, []*sfutest.Client{l}, 300*time.Millisecond, 5*time.Second)
	s.SetFloor(roomID, b.ID)
	b.Talk(t.Context(), 100, 30, 10*time.Millisecond)
	settle(t, []*sfutest.Client{l}, 300*time.Millisecond, 5*time.Second)
	got := l.Received()
	want := got[len(got)-3]
	if want.Tag != 'B' {
		t.Fatalf("the listener's last packets are %c's, want B's", want.Tag)
	}
	if err := l.WriteRTCP(&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: want.SSRC,
		Nacks: []rtcp.NackPair{{PacketID: want.Seq}}}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 2*time.Second, "the resend", func() bool { return len(l.Received()) == len(got)+1 })
	again := l.Received()[len(got)]
	if again.Tag != 'B' || again.N != want.N || again.Seq != want.Seq || again.TS != want.TS || !again.Intact {
		t.Fatalf("resent %c frame %d seq %d ts %d intact %v, want B frame %d seq %d ts %d", again.Tag, again.N, again.Seq, again.TS, again.Intact, want.N, want.Seq, want.TS)
	}
}
