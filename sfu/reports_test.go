package sfu

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"sotto/internal/testutil"
)

// testReports is one connection's reports interceptor on a wheel whose
// timer never fires (tests turn it by hand), with one outgoing stream
// (SSRC 10) and one incoming (SSRC 20), Opus-clocked. send and receive
// pass a packet through it; written collects what it reports.
type testReports struct {
	r       *reports
	w       *reportWheel
	send    func(seq uint16, ts uint32, payload int)
	receive func(seq uint16, ts uint32)
	rtcpIn  func(b []byte)
	written [][]rtcp.Packet
}

func newTestReports(t *testing.T) *testReports {
	t.Helper()
	tr := &testReports{w: &reportWheel{tick: time.Hour}}
	tr.r = newReports(tr.w)
	t.Cleanup(func() { _ = tr.r.Close() })
	tr.r.BindRTCPWriter(interceptor.RTCPWriterFunc(func(p []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		tr.written = append(tr.written, p)
		return 0, nil
	}))
	out := tr.r.BindLocalStream(&interceptor.StreamInfo{SSRC: 10, ClockRate: 48000},
		interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	tr.send = func(seq uint16, ts uint32, payload int) {
		_, _ = out.Write(&rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: 10}, make([]byte, payload), nil)
	}
	var next []byte
	in := tr.r.BindRemoteStream(&interceptor.StreamInfo{SSRC: 20, ClockRate: 48000},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, next), a, nil
		}))
	tr.receive = func(seq uint16, ts uint32) {
		next, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: 20}, Payload: []byte{1}}).Marshal()
		_, _, _ = in.Read(make([]byte, 1500), nil)
	}
	var rtcpNext []byte
	rin := tr.r.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, rtcpNext), a, nil
	}))
	tr.rtcpIn = func(b []byte) {
		rtcpNext = b
		_, _, _ = rin.Read(make([]byte, 1500), nil)
	}
	return tr
}

// visit is one wheel visit; it returns what was written and whether the
// connection stays on the wheel.
func (tr *testReports) visit(now time.Time) ([]rtcp.Packet, bool) {
	tr.written = nil
	stays := tr.r.visit(now)
	if len(tr.written) > 1 {
		panic("a visit wrote twice")
	}
	if len(tr.written) == 0 {
		return nil, stays
	}
	return tr.written[0], stays
}

func onlySR(t *testing.T, pkts []rtcp.Packet) *rtcp.SenderReport {
	t.Helper()
	if len(pkts) != 1 {
		t.Fatalf("reported %v, want one sender report", pkts)
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("reported %T, want a sender report", pkts[0])
	}
	return sr
}

func onlyBlock(t *testing.T, pkts []rtcp.Packet) rtcp.ReceptionReport {
	t.Helper()
	if len(pkts) != 1 {
		t.Fatalf("reported %v, want one receiver report", pkts)
	}
	rr, ok := pkts[0].(*rtcp.ReceiverReport)
	if !ok || len(rr.Reports) != 1 || rr.Reports[0].SSRC != 20 {
		t.Fatalf("reported %v, want a receiver report with one block about SSRC 20", pkts[0])
	}
	return rr.Reports[0]
}

