package sfu

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"sotto/sfu/sfutest"
)

// ssrcSpray is a client interceptor that, while on, sends every RTP packet
// with an SSRC never used before: what a member with a working DTLS/SRTP
// session can do to make the server keep state per SSRC.
type ssrcSpray struct {
	on   atomic.Bool
	next atomic.Uint32
}

func (f *ssrcSpray) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &sprayInterceptor{f: f}, nil
}

type sprayInterceptor struct {
	interceptor.NoOp
	f *ssrcSpray
}

func (i *sprayInterceptor) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if i.f.on.Load() {
			h.SSRC = 0x5000_0000 + i.f.next.Add(1)
		}
		return w.Write(h, payload, a)
	})
}

// lineCounter is a log writer that counts lines (pion's, here).
type lineCounter struct{ n atomic.Int64 }

func (l *lineCounter) Write(b []byte) (int, error) {
	l.n.Add(int64(bytes.Count(b, []byte{'\n'})))
	return len(b), nil
}

// liveHeap is the heap still reachable, after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// A member with a real DTLS/SRTP session sends packets with a fresh SSRC
// each. pion keeps a stream (buffer, SRTP state, and an ERROR log line) per
// SSRC for the life of the connection, so before the bound the server's heap
// grew by a few KB per packet, without end. Now the session is ended after
// maxRemoteStreams streams and everything it held is freed.
func TestUnknownSSRCSprayIsBounded(t *testing.T) {
	leakCheck(t)
	const spray = 10_000 // packets, each with a new SSRC
	var logs lineCounter
	s := newSFU(t, Config{LogWriter: &logs})
	sp := &ssrcSpray{}
	api, err := sfutest.NewAPIWith(false, sp)
	if err != nil {
		t.Fatal(err)
	}
	roomID := [16]byte{5, 5}
	start := liveHeap()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sfutest.Join(ctx, api, s, roomID, sfutest.Options{Role: Talk, Tag: 'S'})
	if err != nil {
		t.Fatal(err)
	}
	var closeOnce sync.Once
	closeClient := func() { closeOnce.Do(func() { _ = c.Close() }) }
	t.Cleanup(closeClient)
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// The client's first packets, with its declared SSRC, are ordinary.
	for i := range 5 {
		_ = c.Send(uint32(i))
	}
	time.Sleep(100 * time.Millisecond)
	before := liveHeap()

	sp.on.Store(true)
	began := time.Now()
	for i := range spray {
		_ = c.Send(uint32(i))
		if i%50 == 49 {
			time.Sleep(5 * time.Millisecond) // about 10,000/s: the server's socket keeps up
		}
	}
	sendTime := time.Since(began)
	// Wait until the server has taken in what it got: pion logs a line for
	// every unknown SSRC it gives up on; wait for those to stop.
	last, since := logs.n.Load(), time.Now()
	waitFor(t, 20*time.Second, "the server to digest the spray", func() bool {
		if n := logs.n.Load(); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 500*time.Millisecond
	})
	during := liveHeap()
	peers := s.Stats().Peers
	growth := int64(during) - int64(before)
	t.Logf("sprayed %d SSRCs in %v; server logged %d lines; live heap %d -> %d KB (%+d KB, %.0f B/SSRC); open sessions %d",
		spray, sendTime.Round(time.Millisecond), logs.n.Load(), before>>10, during>>10, growth>>10, float64(growth)/spray, peers)

	// The client keeps a little SRTP state per SSRC it sent (~200 B); the
	// server, before the bound, several KB. 4 MB is far from either.
	if growth > 4<<20 {
		t.Errorf("live heap grew by %d KB during the spray of %d SSRCs, want at most 4096 KB", growth>>10, spray)
	}
	if peers != 0 {
		t.Errorf("%d media sessions still open after %d unknown SSRCs, want the sprayer's ended", peers, spray)
	}

	// And what the session held is gone once it ended and the member left.
	s.Leave(roomID, c.ID)
	closeClient()
	waitFor(t, 10*time.Second, "the sessions to close", func() bool { return s.Stats().Peers == 0 })
	stableGoroutines()
	after := liveHeap()
	t.Logf("after leave: live heap %d KB (start %d KB)", after>>10, start>>10)
	if rest := int64(after) - int64(start); rest > 2<<20 {
		t.Errorf("live heap %d KB above where it started after the member left, want at most 2048 KB", rest>>10)
	}
}
