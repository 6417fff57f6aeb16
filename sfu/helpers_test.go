package sfu

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

func newSFU(t testing.TB, cfg Config) *SFU {
	t.Helper()
	if cfg.UDPAddr == "" {
		cfg.UDPAddr = "127.0.0.1:0"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func clientAPI(t testing.TB, tcp bool) *webrtc.API {
	t.Helper()
	api, err := sfutest.NewAPI(tcp)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// seeingResendsAPI is clientAPI for a client that must see the SFU resend
// a packet it already had (sfutest.NewAPISeeingResends).
func seeingResendsAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := sfutest.NewAPISeeingResends(false)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// withAndWithoutRepair runs f in parallel subtests, with loss repair
// (repair true) and without (Config.NoLossRepair): the feature and its
// control, from one body.
func withAndWithoutRepair(t *testing.T, f func(t *testing.T, name string, repair bool)) {
	for _, repair := range []bool{true, false} {
		name := map[bool]string{true: "repair", false: "no repair"}[repair]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, name, repair)
		})
	}
}

// join connects one client and waits until its media is up.
func join(t testing.TB, s *SFU, api *webrtc.API, roomID [16]byte, role Role, tag byte) *sfutest.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sfutest.Join(ctx, api, s, roomID, sfutest.Options{Role: role, Tag: tag, Record: true})
	if err != nil {
		t.Fatalf("join %c: %v", tag, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("join %c: %v", tag, err)
	}
	return c
}

// joinN connects n clients concurrently.
func joinN(t testing.TB, s *SFU, api *webrtc.API, roomID [16]byte, role Role, firstTag byte, n int) []*sfutest.Client {
	t.Helper()
	out := make([]*sfutest.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := sfutest.Join(ctx, api, s, roomID, sfutest.Options{Role: role, Tag: firstTag + byte(i), Record: true})
			if err == nil {
				err = c.WaitConnected(ctx)
			}
			out[i], errs[i] = c, err
		}()
	}
	wg.Wait()
	for i, c := range out {
		if c != nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("join %d: %v", i, errs[i])
		}
	}
	return out
}

// talker sends frames every 20 ms in the background until stopped.
type talker struct {
	c      *sfutest.Client
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	sentAt []time.Time // sentAt[n] = when frame n was sent
}

func startTalking(t testing.TB, c *sfutest.Client) *talker {
	tk := &talker{c: c, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tk.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := uint32(0); ; n++ {
			tk.mu.Lock()
			tk.sentAt = append(tk.sentAt, time.Now())
			tk.mu.Unlock()
			if err := c.Send(n); err != nil {
				return
			}
			select {
			case <-tk.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(tk.halt)
	return tk
}

func (tk *talker) halt() {
	select {
	case <-tk.stop:
	default:
		close(tk.stop)
	}
	<-tk.done
}

func (tk *talker) sent() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return len(tk.sentAt)
}

// settle waits until no client's count changes for quiet, so that
// everything in flight has arrived before the test reads what came.
func settle(t testing.TB, clients []*sfutest.Client, quiet, timeout time.Duration) {
	t.Helper()
	counts := func() []uint64 {
		out := make([]uint64, len(clients))
		for i, c := range clients {
			out[i], _ = c.Count()
		}
		return out
	}
	last, since := counts(), time.Now()
	testutil.WaitFor(t, timeout, "traffic to settle", func() bool {
		now := counts()
		for i := range now {
			if now[i] != last[i] {
				last, since = now, time.Now()
				return false
			}
		}
		return time.Since(since) >= quiet
	})
}

// heardRoom is a room on a new SFU whose talker ('A') holds the floor and
// talks, and a listen-only member tagged listenerTag that already hears it.
func heardRoom(t *testing.T, roomID [16]byte, listenerTag byte) (*SFU, *sfutest.Client) {
	t.Helper()
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	a := join(t, s, api, roomID, Talk, 'A')
	l := join(t, s, api, roomID, Listen, listenerTag)
	s.SetFloor(roomID, a.ID)
	startTalking(t, a)
	testutil.WaitFor(t, 5*time.Second, "the listener to hear the talker", func() bool { n, _ := l.Count(); return n > 10 })
	return s, l
}

// warmUp sends packets from talker (sequence numbers from 1<<20, apart from
// any a test counts) until every listener has heard one, so that what
// follows starts with every media path, both DTLS ends, up.
func warmUp(t testing.TB, talker *sfutest.Client, listeners []*sfutest.Client) {
	t.Helper()
	warm := uint32(1 << 20)
	testutil.WaitFor(t, 10*time.Second, "every listener to hear the talker", func() bool {
		_ = talker.Send(warm)
		warm++
		time.Sleep(20 * time.Millisecond)
		for _, l := range listeners {
			if n, _ := l.Count(); n == 0 {
				return false
			}
		}
		return true
	})
}