// A connection reports only about streams that moved since its last
// report, is on the wheel only while they move, and is put back by its next
// packet.
func TestReportsOnlyAboutStreamsThatMoved(t *testing.T) {
	tr := newTestReports(t)
	now := time.Now()
	if pkts, stays := tr.visit(now); pkts != nil || stays {
		t.Fatalf("a silent connection reported %v (stays %v)", pkts, stays)
	}
	if held, armed := tr.w.state(); held != 0 || armed {
		t.Fatalf("a silent connection is on the wheel: held %d, armed %v", held, armed)
	}

	for i := range 3 {
		tr.send(uint16(100+i), uint32(960*i), 80)
	}
	if held, armed := tr.w.state(); held != 1 || !armed {
		t.Fatalf("a sending connection: wheel held %d, armed %v; want 1, armed", held, armed)
	}
	pkts, stays := tr.visit(now)
	if sr := onlySR(t, pkts); sr.SSRC != 10 || sr.PacketCount != 3 || sr.OctetCount != 240 {
		t.Errorf("sender report %+v, want SSRC 10, 3 packets, 240 octets", sr)
	}
	if !stays {
		t.Error("a connection that reported left the wheel")
	}
	if pkts, stays := tr.visit(now); pkts != nil || stays {
		t.Fatalf("nothing moved since the last report: reported %v (stays %v)", pkts, stays)
	}
	if tr.r.scheduled.Load() {
		t.Fatal("a connection that left the wheel is still marked scheduled")
	}

	tr.receive(7, 0)
	if !tr.r.scheduled.Load() {
		t.Fatal("a received packet did not put the connection back on the wheel")
	}
	if b := onlyBlock(t, first(tr.visit(now))); b.LastSequenceNumber != 7 || b.TotalLost != 0 {
		t.Errorf("block %+v, want highest 7, nothing lost", b)
	}
	// Both directions moved: the sender report first, then the receiver
	// report, in one compound packet.
	tr.send(103, 960*3, 80)
	tr.receive(8, 960)
	pkts, _ = tr.visit(now)
	if len(pkts) != 2 {
		t.Fatalf("reported %v, want a sender and a receiver report", pkts)
	}
	if _, ok := pkts[0].(*rtcp.SenderReport); !ok {
		t.Errorf("first %T, want the sender report", pkts[0])
	}
	if _, ok := pkts[1].(*rtcp.ReceiverReport); !ok {
		t.Errorf("second %T, want the receiver report", pkts[1])
	}
}

func first[A, B any](a A, _ B) A { return a }

// A closed connection leaves the wheel at once and is not put back.
func TestReportsClosedLeavesTheWheel(t *testing.T) {
	tr := newTestReports(t)
	tr.send(1, 0, 10)
	if held, _ := tr.w.state(); held != 1 {
		t.Fatalf("wheel holds %d, want 1", held)
	}
	_ = tr.r.Close()
	if held, _ := tr.w.state(); held != 0 {
		t.Fatalf("after Close the wheel holds %d, want 0", held)
	}
	tr.r.scheduled.Store(false)
	tr.send(2, 960, 10)
	if held, _ := tr.w.state(); held != 0 {
		t.Fatalf("a closed connection's packet put it back: wheel holds %d", held)
	}
	if pkts, stays := tr.visit(time.Now()); pkts != nil || stays {
		t.Fatalf("a closed connection reported %v (stays %v)", pkts, stays)
	}
}

// The receiver report's counts follow RFC 3550 A.3: the extended highest
// sequence number across a wrap, loss over the interval and in all, late
// packets crediting the interval they arrive in.
func TestReceiverReportCountsLossAcrossAWrap(t *testing.T) {
	tr := newTestReports(t)
	now := time.Now()
	// 65530..65535, 0..9 without 2 and 3: 16 expected, 14 received.
	for seq := uint16(65530); seq != 10; seq++ {
		if seq != 2 && seq != 3 {
			tr.receive(seq, 0)
		}
	}
	b := onlyBlock(t, first(tr.visit(now)))
	if b.LastSequenceNumber != 1<<16|9 {
		t.Errorf("highest %#x, want %#x", b.LastSequenceNumber, 1<<16|9)
	}
	if b.TotalLost != 2 || b.FractionLost != 2*256/16 {
		t.Errorf("lost %d, fraction %d/256; want 2, %d", b.TotalLost, b.FractionLost, 2*256/16)
	}
	// 3 arrives late, with 10..13: the interval expected 4 and got 5,
	// no loss in it, and the total drops to 1.
	tr.receive(3, 0)
	for seq := uint16(10); seq < 14; seq++ {
		tr.receive(seq, 0)
	}
	b = onlyBlock(t, first(tr.visit(now)))
	if b.LastSequenceNumber != 1<<16|13 || b.TotalLost != 1 || b.FractionLost != 0 {
		t.Errorf("block %+v, want highest %#x, 1 lost, fraction 0", b, 1<<16|13)
	}
	// A duplicate: more received than expected, which reports no loss,
	// not a negative one.
	tr.receive(13, 0)
	tr.receive(13, 0)
	tr.receive(13, 0)
	if b = onlyBlock(t, first(tr.visit(now))); b.TotalLost != 0 || b.FractionLost != 0 {
		t.Errorf("after duplicates: lost %d, fraction %d; want 0, 0", b.TotalLost, b.FractionLost)
	}
}

