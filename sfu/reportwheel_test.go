package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"

	"sotto/internal/testutil"
)

// turns turns the wheel n ticks by hand (its own timer is an hour away)
// and returns at which of them (1-based) the connection reported.
func (tr *testReports) turns(n int, each func(tick int)) []int {
	var at []int
	for i := 1; i <= n; i++ {
		if each != nil {
			each(i)
		}
		tr.written = nil
		tr.w.turn()
		if len(tr.written) > 0 {
			at = append(at, i)
		}
	}
	return at
}

// A connection is first visited half an interval after its first packet,
// then once per interval while it sends, and leaves the wheel at the first
// visit that finds nothing new; the wheel then holds nothing and disarms.
func TestReportWheelVisitsOncePerIntervalWhileMediaMoves(t *testing.T) {
	tr := newTestReports(t)
	tr.send(1, 0, 10)
	// Sends at every tick of three intervals, then stops.
	at := tr.turns(5*reportSlots, func(tick int) {
		if tick < 3*reportSlots {
			tr.send(uint16(1+tick), uint32(960*tick), 10)
		}
	})
	var want []int
	for k := range 4 { // the fourth reports the last interval's packets
		want = append(want, firstReportSlots+k*reportSlots)
	}
	if !equalInts(at, want) {
		t.Fatalf("reported at ticks %v, want %v", at, want)
	}
	if held, armed := tr.w.state(); held != 0 || armed {
		t.Fatalf("after the media stopped the wheel holds %d (armed %v), want 0, disarmed", held, armed)
	}
	if tr.r.scheduled.Load() {
		t.Fatal("the connection left the wheel still marked scheduled")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Connections that start at different ticks keep their own slots, so
// their reports are spread over the interval, and one leaving does not
// move the others.
func TestReportWheelSpreadsConnections(t *testing.T) {
	a, b := newTestReports(t), newTestReports(t)
	w := a.w
	b.r.wheel = w
	a.send(1, 0, 10)
	w.turn()
	w.turn()
	b.send(1, 0, 10)
	var atA, atB []int
	for i := 3; i <= 2*reportSlots+2; i++ {
		a.written, b.written = nil, nil
		if i <= reportSlots {
			a.send(uint16(i), uint32(960*i), 10)
		}
		b.send(uint16(i), uint32(960*i), 10)
		w.turn()
		if len(a.written) > 0 {
			atA = append(atA, i)
		}
		if len(b.written) > 0 {
			atB = append(atB, i)
		}
	}
	// a started before tick 1, b before tick 3: visits at 5, 15 (the
	// last news) and 7, 17; a left at 25 (past the loop).
	if !equalInts(atA, []int{firstReportSlots, firstReportSlots + reportSlots}) {
		t.Errorf("a reported at %v", atA)
	}
	if !equalInts(atB, []int{firstReportSlots + 2, firstReportSlots + 2 + reportSlots}) {
		t.Errorf("b reported at %v", atB)
	}
	if held, _ := w.state(); held != 2 {
		t.Errorf("wheel holds %d, want both", held)
	}
}

// With its own timer, the wheel turns by itself while it holds anyone and
// disarms when the last connection leaves.
func TestReportWheelTimerRunsOnlyWhileHolding(t *testing.T) {
	tr := newTestReports(t)
	tr.w.tick = time.Millisecond
	reported := make(chan struct{}, 1)
	tr.r.BindRTCPWriter(interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) {
		select {
		case reported <- struct{}{}:
		default:
		}
		return 0, nil
	}))
	tr.send(1, 0, 10)
	select {
	case <-reported:
	case <-time.After(5 * time.Second):
		t.Fatal("the armed wheel never visited the sending connection")
	}
	testutil.WaitFor(t, 5*time.Second, "the wheel to disarm", func() bool {
		held, armed := tr.w.state()
		return held == 0 && !armed
	})
	// A later packet arms it again.
	tr.send(2, 960, 10)
	select {
	case <-reported:
	case <-time.After(5 * time.Second):
		t.Fatal("the wheel did not come back for a connection's next packet")
	}
}
