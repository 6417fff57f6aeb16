package e2etest

// wsRecorder is a WebSocket relay in front of the server that records every
// message both ways, as the server itself sees them: what a server that
// keeps everything (or whoever taps it) holds of a session's signaling.
// Clients dial the relay's URL; for each connection it dials the server
// with the same path, query and subprotocol and pumps messages until either
// side closes.

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsMessage is one recorded message.
type wsMessage struct {
	At   time.Time
	Up   bool // client to server
	Data []byte
}

type wsRecorder struct {
	ws string // ws://…/ws of the relay

	mu   sync.Mutex
	msgs []wsMessage
	conn sync.WaitGroup
}

// newWSRecorder relays to the server at upstream (ws://host:port/ws).
func newWSRecorder(t testing.TB, upstream string) *wsRecorder {
	t.Helper()
	r := &wsRecorder{}
	up := websocket.Upgrader{Subprotocols: []string{"sotto.v1"}, CheckOrigin: func(*http.Request) bool { return true }}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d := websocket.Dialer{Subprotocols: websocket.Subprotocols(req), HandshakeTimeout: 10 * time.Second}
		// From the client's own address, so that the server's limits per
		// address (connections, blob bytes) count members apart as they
		// would without the relay (client.Config.LocalAddr in 127/8).
		if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
			local := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr(), 0))}
			d.NetDialContext = local.DialContext
		}
		target := strings.TrimSuffix(upstream, "/ws") + req.URL.RequestURI()
		server, res, err := d.Dial(target, nil)
		if err != nil {
			status := http.StatusBadGateway
			if res != nil {
				status = res.StatusCode
			}
			http.Error(w, "upstream: "+err.Error(), status)
			return
		}
		client, err := up.Upgrade(w, req, nil)
		if err != nil {
			server.Close()
			return
		}
		r.conn.Add(2)
		go r.pump(client, server, true)
		go r.pump(server, client, false)
	}))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		r.conn.Wait()
	})
	r.ws = "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	return r
}

// pump copies messages from src to dst, recording each, and closes both
// when either side is done (with the close code it got, if any).
func (r *wsRecorder) pump(src, dst *websocket.Conn, up bool) {
	defer r.conn.Done()
	for {
		typ, data, err := src.ReadMessage()
		if err != nil {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseNoStatusReceived {
				msg = websocket.FormatCloseMessage(ce.Code, ce.Text)
			}
			_ = dst.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			dst.Close()
			src.Close()
			return
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, wsMessage{At: time.Now(), Up: up, Data: append([]byte(nil), data...)})
		r.mu.Unlock()
		if dst.WriteMessage(typ, data) != nil {
			src.Close()
			dst.Close()
			return
		}
	}
}

// messages returns a copy of what was recorded so far.
func (r *wsRecorder) messages() []wsMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wsMessage(nil), r.msgs...)
}

// bytesSince sums the sizes of the messages recorded at or after t0, both
// ways, and counts them.
func (r *wsRecorder) bytesSince(t0 time.Time) (n, count int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if !m.At.Before(t0) {
			n += len(m.Data)
			count++
		}
	}
	return n, count
}
