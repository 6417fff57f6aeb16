package e2etest

// Full-stack media tests: the real server (server.Run) in this process, real
// clients (sotto/client: gorilla WebSocket + pion PeerConnection + e2ee) over
// loopback. Everything a browser's voice goes through is on the path:
// signaling, hellos sealed under the signal key, SDP and trickled ICE, the
// SFU's floor enforcement and header rewriting, SFrame encryption end to end.
//
// Waiting is always for a condition with a deadline; a fixed sleep is never
// an assertion.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
)

func listenOnly(c *client.Config) { c.Listen = true }

// knowEachOther waits until every client holds the sender key every other
// client sends under now, and none is about to switch to a new one (the
// rotations that the joins started are done), so that each can decrypt
// each. A joiner gets only keys made after its hello (docs/keys.md), so
// "holds some key of b" is not enough.
func knowEachOther(t *testing.T, cs ...*client.Client) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "every current sender key", func() bool {
		for _, b := range cs {
			if b.Rotating() {
				return false
			}
		}
		for _, a := range cs {
			for _, b := range cs {
				if a != b && !a.CanDecrypt(b.KID()) {
					return false
				}
			}
		}
		return true
	})
}

func request(t *testing.T, c *client.Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.RequestFloor(ctx)
}

func release(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ReleaseFloor(ctx); err != nil {
		t.Fatal(err)
	}
}

// takeFloor takes the floor; the client then sends 50 frames/s.
func takeFloor(t *testing.T, c *client.Client) {
	t.Helper()
	if err := request(t, c); err != nil {
		t.Fatalf("floor request: %v", err)
	}
}

// heard waits until every listener has decrypted frame n (or a later one)
// of talker.
func heard(t *testing.T, talker *client.Client, n uint32, listeners ...*client.Client) {
	t.Helper()
	for i, l := range listeners {
		testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("listener %d to hear frame %d", i, n), func() bool {
			s := l.From(talker.SID())
			return s.Decrypted > 0 && s.Last >= n
		})
	}
}

// turn is a run of consecutive packets from one sender (its sid, whatever
// the epoch of its key), as a listener got it.
type turn = testutil.Turn[client.Packet, uint32]

// turns splits what a listener got by sender.
func turns(pkts []client.Packet) []turn {
	return testutil.Turns(pkts, func(p client.Packet) uint32 { return p.SID })
}

// checkTurn verifies one sender's run: every frame decrypted and bit-exact,
// and the RTP header in step with its counter.
func checkTurn(tr turn) error {
	return testutil.CheckRunOf(tr.Pkts, func(p client.Packet) (testutil.RTPFrame, error) {
		if p.Err != "" || !p.Intact {
			return testutil.RTPFrame{}, fmt.Errorf("frame %d: err %q intact %v", p.N, p.Err, p.Intact)
		}
		return rtpFrame(p), nil
	})
}

// rtpFrame is what the shared continuity checks read of a packet.
func rtpFrame(p client.Packet) testutil.RTPFrame {
	return testutil.RTPFrame{N: p.N, Seq: p.Seq, TS: p.TS, SSRC: p.SSRC, Marker: p.Marker, At: p.At}
}

