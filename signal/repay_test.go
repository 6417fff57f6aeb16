package signal

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

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

// TestNodeFailureStorm: a node of a 3-node cluster (a third of every
// guessing budget: server-wide burst 66 at 6.7/s) gets, all at once, 150
// members of 40 rooms it does not have, whose node died (issue 15), and 20
// members of rooms it has, reconnecting with them. Each does what the app
// does: resume with its dead token (no_such_room, or bad_resume once
// another member made the room again), join (no_such_room), create (or
// room_exists if another member was first, then join). A member that gets
// try_later gives its connection up and comes back on the app's schedule
// (static/js/reconnect.js, without the jitter): every member still out
// tries again in the same wave, the clock moved on by the wait, and
// nothing refills within a wave. Everyone is in within 5 s (the issue's
// p95) and none later than 10 s; a try_later only ever answers a
// connection's first request (nobody is stopped halfway, its misses lost);
// and at the end of every wave the server-wide budget is full again:
// entering repaid what rebuilding the rooms cost.
func TestNodeFailureStorm(t *testing.T) {
	const members, rooms, bystanders = 150, 40, 20
	clk := newFakeClock()
	ts := startServer(t, Config{ClusterSize: 3, ClientIP: testClientIP, now: clk.Now}, room.Config{})

	type who struct {
		s      secrets
		addr   string
		resume string // its token from the dead node, until an answer makes the app drop it
	}
	var all []*who
	for i := range bystanders { // their rooms were made on this node by others
		s := newSecrets()
		ts.dialAsOK(t, fmt.Sprintf("10.30.0.%d", i+1)).create(s, 1)
		all = append(all, &who{s: s, addr: fmt.Sprintf("10.31.0.%d", i+1), resume: staleResume()})
	}
	lost := make([]secrets, rooms)
	for i := range lost {
		lost[i] = newSecrets()
	}
	for i := range members {
		all = append(all, &who{s: lost[i%rooms], addr: fmt.Sprintf("10.20.%d.%d", i/200, i%200+1), resume: staleResume()})
	}

	g := ts.sig.guesses
	burst := float64(g.global.burst)
	budget := func() float64 {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.global.avail(clk.Now())
	}
	var (
		pending  = all
		elapsed  time.Duration
		entered  []time.Duration // when each member got in, on the fake clock
		tryLater int
		halfway  int // try_later after a first answer
		lowest   = burst
		answers  = map[string]int{}
	)
	for wave := 0; len(pending) > 0 && elapsed <= 30*time.Second; wave++ {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var next []*who
		start := make(chan struct{}) // everyone connects first, then all ask at once
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
					answers[a]++
				}
				if in {
					entered = append(entered, elapsed)
					return
				}
				if got[len(got)-1] != codeTryLater {
					t.Errorf("a member got %v", got)
				}
				tryLater++
				if len(got) > 1 {
					halfway++
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
		lowest = min(lowest, budget())
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
			entered = append(entered, elapsed+time.Second) // later than any wave: counts as over
		}
	}
	slices.Sort(entered)
	p95, last := entered[len(entered)*95/100], entered[len(entered)-1]
	t.Logf("%d members: p95 in after %v, last after %v; %d try_later, %d of them halfway; answers %v; "+
		"server-wide budget at the end of a wave: at least %.1f of %.0f",
		len(all), p95, last, tryLater, halfway, answers, lowest, burst)
	if p95 > 5*time.Second || last > 10*time.Second {
		t.Errorf("in after p95 %v, last %v: want at most 5 s and 10 s", p95, last)
	}
	if halfway > 0 {
		t.Errorf("%d try_later came after a connection's first answer: its misses were lost", halfway)
	}
	if lowest < burst {
		t.Errorf("the server-wide budget was down to %.1f of %.0f at the end of a wave", lowest, burst)
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
