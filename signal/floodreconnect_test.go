package signal

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/room"
)

// A flooder that is closed with 1008 and reconnects at once, again and
// again, must not get more service from the server than the rate limit
// promises one client. Before the flood cooldown, every new connection came
// with a fresh token bucket (a burst of 40 messages, answered) and 10 more
// strikes (answered with rate_limited), so reconnecting multiplied the
// per-connection limit by the reconnect rate: here 37,200 messages answered
// in 2 s over 744 connections; against the real binary (cmd/sigload) ~12,000
// a second, which raised 5,000 other clients' p99 round trip 12x.
//
// The bound is mechanism-neutral: whatever the fix (refusing an address for
// a while after one of its connections was closed for flooding, which is
// FloodCooldown; a message budget per address rather than per connection; a
// cap on new connections per address and second), a flooding address gets at
// most a few connections' worth of answers plus the steady rate over the
// flood. docs/abuse.md ("flood, reconnecting").
func TestFloodReconnectBounded(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	const floodFor = 2 * time.Second
	served, conns, refused := 0, 0, 0
	msg := []byte(`{"type":"ping"}`)
	for start := time.Now(); time.Since(start) < floodFor; {
		ws, _, err := dialOpts(t, ts.url, nil, Subprotocol)
		if err != nil {
			refused++ // 429 or 503: refused before any message
			time.Sleep(time.Millisecond)
			continue
		}
		conns++
		var wg sync.WaitGroup
		var n int
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, b, err := ws.ReadMessage()
				if err != nil {
					var ce *websocket.CloseError
					if errors.As(err, &ce) && ce.Code != websocket.ClosePolicyViolation {
						t.Errorf("close %d, want 1008", ce.Code)
					}
					return
				}
				if strings.Contains(string(b), `"pong"`) || strings.Contains(string(b), `"rate_limited"`) {
					n++
				}
			}
		}()
		ws.SetWriteDeadline(start.Add(floodFor + 5*time.Second))
		for ws.WriteMessage(websocket.TextMessage, msg) == nil {
		}
		ws.Close()
		wg.Wait()
		served += n
	}
	perConn := DefaultMessageBurst + DefaultRateStrikes
	limit := 4*perConn + int(DefaultMessageRate*floodFor.Seconds())
	t.Logf("%v of reconnecting flood: %d connections, %d refused, %d messages answered (limit %d)", floodFor, conns, refused, served, limit)
	if served > limit {
		t.Fatalf("a reconnecting flooder got %d messages answered in %v over %d connections; at most %d (a few connections' bursts and the steady rate) should be",
			served, floodFor, conns, limit)
	}
}