// TestMediaOneTalkerTwentyListeners: every listener decrypts at least 99%
// of the talker's frames, in order, bit for bit, through the real server.
func TestMediaOneTalkerTwentyListeners(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	talker := srv.member(t, secret, "talker")
	listeners := srv.members(t, secret, "listener", 20)
	knowEachOther(t, append(listeners, talker)...)
	if got := srv.gauge(t, "sotto_members"); got != "21" {
		t.Fatalf("sotto_members %s, want 21", got)
	}

	// Frames 0..frames-1 are all sent while the talker holds the floor
	// (it starts sending on floor_granted).
	const frames = 200 // 4 s at 50 frames/s
	takeFloor(t, talker)
	testutil.WaitFor(t, 20*time.Second, "the talker to send", func() bool { return talker.Sent() >= frames })
	heard(t, talker, frames-1, listeners...)
	release(t, talker)

	var worst float64 = 100
	for i, l := range listeners {
		var got []client.Packet
		for _, p := range l.Packets() {
			if p.SID != talker.SID() {
				t.Fatalf("listener %d got a packet from KID %x", i, p.KID)
			}
			if p.Err == "" && p.N < frames {
				got = append(got, p)
			}
		}
		pct := 100 * float64(len(got)) / frames
		worst = min(worst, pct)
		if pct < 99 {
			t.Errorf("listener %d decrypted %d of %d frames (%.1f%%), want at least 99%%", i, len(got), frames, pct)
		}
		if err := checkTurn(turn{From: talker.SID(), Pkts: got}); err != nil {
			t.Errorf("listener %d: %v", i, err)
		}
		if st := l.Stats(); st.Failed != 0 || st.OutOfOrder != 0 || st.Corrupt != 0 {
			t.Errorf("listener %d: %+v", i, st)
		}
	}
	if st := talker.Stats(); st.Packets != 0 {
		t.Errorf("the talker got %d packets back", st.Packets)
	}
	t.Logf("20 listeners: worst delivery %.1f%% of %d frames, all in order and bit-exact", worst, frames)
}

// TestMediaFloorBusyAndHandover: B presses while A talks and sends all the
// time; nothing of B reaches anyone until it holds the floor. Then the floor
// passes from A to B mid-stream, and every listener sees one continuous RTP
// stream across the change.
func TestMediaFloorBusyAndHandover(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	// One listener also records the floor events it is told about.
	var evMu sync.Mutex
	var floorEvents []string
	watcher := srv.member(t, secret, "watcher", func(c *client.Config) {
		c.OnEvent = func(e client.Event) {
			if strings.HasPrefix(e.Type, "floor_") {
				evMu.Lock()
				floorEvents = append(floorEvents, e.Type+" "+e.Member)
				evMu.Unlock()
			}
		}
	})
	a := srv.member(t, secret, "A")
	b := srv.member(t, secret, "B")
	listeners := append(srv.members(t, secret, "listener", 2), watcher)
	everyone := append([]*client.Client{a, b}, listeners...)
	knowEachOther(t, everyone...)

	takeFloor(t, a)
	heard(t, a, 25, append(listeners, b)...)
	for _, c := range everyone {
		if h := c.FloorHolder(); h != a.Self() {
			t.Fatalf("floor holder %q, want A %q", h, a.Self())
		}
	}
	if err := request(t, b); !errors.Is(err, client.ErrFloorBusy) {
		t.Fatalf("B's floor request while A talks: %v, want floor_busy", err)
	}
	b.ForceSend(true) // the whole time, from here on
	testutil.WaitFor(t, 10*time.Second, "B to send 50 frames", func() bool { return b.Sent() >= 50 })
	// Every frame A sends from now on was sent after B's first 50; once the
	// listeners have them, any of B's that got through would be there too.
	mark := uint32(a.Sent())
	heard(t, a, mark, append(listeners, b)...)
	for i, l := range append([]*client.Client{a}, listeners...) {
		if s := l.From(b.SID()); s.Packets != 0 {
			t.Fatalf("member %d received %d of B's packets (%d decrypted) while A held the floor", i, s.Packets, s.Decrypted)
		}
	}
	busySent := b.Sent()

	// The handover, mid-stream: A releases, B (still sending) takes it.
	release(t, a)
	takeFloor(t, b)
	heard(t, b, uint32(b.Sent())+25, append(listeners, a)...)
	b.ForceSend(false)
	release(t, b)

	const tolerance = 60 * time.Millisecond
	for i, l := range listeners {
		ts := turns(l.Packets())
		if len(ts) != 2 || ts[0].From != a.SID() || ts[1].From != b.SID() {
			var kids []string
			for _, tr := range ts {
				kids = append(kids, e2ee.FormatSID(tr.From))
			}
			t.Fatalf("listener %d heard turns %v, want A (%s) then B (%s)", i, kids, e2ee.FormatSID(a.SID()), e2ee.FormatSID(b.SID()))
		}
		for _, tr := range ts {
			if err := checkTurn(tr); err != nil {
				t.Errorf("listener %d: %v", i, err)
			}
		}
		last, first := ts[0].Pkts[len(ts[0].Pkts)-1], ts[1].Pkts[0]
		step, err := testutil.CheckHandover(rtpFrame(last), rtpFrame(first), tolerance)
		if err != nil {
			t.Errorf("listener %d, handover: %v", i, err)
		}
		t.Logf("listener %d: A %d frames then B %d frames (B's first heard: #%d of %d sent while busy), seq %d→%d, timestamp step %v",
			i, len(ts[0].Pkts), len(ts[1].Pkts), first.N, busySent, last.Seq, first.Seq, step)
	}
	for _, c := range []*client.Client{a, b} {
		if s := c.From(c.SID()); s.Packets != 0 {
			t.Errorf("a talker heard itself")
		}
	}
	want := []string{"floor_granted " + a.Self(), "floor_released " + a.Self(), "floor_granted " + b.Self(), "floor_released " + b.Self()}
	testutil.WaitFor(t, 5*time.Second, "the floor events", func() bool {
		evMu.Lock()
		defer evMu.Unlock()
		return len(floorEvents) >= len(want)
	})
	evMu.Lock()
	if strings.Join(floorEvents, ", ") != strings.Join(want, ", ") {
		t.Errorf("floor events %q, want %q", floorEvents, want)
	}
	evMu.Unlock()
	if a.From(b.SID()).Decrypted == 0 {
		t.Error("A did not hear B after the handover")
	}
}