// Jitter (RFC 3550 A.8) is 0 for packets arriving exactly on their
// timestamps' clock, and grows when arrivals wobble; the block echoes the
// member's last sender report and how long ago it came.
func TestReceiverReportJitterAndSenderReportEcho(t *testing.T) {
	s := &heardStream{clockRate: 48000}
	t0 := time.Now()
	for i := range 50 {
		s.heard(uint16(i), uint32(960*i), t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	b, _ := s.report(20, t0.Add(time.Second))
	if b.Jitter != 0 {
		t.Errorf("jitter %d for packets on their clock, want 0", b.Jitter)
	}
	// Every other packet 5 ms late: each transit change is 240 units, and
	// the smoothed jitter approaches it.
	for i := 50; i < 250; i++ {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i%2 == 1 {
			at = at.Add(5 * time.Millisecond)
		}
		s.heard(uint16(i), uint32(960*i), at)
	}
	b, _ = s.report(20, t0.Add(6*time.Second))
	if b.Jitter < 230 || b.Jitter > 240 {
		t.Errorf("jitter %d with 5 ms wobble, want about 240 (5 ms at 48 kHz)", b.Jitter)
	}

	// A compound packet from the member: its receiver report, then its
	// sender report about SSRC 20.
	tr := newTestReports(t)
	tr.receive(1, 0)
	const ntp = 0x0123456789abcdef
	rr, _ := (&rtcp.ReceiverReport{SSRC: 20}).Marshal()
	sr, _ := (&rtcp.SenderReport{SSRC: 20, NTPTime: ntp, PacketCount: 1}).Marshal()
	tr.rtcpIn(append(rr, sr...))
	heardAt := time.Now()
	b = onlyBlock(t, first(tr.visit(heardAt.Add(1500*time.Millisecond))))
	if b.LastSenderReport != 0x456789ab {
		t.Errorf("LSR %#x, want the middle 32 bits of %#x", b.LastSenderReport, uint64(ntp))
	}
	// 1.5 s in 1/65536 s, and the moment between the read and heardAt.
	if want := uint32(1.5 * 65536); b.Delay < want || b.Delay > want+65536/100 {
		t.Errorf("DLSR %d, want about %d (1.5 s)", b.Delay, want)
	}
	// A sender report about a stream the connection does not receive,
	// and a truncated packet, change nothing.
	other, _ := (&rtcp.SenderReport{SSRC: 99, NTPTime: 1 << 40}).Marshal()
	tr.rtcpIn(append(other, sr[:10]...))
	tr.receive(2, 960)
	if b = onlyBlock(t, first(tr.visit(time.Now()))); b.LastSenderReport != 0x456789ab {
		t.Errorf("LSR %#x after unrelated RTCP, want %#x", b.LastSenderReport, 0x456789ab)
	}
}

// The sender report maps the newest packet's RTP time to the report's wall
// clock; a resent old packet counts but does not move the mapping.
func TestSenderReportClock(t *testing.T) {
	s := &sentStream{clockRate: 48000}
	t0 := time.Now()
	s.sent(&rtp.Header{SequenceNumber: 500, Timestamp: 100000}, 50, t0)
	s.sent(&rtp.Header{SequenceNumber: 501, Timestamp: 100960}, 50, t0.Add(20*time.Millisecond))
	s.sent(&rtp.Header{SequenceNumber: 499, Timestamp: 99040}, 50, t0.Add(30*time.Millisecond)) // a resend
	at := t0.Add(120 * time.Millisecond)
	sr, ok := s.report(10, at)
	if !ok {
		t.Fatal("no sender report after sending")
	}
	if want := uint32(100960 + 4800); sr.RTPTime != want { // 100 ms after 501 left
		t.Errorf("RTP time %d, want %d", sr.RTPTime, want)
	}
	if sr.PacketCount != 3 || sr.OctetCount != 150 {
		t.Errorf("%d packets, %d octets; want 3, 150", sr.PacketCount, sr.OctetCount)
	}
	if sr.NTPTime != ntpTime(at) {
		t.Errorf("NTP time %#x, want %#x", sr.NTPTime, ntpTime(at))
	}
	if got, want := ntpTime(time.Unix(1, 5e8)), uint64(2208988801)<<32|1<<31; got != want {
		t.Errorf("ntpTime(1.5 s after 1970) = %#x, want %#x", got, want)
	}
}

// The member's RTCP is walked, not parsed: a malformed length ends the
// walk without reading past the packet.
func TestReportsRTCPWalkStopsAtBadLength(t *testing.T) {
	tr := newTestReports(t)
	tr.receive(1, 0)
	sr, _ := (&rtcp.SenderReport{SSRC: 20, NTPTime: 1 << 32}).Marshal()
	binary.BigEndian.PutUint16(sr[2:], 200) // claims 804 bytes
	tr.rtcpIn(sr)
	if b := onlyBlock(t, first(tr.visit(time.Now()))); b.LastSenderReport != 0 {
		t.Errorf("LSR %#x from a packet whose length runs past its end, want 0", b.LastSenderReport)
	}
}

// On a real SFU: connected members that send nothing are not on the report
// wheel and arm no timer; a talker's turn puts the talker (it receives) on
// it, and with Config.PionFloorWrites its listener too (it sends through
// pion; the SFU's own floor writer sends no sender reports,
// floorwriter.go); the talker hears a receiver report about its
// microphone, and when the turn ends all leave and the wheel disarms.
func TestSFUReportsOnlyWhileMediaMoves(t *testing.T) {
	for _, pionWrites := range []bool{false, true} {
		t.Run(fmt.Sprintf("PionFloorWrites=%v", pionWrites), func(t *testing.T) {
			sfuReportsOnlyWhileMediaMoves(t, pionWrites)
		})
	}
}

func sfuReportsOnlyWhileMediaMoves(t *testing.T, pionWrites bool) {
	old := reportTickEvery
	reportTickEvery = 20 * time.Millisecond // an interval of 200 ms
	t.Cleanup(func() { reportTickEvery = old })
	s := newSFU(t, Config{PionFloorWrites: pionWrites})
	wheel := s.api.reports
	api := clientAPI(t, false)
	roomID := [16]byte{'r', 'e', 'p', 'o', 'r', 't', 's'}
	a := join(t, s, api, roomID, Talk, 'A')
	l := join(t, s, api, roomID, Listen, 'L')

	time.Sleep(3 * reportSlots * reportTickEvery)
	if held, armed := wheel.state(); held != 0 || armed {
		t.Fatalf("two silent members: the wheel holds %d, armed %v; want 0, disarmed", held, armed)
	}

	s.SetFloor(roomID, a.ID)
	tk := startTalking(t, a)
	testutil.WaitFor(t, 5*time.Second, "the listener to hear", func() bool { n, _ := l.Count(); return n > 5 })
	want := 1 // the talker
	if pionWrites {
		want = 2 // and the listener
	}
	// Polled: a turn of the wheel takes what it visits off for the length
	// of the visit, so one look may fall between the two.
	var held int
	var armed bool
	testutil.WaitFor(t, 2*time.Second, "the turn's connections on the wheel", func() bool {
		held, armed = wheel.state()
		return held == want && armed
	})
	mic := a.MicSSRC()
	got := make(chan rtcp.ReceptionReport, 1)
	go func() {
		for {
			pkts, err := a.ReadMicRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if rr, ok := p.(*rtcp.ReceiverReport); ok {
					for _, b := range rr.Reports {
						if b.SSRC == mic {
							select {
							case got <- b:
							default:
							}
						}
					}
				}
			}
		}
	}()
	select {
	case b := <-got:
		if b.LastSequenceNumber == 0 {
			t.Errorf("the talker's receiver report %+v counts no packet", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the talker got no receiver report about its microphone")
	}

	tk.halt()
	testutil.WaitFor(t, 5*time.Second, "the wheel to empty after the turn", func() bool {
		held, armed := wheel.state()
		return held == 0 && !armed
	})
}
