package signal

import (
	"errors"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/testutil"
	"sotto/room"
)

// Bad messages get an error with a stable code, never an echo of what was
// sent, and the connection and the server carry on.
func TestBadMessages(t *testing.T) {
	ts := startServer(t, Config{MessageRate: 1000, MessageBurst: 1000}, room.Config{})
	c := ts.dial(t)
	s := newSecrets()
	const marker = "XyZZy" // client input that must never come back
	long := strings.Repeat("A", MaxBlobChars+1)
	for _, tc := range []struct {
		name, msg, code string
		id              uint32
	}{
		{"not JSON", `hello ` + marker, codeBadMessage, 0},
		{"array", `["ping"]`, codeBadMessage, 0},
		{"string", `"ping"`, codeBadMessage, 0},
		{"empty", ``, codeBadMessage, 0},
		{"truncated", `{"type":"ping"`, codeBadMessage, 0},
		{"trailing data", `{"type":"ping","id":1} {}`, codeBadMessage, 0},
		{"trailing garbage", `{"type":"ping","id":1}x`, codeBadMessage, 0},
		{"missing type", `{"id":2}`, codeBadMessage, 2},
		{"type not a string", `{"type":7,"id":3}`, codeBadMessage, 3},
		{"type null", `{"type":null,"id":4}`, codeBadMessage, 4},
		{"unknown type", `{"type":"` + marker + `","id":5}`, codeUnknownType, 5},
		{"unknown field", `{"type":"ping","id":6,"` + marker + `":1}`, codeBadMessage, 6},
		{"field of another type", `{"type":"ping","id":7,"room":"` + s.room + `"}`, codeBadMessage, 7},
		{"key in another case", `{"TYPE":"ping","id":8}`, codeBadMessage, 8},
		{"duplicate key", `{"type":"ping","type":"ping","id":9}`, codeBadMessage, 9},
		{"id negative", `{"type":"ping","id":-1}`, codeBadMessage, 0},
		{"id fraction", `{"type":"ping","id":1.5}`, codeBadMessage, 0},
		{"id too big", `{"type":"ping","id":4294967296}`, codeBadMessage, 0},
		{"id a string", `{"type":"ping","id":"10"}`, codeBadMessage, 0},
		{"missing room", `{"type":"create","id":11,"verifier":"` + s.verifier + `"}`, codeBadMessage, 11},
		{"room not base64url", `{"type":"create","id":12,"room":"` + marker + `!","verifier":"` + s.verifier + `"}`, codeBadMessage, 12},
		{"room padded", `{"type":"create","id":13,"room":"` + s.room + `==","verifier":"` + s.verifier + `"}`, codeBadMessage, 13},
		{"room standard base64", `{"type":"create","id":14,"room":"` + strings.Repeat("+", 22) + `","verifier":"` + s.verifier + `"}`, codeBadMessage, 14},
		{"room too short", `{"type":"create","id":15,"room":"AAAA","verifier":"` + s.verifier + `"}`, codeBadMessage, 15},
		{"room with newline", `{"type":"create","id":16,"room":"` + s.room[:10] + `\n` + s.room[10:] + `","verifier":"` + s.verifier + `"}`, codeBadMessage, 16},
		{"room a number", `{"type":"create","id":17,"room":5,"verifier":"` + s.verifier + `"}`, codeBadMessage, 17},
		{"verifier null", `{"type":"create","id":18,"room":"` + s.room + `","verifier":null}`, codeBadMessage, 18},
		{"auth too long", `{"type":"join","id":19,"room":"` + s.room + `","auth":"` + s.verifier + `AA"}`, codeBadMessage, 19},
		{"bad role", `{"type":"join","id":20,"room":"` + s.room + `","auth":"` + s.auth + `","role":"admin"}`, codeBadMessage, 20},
		{"blob too large", `{"type":"blob","id":21,"data":"` + long + `"}`, codeBlobTooLarge, 21},
		{"blob empty", `{"type":"blob","id":22,"data":""}`, codeBadMessage, 22},
		{"blob not base64url", `{"type":"blob","id":23,"data":"a b"}`, codeBadMessage, 23},
		{"blob to not an id", `{"type":"blob","id":24,"to":"` + marker + `","data":"AA"}`, codeBadMessage, 24},
		{"sdp too long", `{"type":"offer","id":25,"sdp":"` + strings.Repeat("v", MaxSDPBytes+1) + `"}`, codeBadMessage, 25},
		{"candidate not an object", `{"type":"ice","id":26,"candidate":"candidate:1"}`, codeBadMessage, 26},
		{"candidate too long", `{"type":"ice","id":27,"candidate":{"candidate":"` + strings.Repeat("c", MaxCandidateBytes) + `"}}`, codeBadMessage, 27},
		{"invalid UTF-8", "{\"type\":\"ping\",\"id\":28,\"x\":\"\xff\"}", codeBadMessage, 0},
	} {
		c.sendRaw(tc.msg)
		m := c.read()
		if m.Type != typeError || m.Code != tc.code || m.ID != tc.id {
			t.Errorf("%s: got %+v, want error %q with id %d", tc.name, m, tc.code, tc.id)
		}
		if strings.Contains(m.Message, marker) || m.Message == "" {
			t.Errorf("%s: message %q", tc.name, m.Message)
		}
	}
	c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`))
	c.expectError(codeBadMessage, 0)
	c.ping(99) // the connection is still fine
	ts.dial(t).ping(1)

	// Offer and ice without an SFU.
	c.create(s, 100)
	c.send(map[string]any{"type": "offer", "id": 101, "sdp": "v=0"})
	c.expectError(codeMediaUnavailable, 101)
	c.send(map[string]any{"type": "ice", "id": 102, "candidate": map[string]any{"candidate": ""}})
	c.expectError(codeMediaUnavailable, 102)

	if got := ts.metric(t, `sotto_rejections_total{reason="bad_message"}`); got == "0" {
		t.Error("bad messages not counted")
	}
	if got := ts.metric(t, `sotto_messages_total{type="invalid"}`); got == "0" {
		t.Error("invalid messages not counted")
	}
}

func TestTooBig(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	c := ts.dial(t)
	c.ping(1)
	big := `{"type":"blob","data":"` + strings.Repeat("A", DefaultReadLimit) + `"}`
	c.ws.WriteMessage(websocket.TextMessage, []byte(big))
	c.expectClose(websocket.CloseMessageTooBig)
	// The server is fine.
	ts.dial(t).ping(2)
	// gorilla sends the close frame before the server counts it.
	ts.waitMetric(t, `sotto_rejections_total{reason="too_big"}`, "1")
}

// A flooding client is throttled, then closed with 1008; meanwhile another
// client's round trips stay about what they were.
func TestFlood(t *testing.T) {
	// The strikes are raised so that the flood lasts long enough to measure
	// round trips during it, the burst so that the other client can ping
	// throughout; the flooder's queue must hold its rate_limited errors.
	const strikes = 30000
	ts := startServer(t, Config{MessageBurst: 100, RateStrikes: strikes, SendQueue: 2 * strikes}, room.Config{})
	b := ts.dial(t)

	rtt := func(n int, stop <-chan struct{}) []time.Duration {
		var d []time.Duration
		for i := range n {
			select {
			case <-stop:
				return d
			default:
			}
			start := time.Now()
			b.ping(uint32(i + 1))
			d = append(d, time.Since(start))
			time.Sleep(time.Millisecond)
		}
		return d
	}
	median := func(d []time.Duration) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	baseline := median(rtt(10, nil))

	f := ts.dial(t)
	var limited int
	var closeCode int
	closed := make(chan struct{})
	go func() { // the flooder's reader
		defer close(closed)
		for {
			_, msg, err := f.ws.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				closeCode = ce.Code
				return
			}
			if err != nil {
				return
			}
			if strings.Contains(string(msg), `"code":"rate_limited"`) {
				limited++
			}
			runtime.Gosched() // see the writer
		}
	}()
	floodStart := time.Now()
	go func() { // the flooder's writer
		msg := []byte(`{"type":"ping"}`)
		for {
			if f.ws.WriteMessage(websocket.TextMessage, msg) != nil {
				return
			}
			// A real flooder runs on its own machine: yielding keeps this
			// in-process one from taking the server's CPUs for 10 ms at a
			// time, which would measure Go's scheduler, not the server.
			runtime.Gosched()
		}
	}()
	during := rtt(80, closed)
	<-closed
	floodTime := time.Since(floodStart)

	if closeCode != websocket.ClosePolicyViolation {
		t.Fatalf("flooder closed with %d, want 1008", closeCode)
	}
	if limited < strikes-1 {
		t.Fatalf("flooder got %d rate_limited errors, want at least %d", limited, strikes-1)
	}
	if len(during) < 5 {
		t.Fatalf("only %d round trips during the %v flood: the flood was too short to measure", len(during), floodTime)
	}
	// Generous: the flood shares the CPUs with this client, the race
	// detector and whatever else the machine runs; a server that let a
	// flood hold up others would take seconds or time out.
	limit := max(20*baseline, 100*time.Millisecond)
	if m := median(during); m > limit {
		t.Fatalf("median round trip %v during the flood, %v before (limit %v)", m, baseline, limit)
	}
	t.Logf("round trip: %v before, %v during a %v flood (%d rate_limited)", baseline, median(during), floodTime, limited)
	if got := ts.metric(t, `sotto_rejections_total{reason="flooding"}`); got != "1" {
		t.Errorf("flooding rejections %s, want 1", got)
	}
	b.ping(1000)
}

// With the default limits a flood is cut short.
func TestFloodDefaults(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	f := ts.dial(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for f.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) == nil {
		}
	}()
	pongs, limited := 0, 0
	testutil.ExpectClose(t, websocket.ClosePolicyViolation, func() error {
		m, err := f.tryRead(10 * time.Second)
		if err != nil {
			return err
		}
		switch {
		case m.Type == typePong:
			pongs++
		case m.Type == typeError && m.Code == codeRateLimited:
			limited++
		default:
			t.Fatalf("unexpected %+v", m)
		}
		return nil
	})
	f.ws.Close()
	wg.Wait()
	// Strikes are forgiven over time, so a slow flood takes a few more.
	if pongs < DefaultMessageBurst || limited < DefaultRateStrikes-1 || limited > 2*DefaultRateStrikes {
		t.Fatalf("%d pongs, %d rate_limited; want at least %d, and %d to %d", pongs, limited, DefaultMessageBurst, DefaultRateStrikes-1, 2*DefaultRateStrikes)
	}
}

// A client that stops reading is dropped with 4008 and leaves its room,
// while the room carries on.
func TestSlowReader(t *testing.T) {
	const queue = 8
	ts := startServer(t, Config{SendQueue: queue, MessageRate: 1e6, MessageBurst: 1e6, WriteWait: 5 * time.Second,
		BlobRate: 1e12, BlobBurst: 1e12}, room.Config{}) // blobs fill the socket's buffers first
	s := newSecrets()
	a, b := ts.dial(t), ts.dial(t)
	a.create(s, 1)
	b.join(s, 2)
	a.expect(typeMemberJoined)

	// The slow client has a modest TCP buffer (not below the loopback MSS,
	// or TCP itself would crawl), so the server soon has to wait for it.
	d := websocket.Dialer{Subprotocols: []string{Subprotocol}, NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(128 << 10)
		}
		return c, err
	}}
	sws, _, err := d.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sws.Close()
	slow := &client{t: t, ws: sws}
	js := slow.join(s, 3)
	a.expect(typeMemberJoined)
	b.expect(typeMemberJoined)
	// From here on the slow client reads nothing.

	blob := strings.Repeat("B", MaxBlobChars)
	var slowLeft time.Time
	sent := 0
	for ; sent < 5000 && slowLeft.IsZero(); sent++ {
		start := time.Now()
		a.send(map[string]any{"type": "blob", "data": blob})
		for {
			m := b.read()
			if m.Type == typeBlob {
				break
			}
			if m.Type == typeMemberLeft && m.memberID() == js.Self {
				slowLeft = time.Now()
				continue
			}
			t.Fatalf("unexpected %+v", m)
		}
		if e := time.Since(start); e > 2*time.Second {
			t.Fatalf("blob %d took %v to cross the room: the slow client stalled it", sent, e)
		}
	}
	if slowLeft.IsZero() {
		t.Fatalf("the slow client was still in the room after %d blobs", sent)
	}
	// The room carries on, and the sender still hears it.
	b.send(map[string]any{"type": "blob", "data": "AA"})
	for {
		m := a.read()
		if m.Type == typeMemberLeft {
			continue
		}
		if m.Type != typeBlob || m.Data != "AA" {
			t.Fatalf("unexpected %+v", m)
		}
		break
	}
	// Reading again, the slow client finds the queued blobs, then 4008.
	slow.expectClose(CloseTooSlow)
	if got := ts.metric(t, `sotto_rejections_total{reason="too_slow"}`); got != "1" {
		t.Errorf("too_slow rejections %s, want 1", got)
	}
	t.Logf("slow client dropped after %d blobs", sent)
}