// TestMediaListenOnly: a listen-only member is refused the floor, and what
// it sends anyway reaches nobody, while it hears the talker.
func TestMediaListenOnly(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	a := srv.member(t, secret, "A")
	lo := srv.member(t, secret, "listen-only", listenOnly)
	listeners := srv.members(t, secret, "listener", 2)
	everyone := append([]*client.Client{a, lo}, listeners...)
	knowEachOther(t, everyone...)

	if err := request(t, lo); !errors.Is(err, client.ErrListenOnly) {
		t.Fatalf("listen-only floor request: %v, want listen_only", err)
	}
	lo.ForceSend(true)
	testutil.WaitFor(t, 10*time.Second, "the listen-only member to send 50 frames", func() bool { return lo.Sent() >= 50 })
	// Positive control on the same paths: a talker's frames, sent after.
	takeFloor(t, a)
	heard(t, a, 25, append(listeners, lo)...)
	release(t, a)
	lo.ForceSend(false)
	for i, c := range append([]*client.Client{a}, listeners...) {
		if s := c.From(lo.SID()); s.Packets != 0 {
			t.Errorf("member %d received %d packets from the listen-only member", i, s.Packets)
		}
	}
	t.Logf("listen-only member sent %d frames; 0 arrived anywhere; it heard %d of A's", lo.Sent(), lo.From(a.SID()).Decrypted)
}

