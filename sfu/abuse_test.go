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

	"sotto/internal/procstat"
	"sotto/internal/testutil"
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

// rssKB is the process's resident memory (Linux; 0 elsewhere), for the log.
func rssKB() int {
	kb, _ := procstat.RSSKB(0)
	return int(kb)
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
	testutil.LeakCheck(t)
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
	before, rss0 := liveHeap(), rssKB()

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
	testutil.WaitFor(t, 20*time.Second, "the server to digest the spray", func() bool {
		if n := logs.n.Load(); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 500*time.Millisecond
	})
	during := liveHeap()
	rssGrowth := rssKB() - rss0
	peers := s.Stats().Peers
	growth := int64(during) - int64(before)
	t.Logf("sprayed %d SSRCs in %v; server logged %d lines; live heap %d -> %d KB (%+d KB, %.0f B/SSRC); RSS %d -> %d KB; open sessions %d",
		spray, sendTime.Round(time.Millisecond), logs.n.Load(), before>>10, during>>10, growth>>10, float64(growth)/spray, rss0, rssKB(), peers)

	// The client keeps a little SRTP state per SSRC it sent (~200 B); the
	// server, before the bound, several KB. 4 MB is far from either.
	if growth > 4<<20 {
		t.Errorf("live heap grew by %d KB during the spray of %d SSRCs, want at most 4096 KB", growth>>10, spray)
	}
	// RSS as the issue measured it. It counts the test's own client too, and
	// under -race the detector's shadow memory: before the bound 10,000 SSRCs
	// took it up by about 40 MB (about 200 MB with -race), after it by 1.4
	// (10-12 MB with -race).
	if rssGrowth > 32<<10 {
		t.Errorf("RSS grew by %d KB during the spray of %d SSRCs, want at most 32768 KB", rssGrowth, spray)
	}
	if peers != 0 {
		t.Errorf("%d media sessions still open after %d unknown SSRCs, want the sprayer's ended", peers, spray)
	}

	// And what the session held is gone once it ended and the member left.
	s.Leave(roomID, c.ID)
	closeClient()
	testutil.WaitFor(t, 10*time.Second, "the sessions to close", func() bool { return s.Stats().Peers == 0 })
	testutil.StableGoroutines()
	after := liveHeap()
	t.Logf("after leave: live heap %d KB (start %d KB), RSS %d KB", after>>10, start>>10, rssKB())
	if rest := int64(after) - int64(start); rest > 2<<20 {
		t.Errorf("live heap %d KB above where it started after the member left, want at most 2048 KB", rest>>10)
	}
}

// A floor holder sends far faster than any Opus encoder: 3,000 packets/s for
// 1.5 s. Before the cap every packet went to every listener; now listeners
// get at most forwardRate a second plus one burst. A talker at Opus's 50
// packets/s, with a second's backlog arriving at once, loses nothing.
func TestSenderRateCap(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{11, 11}
	flood := join(t, s, api, roomID, Talk, 'F')
	normal := join(t, s, api, roomID, Talk, 'N')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 2)
	everyone := append([]*sfutest.Client{flood, normal}, listeners...)
	from := func(c *sfutest.Client, tag byte, first uint32) int {
		n := 0
		for _, p := range c.Received() {
			if p.Tag == tag && p.N >= first {
				n++
			}
		}
		return n
	}

	s.SetFloor(roomID, flood.ID)
	warm := uint32(1 << 20)
	testutil.WaitFor(t, 10*time.Second, "the listeners to hear the holder", func() bool {
		_ = flood.Send(warm)
		warm++
		time.Sleep(20 * time.Millisecond)
		return from(listeners[0], 'F', 0) > 0 && from(listeners[1], 'F', 0) > 0
	})
	time.Sleep(time.Second) // whatever the warm-up took from the bucket is back

	const rate, spell = 3000, 1500 * time.Millisecond
	sent := 0
	began := time.Now()
	for tick := began; time.Since(began) < spell; {
		for range rate / 100 {
			_ = flood.Send(uint32(sent))
			sent++
		}
		tick = tick.Add(10 * time.Millisecond)
		time.Sleep(time.Until(tick))
	}
	elapsed := time.Since(began)
	settle(t, everyone, 200*time.Millisecond, 5*time.Second)
	// What the cap lets through in that time, and in one second more: the
	// server may take in the last packets later than they were sent.
	// (The numbers are forwardBurst and forwardRate, spelled out so that the
	// test also builds, and fails, without the cap.)
	const burst, perSecond = 100, 120
	allowed := int(burst + perSecond*(elapsed+time.Second).Seconds())
	for i, l := range listeners {
		got := from(l, 'F', 0) - from(l, 'F', 1<<20) // the flood, without the warm-up
		t.Logf("holder sent %d packets in %v (%.0f/s); listener %d got %d (cap allows %d)",
			sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds(), i, got, allowed)
		if got > allowed {
			t.Errorf("listener %d got %d of the holder's %d packets in %v, want at most %d", i, got, sent, elapsed.Round(time.Millisecond), allowed)
		}
		if want := int(0.5 * perSecond * elapsed.Seconds()); got < want {
			t.Errorf("listener %d got %d of the holder's packets, want at least %d: the cap is not a block", i, got, want)
		}
	}

	// A normal talker: 50 packets/s, then a second's worth at once (its
	// network held them back), then 50/s again. Nothing is dropped.
	s.SetFloor(roomID, normal.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := uint32(0)
	n += uint32(normal.Talk(ctx, n, 50, 20*time.Millisecond))
	for range 50 {
		_ = normal.Send(n)
		n++
	}
	n += uint32(normal.Talk(ctx, n, 50, 20*time.Millisecond))
	testutil.WaitFor(t, 5*time.Second, "the normal talker's packets", func() bool {
		return from(listeners[0], 'N', 0) >= int(n) && from(listeners[1], 'N', 0) >= int(n)
	})
	for i, l := range listeners {
		if got := from(l, 'N', 0); got != int(n) {
			t.Errorf("listener %d got %d of the normal talker's %d packets", i, got, n)
		}
	}
}
