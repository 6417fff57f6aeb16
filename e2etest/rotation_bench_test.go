package e2etest

// What a key rotation costs (issue 18, BENCHMARKS.md "Key rotation"): Go
// clients (signaling only: a rotation is keys, not media) in a room of 5 or
// 50 on the real binary, behind the recording relay; one member leaves, and
// the benchmark measures the time until every remaining member holds every
// other remaining member's new epoch and has switched its own, and the
// WebSocket bytes both ways that it took (every message in the window: the
// leave, its member_left, the blobs batches up and their blobs down).
// Metrics: ms-key-p50 and ms-keys-held, the median and the last of the
// (member, other member) pairs to hold the other's new epoch;
// ms-all-switched, that or the last member's switch if later.
//
//	go test -run '^$' -bench BenchmarkKeyRotation -benchtime 5x ./e2etest/

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
)

// rotationRoom is a room of members on one server, each from its own
// loopback address (the server's blob budget is per address, as for members
// on different networks), and the times of their key events.
type rotationRoom struct {
	ws      string
	secret  []byte
	members []*client.Client
	nextIP  int

	mu       sync.Mutex
	switched map[uint64]time.Time // KID → when its member switched to it
	got      map[[2]uint64]time.Time
}

func (r *rotationRoom) join(tb testing.TB) {
	tb.Helper()
	r.nextIP++
	addr := netip.AddrFrom4([4]byte{127, 0, byte(1 + r.nextIP/250), byte(1 + r.nextIP%250)})
	var self *client.Client
	var selfMu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, client.Config{URL: r.ws, Secret: r.secret, Name: fmt.Sprint("m", r.nextIP), NoMedia: true, LocalAddr: addr,
		OnEvent: func(ev client.Event) {
			now := time.Now()
			selfMu.Lock()
			me := self
			selfMu.Unlock()
			r.mu.Lock()
			defer r.mu.Unlock()
			switch ev.Type {
			case "switch":
				r.switched[ev.KID] = now
			case "key":
				if me != nil {
					r.got[[2]uint64{uint64(me.SID()), ev.KID}] = now
				}
			}
		}})
	if err != nil {
		tb.Fatal(err)
	}
	selfMu.Lock()
	self = c
	selfMu.Unlock()
	tb.Cleanup(func() { c.Close() })
	r.members = append(r.members, c)
}

// settled reports whether every member holds every other's current epoch
// and none is rotating.
func (r *rotationRoom) settled() bool {
	for _, a := range r.members {
		if a.Rotating() {
			return false
		}
	}
	for _, a := range r.members {
		for _, b := range r.members {
			if a != b && !a.CanDecrypt(b.KID()) {
				return false
			}
		}
	}
	return true
}

func (r *rotationRoom) settle(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !r.settled() {
		if time.Now().After(deadline) {
			tb.Fatal("the room never settled on its keys")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkKeyRotation(b *testing.B) {
	for _, n := range []int{5, 50} {
		b.Run(fmt.Sprintf("room=%d", n), func(b *testing.B) {
			srv := startBinary(b, "--max-conns-per-ip", "1000", "--log-level", "warn")
			rec := newWSRecorder(b, "ws://"+srv.appAddr+"/ws")
			r := &rotationRoom{ws: rec.ws, secret: e2ee.NewSecret(),
				switched: map[uint64]time.Time{}, got: map[[2]uint64]time.Time{}}
			for range n {
				r.join(b)
			}
			r.settle(b)
			var keysMS, medianMS, doneMS, bytesTotal, msgsTotal float64
			b.ResetTimer()
			for range b.N {
				leaver := r.members[len(r.members)-1]
				r.members = r.members[:len(r.members)-1]
				old := map[*client.Client]uint64{}
				for _, m := range r.members {
					old[m] = m.KID()
				}
				time.Sleep(200 * time.Millisecond) // nothing else in flight
				t0 := time.Now()
				leaver.Close()
				for {
					moved := true
					for _, m := range r.members {
						if m.KID() == old[m] {
							moved = false
						}
					}
					if moved && r.settled() {
						break
					}
					if time.Since(t0) > 60*time.Second {
						b.Fatal("the remaining members never all moved to new keys")
					}
					time.Sleep(time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond) // stragglers: a folded rotation would show
				var lastKey, lastSwitch time.Time
				var pairs []time.Duration
				r.mu.Lock()
				for _, a := range r.members {
					if at := r.switched[a.KID()]; at.After(lastSwitch) {
						lastSwitch = at
					}
					for _, o := range r.members {
						if a == o {
							continue
						}
						at := r.got[[2]uint64{uint64(a.SID()), o.KID()}]
						if at.After(lastKey) {
							lastKey = at
						}
						pairs = append(pairs, at.Sub(t0))
					}
				}
				r.mu.Unlock()
				bytes, msgs := rec.bytesSince(t0)
				keysMS += float64(lastKey.Sub(t0)) / float64(time.Millisecond)
				slices.Sort(pairs)
				medianMS += float64(pairs[len(pairs)/2]) / float64(time.Millisecond)
				doneMS += float64(latest(lastKey, lastSwitch, t0).Sub(t0)) / float64(time.Millisecond)
				bytesTotal += float64(bytes)
				msgsTotal += float64(msgs)
				b.StopTimer()
				r.join(b) // back to n members, for the next leave
				r.settle(b)
				b.StartTimer()
			}
			b.ReportMetric(medianMS/float64(b.N), "ms-key-p50")
			b.ReportMetric(keysMS/float64(b.N), "ms-keys-held")
			b.ReportMetric(doneMS/float64(b.N), "ms-all-switched")
			b.ReportMetric(bytesTotal/float64(b.N), "ws-bytes/leave")
			b.ReportMetric(msgsTotal/float64(b.N), "ws-msgs/leave")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}
