package signal

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"sotto/room"
)

// One address failing joins as fast as its connections may (issue 12 #3:
// joins to random room ids, or in operator mode resumes, which need no
// operator token) must not spend the failed-join budget of everyone else:
// other addresses' creates, joins and resumes keep succeeding.
func TestOneAddressCannotSpendOthersJoins(t *testing.T) {
	for _, operator := range []bool{false, true} {
		t.Run(fmt.Sprintf("operator=%v", operator), func(t *testing.T) {
			cfg := Config{ClientIP: testClientIP}
			fa := &fakeAdmit{}
			if operator {
				cfg.Admit = fa.admit
			}
			ts := startServer(t, cfg, room.Config{ResumeGrace: 10 * time.Second})

			// The attacker: 16 connections from one address, each just
			// under the per-connection rate (20/s), 260 guesses a second.
			const attackConns, every = 16, 60 * time.Millisecond
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			answers := map[string]int{}
			for i := range attackConns {
				g := ts.dialAsOK(t, "203.0.113.7")
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(every)
					defer tick.Stop()
					for id := uint32(1); ; id++ {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						x := newSecrets()
						msg := map[string]any{"type": "join", "id": id, "room": x.room, "auth": x.auth}
						if operator { // no token needed
							msg = map[string]any{"type": "resume", "id": id, "room": x.room, "resume": x.auth}
						}
						if err := g.ws.WriteJSON(msg); err != nil {
							t.Errorf("attacker %d: %v", i, err)
							return
						}
						m, err := g.tryRead(5 * time.Second)
						if err != nil {
							t.Errorf("attacker %d: %v", i, err)
							return
						}
						mu.Lock()
						answers[m.Code]++
						mu.Unlock()
					}
				}()
			}
			defer func() {
				close(stop)
				wg.Wait()
				mu.Lock()
				t.Logf("the attacker's answers: %v", answers)
				mu.Unlock()
			}()
			// Long enough for it to have spent today's server-wide budget
			// (200 at 20/s) several times over.
			time.Sleep(1500 * time.Millisecond)

			// Everyone else, while it goes on: each round, a create, a join
			// and a resume, each from an address of its own.
			const rounds = 20
			ok, tries := 0, 0
			try := func(c *client, msg map[string]any) (srvMsg, bool) {
				tries++
				c.send(msg)
				m := c.read()
				if m.Type == typeJoined {
					ok++
					return m, true
				}
				if m.Type != typeError || m.Code != codeTryLater {
					t.Fatalf("got %+v", m)
				}
				return m, false
			}
			for r := range rounds {
				s := newSecrets()
				withToken := func(msg map[string]any, user string) map[string]any {
					if operator {
						msg["token"] = tok(user, "talk", s)
					}
					return msg
				}
				a := ts.dialAsOK(t, fmt.Sprintf("198.51.100.%d", r+1))
				if _, in := try(a, withToken(map[string]any{"type": "create", "id": 1, "room": s.room, "verifier": s.verifier}, "ann")); !in {
					tries += 2 // the join and the resume cannot happen: count them as failed
					continue
				}
				b := ts.dialAsOK(t, fmt.Sprintf("198.51.101.%d", r+1))
				j, in := try(b, withToken(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth}, "bob"))
				if !in {
					tries++
					continue
				}
				a.expect(typeMemberJoined)
				b.ws.NetConn().Close() // b's network blips
				b2 := ts.dialAsOK(t, fmt.Sprintf("198.51.102.%d", r+1))
				try(b2, map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": j.Resume})
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("others: %d of %d creates, joins and resumes succeeded", ok, tries)
			if ok*100 < tries*95 {
				t.Fatalf("others: only %d of %d creates, joins and resumes succeeded, want >= 95%%", ok, tries)
			}
		})
	}
}
