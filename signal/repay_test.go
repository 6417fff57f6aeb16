package signal

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"sotto/internal/testutil"
	"sotto/room"
)

// staleResume is a resume token no member holds: what an app has left
// after the node that held its room died.
func staleResume() string {
	var b [room.ResumeTokenSize]byte
	rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

// appEnter runs what the app does on a new connection (static/js/session.js
// #enter, client/room.go Join): resume if it holds a token, else join,
// create on no_such_room, join again on room_exists. It returns whether the
// member entered, whether it still holds its resume token (a try_later on
// the resume keeps it, as the app does), and the answers it got.
func appEnter(c *client, s secrets, resume string) (in bool, keepResume bool, answers []string) {
	c.t.Helper()
	ask := func(msg map[string]any) string {
		c.t.Helper()
		c.send(msg)
		m := c.read()
		if m.Type == typeJoined {
			answers = append(answers, "joined")
			return "joined"
		}
		if m.Type != typeError {
			c.t.Fatalf("got %+v, want joined or an error", m)
		}
		answers = append(answers, m.Code)
		return m.Code
	}
	if resume != "" {
		switch a := ask(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": resume}); a {
		case "joined":
			return true, false, answers
		case codeNoSuchRoom, codeBadResume:
		default:
			return false, true, answers // the app keeps its token and reconnects
		}
	}
	join := map[string]any{"type": "join", "id": 2, "room": s.room, "auth": s.auth}
	switch ask(join) {
	case "joined":
		return true, false, answers
	case codeNoSuchRoom:
	default:
		return false, false, answers
	}
	switch ask(map[string]any{"type": "create", "id": 3, "room": s.room, "verifier": s.verifier}) {
	case "joined":
		return true, false, answers
	case codeRoomExists:
	default:
		return false, false, answers
	}
	join["id"] = 4
	return ask(join) == "joined", false, answers
}

// appRetryMS is static/js/reconnect.js RETRY_MS: the app's waits before
// its 1st, 2nd and later retries (without the jitter).
var appRetryMS = []time.Duration{300 * time.Millisecond, time.Second, 2 * time.Second}

// returning is a member coming back to a node: its room, its client
// address, and its resume token from the node that died, until an answer
// makes the app drop it.
type returning struct {
	s      secrets
	addr   string
	resume string
}

// storm is what comeBack saw.
type storm struct {
	p95, last time.Duration // when members got in, on the fake clock
	tryLater  int
	halfway   int     // try_later after a connection's first answer
	lowest    float64 // the server-wide budget at the end of a wave, at its lowest
	addrSpent float64 // the most an address had spent at the end of a wave
	suspects  int     // the most addresses suspect at the end of a wave
	answers   map[string]int
}

// comeBack has every member do what the app does, all at once (each
// connects, then all ask together). A member that gets try_later gives its
// connection up and comes back on the app's schedule (static/js/reconnect.js,
// without the jitter): every member still out tries again in the same wave,
// the clock moved on by the wait; nothing refills within a wave. It gives
// up after 30 s, counting those still out as later than that.
func comeBack(t *testing.T, ts *testServer, clk *testutil.Clock, all []*returning) storm {
	t.Helper()
	g := ts.sig.guesses
	budget := func() float64 {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.global.avail(clk.Now())
	}
	addrs := func() (spent float64, suspects int) {
		now := clk.Now()
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, a := range g.addrs {
			spent = max(spent, a.b.burst-a.b.avail(now))
			if a.suspect(now) {
				suspects++
			}
		}
		return spent, suspects
	}
	var (
		st      = storm{lowest: budget(), answers: map[string]int{}}
		pending = all
		elapsed time.Duration
		entered []time.Duration
	)
	for wave := 0; len(pending) > 0 && elapsed <= 30*time.Second; wave++ {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var next []*returning
		start := make(chan struct{})
		for _, w := range pending {
			c := ts.dialAsOK(t, w.addr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				in, keep, got := appEnter(c, w.s, w.resume)
				mu.Lock()
				defer mu.Unlock()
				for _, a := range got {
					st.answers[a]++
				}
				if in {
					entered = append(entered, elapsed)
					return
				}
				if got[len(got)-1] != codeTryLater {
					t.Errorf("a member got %v", got)
				}
				st.tryLater++
				if len(got) > 1 {
					st.halfway++
				}
				if !keep {
					w.resume = ""
				}
				c.ws.Close() // the app gives this connection up
				next = append(next, w)
			}()
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		st.lowest = min(st.lowest, budget())
		spent, suspects := addrs()
		st.addrSpent, st.suspects = max(st.addrSpent, spent), max(st.suspects, suspects)
		pending = next
		if len(pending) > 0 {
			d := appRetryMS[min(wave, len(appRetryMS)-1)]
			clk.Add(d)
			elapsed += d
		}
	}
	if len(pending) > 0 {
		t.Errorf("%d of %d members still out after %v", len(pending), len(all), elapsed)
		for range pending {
			entered = append(entered, elapsed+time.Second)
		}
	}
	slices.Sort(entered)
	st.p95, st.last = entered[len(entered)*95/100], entered[len(entered)-1]
	return st
}

// TestNodeFailureStorm: a node of a 3-node cluster (a third of every
// guessing budget: server-wide burst 66 at 6.7/s; per address 32) gets,
// all at once, the members of rooms it does not have, whose node died
// (issue 15), with members of rooms it has reconnecting too. Each does
// what the app does: resume with its dead token (no_such_room, or
// bad_resume once another member made the room again), join
// (no_such_room), create (or room_exists if another member was first, then
// join), and on try_later comes back on the app's schedule (comeBack).
// Everyone is in within 5 s (the p95), none later than 10 s; a
// try_later only ever answers a connection's first request (nobody is
// stopped halfway, its misses lost); and at the end of every wave the
// server-wide budget, and every address's, is full again, and no address
// is suspect: entering repaid what rebuilding the rooms cost.
func TestNodeFailureStorm(t *testing.T) {
	cases := []struct {
		name                       string
		members, rooms, bystanders int
		addr                       func(i int) string
	}{
		{name: "150 members of 40 rooms and 20 of the node's own", members: 150, rooms: 40, bystanders: 20,
			addr: func(i int) string { return fmt.Sprintf("10.20.%d.%d", i/200, i%200+1) }},
		{name: "32 members of 10 rooms behind one NAT", members: DefaultMaxConnsPerIP, rooms: 10,
			addr: func(int) string { return "10.20.0.1" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			ts := startServer(t, Config{ClusterSize: 3, ClientIP: testClientIP, now: clk.Now}, room.Config{})
			var all []*returning
			for i := range tc.bystanders { // their rooms were made on this node by others
				s := newSecrets()
				ts.dialAsOK(t, fmt.Sprintf("10.30.0.%d", i+1)).create(s, 1)
				all = append(all, &returning{s: s, addr: fmt.Sprintf("10.31.0.%d", i+1), resume: staleResume()})
			}
			lost := make([]secrets, tc.rooms)
			for i := range lost {
				lost[i] = newSecrets()
			}
			for i := range tc.members {
				all = append(all, &returning{s: lost[i%tc.rooms], addr: tc.addr(i), resume: staleResume()})
			}
			burst := float64(ts.sig.guesses.global.burst)
			st := comeBack(t, ts, clk, all)
			t.Logf("%d members: p95 in after %v, last after %v; %d try_later, %d of them halfway; answers %v; "+
				"at the end of a wave: server-wide budget at least %.1f of %.0f, an address's spent at most %.1f, %d addresses suspect",
				len(all), st.p95, st.last, st.tryLater, st.halfway, st.answers, st.lowest, burst, st.addrSpent, st.suspects)
			if st.p95 > 5*time.Second || st.last > 10*time.Second {
				t.Errorf("in after p95 %v, last %v: want at most 5 s and 10 s", st.p95, st.last)
			}
			if st.halfway > 0 {
				t.Errorf("%d try_later came after a connection's first answer: its misses were lost", st.halfway)
			}
			if st.lowest < burst || st.addrSpent > 0 || st.suspects > 0 {
				t.Errorf("at the end of a wave: the server-wide budget down to %.1f of %.0f, an address's spent %.1f, %d addresses suspect; want nothing kept",
					st.lowest, burst, st.addrSpent, st.suspects)
			}
		})
	}
}

// TestRepayOnlyEnteringTheMissedRoom: a connection gets back what it spent
// on room X (its no_such_room, room_exists and bad_resume answers for X,
// from its address's budget and the server's, and its address's failed
// mark) when it enters X, and only then: a guesser keeps paying. The clock
// stands still: nothing refills. In the rows with a drain step the
// server-wide budget is spent by then: a request for a room its connection
// holds a miss for goes ahead on that miss, and what it learns is paid for
// all the same.
func TestRepayOnlyEnteringTheMissedRoom(t *testing.T) {
	type step struct {
		conn int    // which of the guesser's connections
		op   string // resume (a made-up token), join, badjoin (a wrong auth), create, leave, knock (an unknown nameplate), drain
		room string // X or Y
		want string // joined, left or an error code
	}
	const burst = DefaultFailedJoinBurst
	cases := []struct {
		name string
		live bool // X was made before, by others
		do   []step
		// What stays spent once the guesser's connections are closed:
		// server-wide and address tokens, and whether the address is
		// suspect (failed within FailedJoinMemory).
		server, addr int
		suspect      bool
	}{
		{name: "the app rebuilds a lost room", do: []step{
			{op: "resume", room: "X", want: codeNoSuchRoom},
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "create", room: "X", want: "joined"},
		}},
		{name: "the app joins a room another member rebuilt", live: true, do: []step{
			{op: "resume", room: "X", want: codeBadResume},
			{op: "join", room: "X", want: "joined"},
		}},
		{name: "the app finds it created by another member first", live: true, do: []step{
			{op: "create", room: "X", want: codeRoomExists},
			{op: "join", room: "X", want: "joined"},
		}},
		{name: "a guesser that never enters", do: []step{
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "resume", room: "X", want: codeNoSuchRoom},
			{op: "join", room: "Y", want: codeNoSuchRoom},
		}, server: 3, addr: 3, suspect: true},
		{name: "a wrong resume token, never entering", live: true, do: []step{
			{op: "resume", room: "X", want: codeBadResume},
		}, server: 1},
		{name: "a wrong auth, then the right one", live: true, do: []step{
			{op: "badjoin", room: "X", want: codeBadAuth},
			{op: "join", room: "X", want: "joined"},
		}, server: 1, addr: 1, suspect: true},
		{name: "room_exists and a wrong auth, then the right one", live: true, do: []step{
			{op: "create", room: "X", want: codeRoomExists},
			{op: "badjoin", room: "X", want: codeBadAuth},
			{op: "join", room: "X", want: "joined"},
		}, server: 1, addr: 1, suspect: true},
		{name: "a miss for X, then entering Y", do: []step{
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "create", room: "Y", want: "joined"},
		}, server: 1, addr: 1, suspect: true},
		{name: "entering Y first makes the miss for X final", do: []step{
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "create", room: "Y", want: "joined"},
			{op: "leave", want: "left"},
			{op: "create", room: "X", want: "joined"},
		}, server: 1, addr: 1, suspect: true},
		{name: "a miss on another connection", do: []step{
			{conn: 0, op: "join", room: "X", want: codeNoSuchRoom},
			{conn: 1, op: "create", room: "X", want: "joined"},
		}, server: 1, addr: 1, suspect: true},
		{name: "more misses than a connection remembers", do: []step{
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "join", room: "X", want: codeNoSuchRoom}, // MaxHeldMisses+1: the first is final
			{op: "create", room: "X", want: "joined"},
		}, server: 1, addr: 1, suspect: true},
		{name: "a knock at an unknown nameplate", do: []step{
			{op: "knock", want: codeNoSuchRoom},
			{op: "create", room: "X", want: "joined"},
		}, server: 1, addr: 1, suspect: true},

		{name: "spent budget: the app goes on with the room it asked about", do: []step{
			{op: "resume", room: "X", want: codeNoSuchRoom},
			{op: "drain"},
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "create", room: "X", want: "joined"},
		}, server: burst - 1}, // the held miss came back
		{name: "spent budget: not with another room", do: []step{
			{op: "join", room: "X", want: codeNoSuchRoom},
			{op: "drain"},
			{op: "join", room: "Y", want: codeTryLater},
			{op: "create", room: "Y", want: codeTryLater},
		}, server: burst, addr: 1, suspect: true},
		{name: "spent budget: not on another connection", do: []step{
			{conn: 0, op: "join", room: "X", want: codeNoSuchRoom},
			{op: "drain"},
			{conn: 1, op: "create", room: "X", want: codeTryLater},
		}, server: burst, addr: 1, suspect: true},
		{name: "spent budget: a wrong auth pays with the held miss", live: true, do: []step{
			{op: "create", room: "X", want: codeRoomExists},
			{op: "drain"},
			{op: "badjoin", room: "X", want: codeBadAuth},
			{op: "badjoin", room: "X", want: codeTryLater}, // nothing held any more
			{op: "join", room: "X", want: codeTryLater},
		}, server: burst, addr: 1, suspect: true},
		{name: "spent budget: a wrong resume token pays with the held miss", live: true, do: []step{
			{op: "create", room: "X", want: codeRoomExists},
			{op: "drain"},
			{op: "resume", room: "X", want: codeBadResume},
			{op: "resume", room: "X", want: codeTryLater},
		}, server: burst}, // a bad_resume costs the server only
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			ts := startServer(t, Config{ClientIP: testClientIP, now: clk.Now}, room.Config{})
			rooms := map[string]secrets{"X": newSecrets(), "Y": newSecrets()}
			if tc.live {
				ts.dialAsOK(t, "198.51.100.1").create(rooms["X"], 1)
			}
			const addr = "192.0.2.7"
			var conns []*client
			for i, st := range tc.do {
				if st.op == "drain" {
					drainGuesses(ts.sig.guesses)
					continue
				}
				for len(conns) <= st.conn {
					conns = append(conns, ts.dialAsOK(t, addr))
				}
				c, s, id := conns[st.conn], rooms[st.room], uint32(i+1)
				switch st.op {
				case "resume":
					c.send(map[string]any{"type": "resume", "id": id, "room": s.room, "resume": staleResume()})
				case "join":
					c.send(map[string]any{"type": "join", "id": id, "room": s.room, "auth": s.auth})
				case "badjoin":
					c.send(map[string]any{"type": "join", "id": id, "room": s.room, "auth": newSecrets().auth})
				case "create":
					c.send(map[string]any{"type": "create", "id": id, "room": s.room, "verifier": s.verifier})
				case "leave":
					c.send(map[string]any{"type": "leave", "id": id})
				case "knock":
					c.send(map[string]any{"type": "knock", "id": id, "nameplate": "9999999", "data": "AQ"})
				}
				m := c.read()
				got := m.Type
				if m.Type == typeError {
					got = m.Code
				}
				if got != st.want || m.ID != id {
					t.Fatalf("step %d (%s %s): got %+v, want %s", i, st.op, st.room, m, st.want)
				}
			}
			for _, c := range conns {
				c.ws.Close()
			}
			key := AddrKey(netip.MustParseAddr(addr))
			waitConnsGone(t, ts.sig, key)

			g := ts.sig.guesses
			now := clk.Now()
			g.mu.Lock()
			server := g.global.burst - g.global.avail(now)
			var spent float64
			suspect := false
			if a := g.addrs[key]; a != nil {
				spent, suspect = a.b.burst-a.b.avail(now), a.suspect(now)
			}
			g.mu.Unlock()
			if server != float64(tc.server) || spent != float64(tc.addr) || suspect != tc.suspect {
				t.Errorf("spent: server %.0f, address %.0f, suspect %v; want %d, %d, %v",
					server, spent, suspect, tc.server, tc.addr, tc.suspect)
			}
		})
	}
}

// drainGuesses spends the server-wide failed-join budget.
func drainGuesses(g *guessBudget) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.global.take(g.now()) {
	}
}

// waitConnsGone waits, a bounded time, until the server has torn down
// every connection of key (closed by the client), what they remembered
// settled.
func waitConnsGone(t *testing.T, s *Server, key netip.Prefix) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := s.perIP[key]
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections of %v still open", n, key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