// TestMediaJoinWhileTalking: a member joining while someone talks hears
// (decrypts) them within 1 s of its media connecting.
func TestMediaJoinWhileTalking(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	a := srv.member(t, secret, "A")
	srv.member(t, secret, "x")
	takeFloor(t, a)

	var lat, total []time.Duration
	for i := range 5 {
		start := time.Now()
		l := srv.member(t, secret, fmt.Sprintf("joiner%d", i))
		testutil.WaitFor(t, 5*time.Second, "the joiner to hear the talker", func() bool { return l.From(a.SID()).Decrypted > 0 })
		d := l.From(a.SID()).FirstAt.Sub(l.ConnectedAt())
		lat, total = append(lat, d), append(total, l.From(a.SID()).FirstAt.Sub(start))
		if d > time.Second {
			t.Errorf("joiner %d heard the talker %v after its media connected, want within 1 s", i, d)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("connected→first decrypted frame: %v (sorted); dial→first frame: %v", lat, total)
}

// TestMediaJoinLeaveCycles: 100 members join (with media), hear the talker
// and leave; nothing of them stays behind, in the server or the clients.
func TestMediaJoinLeaveCycles(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	a := srv.member(t, secret, "A")
	takeFloor(t, a)

	cycle := func() error {
		c, err := srv.connect(secret, "cycler", func(c *client.Config) { c.Record = false })
		if err != nil {
			return err
		}
		defer c.Close()
		// Its floor track carries the talker's packets: the whole media
		// path, both ways of signaling, was set up.
		if !testutil.Eventually(10*time.Second, func() bool { return c.Stats().Packets > 0 }) {
			return errors.New("a joiner got no packets")
		}
		return c.Close()
	}
	// One cycle first, so that whatever starts once per process exists
	// before the baseline.
	if err := cycle(); err != nil {
		t.Fatal(err)
	}
	baseline := testutil.StableGoroutines()
	start := time.Now()
	const cycles, parallel = 100, 4
	if err := testutil.InBatches(cycles, parallel, cycle); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if err := testutil.WaitGoroutines(baseline, 10*time.Second); err != nil {
		t.Fatalf("after %d join/leave cycles: %v", cycles, err)
	}
	testutil.WaitFor(t, 5*time.Second, "one member in one room, with one PeerConnection", func() bool {
		return srv.gauge(t, "sotto_members") == "1" && srv.gauge(t, "sotto_rooms") == "1" && srv.gauge(t, "sotto_media_peers") == "1"
	})
	a.Close()
	testutil.WaitFor(t, 5*time.Second, "no room and no PeerConnection", func() bool {
		return srv.gauge(t, "sotto_members") == "0" && srv.gauge(t, "sotto_rooms") == "0" &&
			srv.gauge(t, "sotto_media_peers") == "0" && srv.gauge(t, "sotto_media_rooms") == "0"
	})
	t.Logf("%d join/leave cycles (%d at a time) in %v; goroutines back to %d", cycles, parallel, took.Round(time.Millisecond), baseline)
}

// TestMediaWrongKeyHearsNothing: a member with the right room id and auth
// token but the wrong signal key (so the SFU forwards it every frame) can
// open no hello and no key blob (docs/keys.md): it holds no sender key, so
// every frame it gets is dropped as from an unknown KID, and nobody opens
// its hello, so nobody sends it a key nor decrypts its frames.
func TestMediaWrongKeyHearsNothing(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	keys, err := e2ee.DeriveRoomKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e2ee.DeriveRoomKeys(e2ee.NewSecret())
	keys.Signal, keys.Media = other.Signal, other.Media

	a := srv.member(t, secret, "A")
	good := srv.member(t, secret, "good")
	wrong := srv.member(t, nil, "wrong", func(c *client.Config) { c.Keys = keys })
	knowEachOther(t, a, good)

	takeFloor(t, a)
	heard(t, a, 50, good)
	testutil.WaitFor(t, 10*time.Second, "the wrong-key member to get 50 packets", func() bool { return wrong.Stats().Packets >= 50 })
	release(t, a)
	st := wrong.Stats()
	if st.Decrypted != 0 || st.UnknownKID != st.Packets {
		t.Errorf("wrong signal key: %+v, want every frame dropped as from an unknown KID", st)
	}

	takeFloor(t, wrong)
	for _, c := range []*client.Client{a, good} {
		testutil.WaitFor(t, 10*time.Second, "the wrong-key member's frames to arrive", func() bool { return c.From(wrong.SID()).Packets >= 25 })
	}
	release(t, wrong)
	for i, c := range []*client.Client{a, good} {
		if s := c.From(wrong.SID()); s.Decrypted != 0 || s.Failed != s.Packets {
			t.Errorf("member %d decrypted frames of the wrong-key member: %+v", i, s)
		}
	}
	t.Logf("wrong key: %d of %d frames from unknown KIDs (0 decrypted); the good listener decrypted %d",
		st.UnknownKID, st.Packets, good.From(a.SID()).Decrypted)
}

// TestMediaServerGoneWhileTalking: the server shuts down under a talking
// room; the clients see the connection close and Close still returns at
// once, leaving nothing running (checked when the test ends).
func TestMediaServerGoneWhileTalking(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	a := srv.member(t, secret, "A")
	l := srv.member(t, secret, "L")
	takeFloor(t, a)
	heard(t, a, 10, l)
	srv.stop()
	for _, c := range []*client.Client{a, l} {
		select {
		case <-c.Disconnected():
		case <-time.After(10 * time.Second):
			t.Fatal("a client did not notice the server going away")
		}
		start := time.Now()
		c.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Close took %v after the server went away", d)
		}
	}
}
