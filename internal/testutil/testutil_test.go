package testutil

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	var n atomic.Int32
	if !Eventually(time.Second, func() bool { return n.Add(1) >= 3 }) {
		t.Error("a condition that comes true was given up on")
	}
	start := time.Now()
	if Eventually(50*time.Millisecond, func() bool { return false }) {
		t.Error("a condition that never holds was reported true")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want about 50ms", d)
	}
}

func TestSettled(t *testing.T) {
	var n atomic.Int32
	got := Settled(t, 5*time.Second, 50*time.Millisecond, "a count", func() int {
		if v := n.Load(); v < 5 {
			n.Store(v + 1)
		}
		return int(n.Load())
	})
	if got != 5 {
		t.Errorf("settled at %d, want 5", got)
	}
}

func TestWaitGoroutines(t *testing.T) {
	before := StableGoroutines()
	stop := make(chan struct{})
	go func() { <-stop }()
	if err := WaitGoroutines(before, 50*time.Millisecond); err == nil {
		t.Error("a running goroutine was not reported")
	}
	close(stop)
	if err := WaitGoroutines(before, 5*time.Second); err != nil {
		t.Error(err)
	}
}

func TestFreeLoopbackAddr(t *testing.T) {
	addr := FreeLoopbackAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("TCP on %s: %v", addr, err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP on %s: %v", addr, err)
	}
	pc.Close()
}

// ClosedAtAccept tells a listener that closes at once from one that holds
// the connection open.
func TestClosedAtAccept(t *testing.T) {
	serve := func(hold bool) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if !hold {
					c.Close()
					continue
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		return ln.Addr().String()
	}
	if !ClosedAtAccept(t, "127.0.0.2", serve(false), "GET / HTTP/1.1\r\n\r\n") {
		t.Error("a closed connection was not seen as closed")
	}
	held := serve(true)
	if ClosedAtAccept(t, "127.0.0.2", held, "") {
		t.Error("a held connection was seen as closed")
	}
	c := DialFrom(t, "127.0.0.3", held)
	if got := c.LocalAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.3" {
		t.Errorf("dialled from %s", got)
	}
}

func TestMetric(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE sotto_rooms gauge\nsotto_rooms 3\nsotto_rooms_total 9\n")
	}))
	defer srv.Close()
	if got := Metric(t, srv.URL, "sotto_rooms"); got != "3" {
		t.Errorf("sotto_rooms = %q", got)
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testutil")); err != nil {
		t.Errorf("%s is not this repository's root: %v", root, err)
	}
}

func TestTurns(t *testing.T) {
	got := Turns([]string{"a1", "a2", "b1", "a3"}, func(s string) byte { return s[0] })
	if fmt.Sprint(got) != "[{97 [a1 a2]} {98 [b1]} {97 [a3]}]" {
		t.Errorf("Turns = %v", got)
	}
	if Turns([]int(nil), func(int) int { return 0 }) != nil {
		t.Error("no packets, yet turns")
	}
}

func TestCheckRunAndHandover(t *testing.T) {
	at := time.Unix(0, 0)
	frame := func(n uint32, seq uint16, ts uint32) RTPFrame {
		return RTPFrame{N: n, Seq: seq, TS: ts, SSRC: 7, At: at.Add(time.Duration(n) * frameDuration)}
	}
	good := []RTPFrame{frame(1, 10, 960), frame(2, 11, 1920), frame(4, 13, 3840)} // frame 3 lost
	if err := CheckRun(good); err != nil {
		t.Errorf("a run with a lost frame: %v", err)
	}
	for name, bad := range map[string][]RTPFrame{
		"out of order":   {frame(2, 11, 1920), frame(1, 10, 960)},
		"seq gap":        {frame(1, 10, 960), frame(2, 12, 1920)},
		"timestamp jump": {frame(1, 10, 960), frame(2, 11, 2000)},
		"SSRC change":    {frame(1, 10, 960), {N: 2, Seq: 11, TS: 1920, SSRC: 8}},
	} {
		if CheckRun(bad) == nil {
			t.Errorf("%s passed", name)
		}
	}
	last, first := frame(4, 13, 3840), frame(9, 14, 3840+5*960)
	first.Marker = true
	if step, err := CheckHandover(last, first, 10*time.Millisecond); err != nil || step != 100*time.Millisecond {
		t.Errorf("a clean handover: step %v, %v", step, err)
	}
	unmarked := first
	unmarked.Marker = false
	if _, err := CheckHandover(last, unmarked, 10*time.Millisecond); err == nil {
		t.Error("a handover without the marker bit passed")
	}
	late := first
	late.At = late.At.Add(time.Second)
	if _, err := CheckHandover(last, late, 10*time.Millisecond); err == nil {
		t.Error("a timestamp step that does not match the wall clock passed")
	}
}

func TestInBatches(t *testing.T) {
	var ran, running, most atomic.Int32
	err := InBatches(12, 4, func() error {
		ran.Add(1)
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		return nil
	})
	if err != nil || ran.Load() != 12 || most.Load() > 4 {
		t.Errorf("err %v, ran %d, at most %d at once", err, ran.Load(), most.Load())
	}
	boom := fmt.Errorf("boom")
	ran.Store(0)
	if err := InBatches(12, 4, func() error { ran.Add(1); return boom }); err != boom || ran.Load() != 4 {
		t.Errorf("a failing batch: err %v after %d cycles, want boom after 4", err, ran.Load())
	}
}

func TestCatchFatal(t *testing.T) {
	if msg := CatchFatal(t, func(tb testing.TB) { tb.Fatalf("no %s", "luck"); panic("not reached") }); msg != "no luck" {
		t.Errorf("Fatalf: caught %q", msg)
	}
	if msg := CatchFatal(t, func(tb testing.TB) { tb.Fatal("no", 1) }); msg != "no 1" {
		t.Errorf("Fatal: caught %q", msg)
	}
	ran := false
	if msg := CatchFatal(t, func(tb testing.TB) { ran = true }); msg != "" || !ran {
		t.Errorf("a passing f: caught %q, ran %v", msg, ran)
	}
}
