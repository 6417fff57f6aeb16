package signal

// Abuse below the JSON: requests that are not WebSocket handshakes, frames
// that break RFC 6455, control-frame floods, and fragmented messages over
// the read limit. The client here writes raw bytes on a TCP connection, as
// an attacker's tool would; no WebSocket library stands between it and the
// server. Each case must end in a refusal or a close with the documented
// code, free the connection, and leave the server serving others.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/room"
)

// rawConn is a hand-rolled WebSocket client.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// rawDial opens a TCP connection and upgrades it with the given request
// headers (each "Name: value"), returning the HTTP status line.
func rawDial(t *testing.T, ts *testServer, method string, headers ...string) (*rawConn, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " /ws HTTP/1.1\r\nHost: " + strings.TrimPrefix(ts.http.URL, "http://") + "\r\n" +
		strings.Join(headers, "\r\n") + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	for { // the rest of the response head
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		if line == "\r\n" {
			break
		}
	}
	return &rawConn{t: t, c: c, br: br}, strings.TrimSpace(status)
}

var upgradeHeaders = []string{
	"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: " + Subprotocol,
}

// rawUpgrade is rawDial for a valid handshake, which must succeed.
func rawUpgrade(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	rc, status := rawDial(t, ts, "GET", upgradeHeaders...)
	if !strings.Contains(status, " 101 ") {
		t.Fatalf("handshake: %q", status)
	}
	return rc
}

// frame builds one frame. first is the first header byte (FIN, RSV bits,
// opcode); the payload is masked with a zero key when masked is set, as
// every client frame must be.
func frame(first byte, masked bool, payload []byte) []byte {
	b := header(first, masked, uint64(len(payload)))
	if masked {
		b = append(b, 0, 0, 0, 0) // a zero mask leaves the payload as is
	}
	return append(b, payload...)
}

// header is a frame header announcing length bytes (and no mask key).
func header(first byte, masked bool, length uint64) []byte {
	b := []byte{first, 0}
	if masked {
		b[1] = 0x80
	}
	switch {
	case length < 126:
		b[1] |= byte(length)
	case length < 1<<16:
		b[1] |= 126
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	default:
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, length)
	}
	return b
}

const (
	opCont  = 0x0
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	finBit  = 0x80
	rsv1Bit = 0x40
)

func (rc *rawConn) write(b []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// closeCode reads server frames until a close frame and returns its code,
// or -1 if the connection ended without one. Text frames are returned in
// texts.
func (rc *rawConn) closeCode() (code int, texts []string) {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(rc.br, h[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				rc.t.Fatal("the server neither closed nor answered")
			}
			return -1, texts
		}
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			io.ReadFull(rc.br, l[:])
			n = int64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			io.ReadFull(rc.br, l[:])
			n = int64(binary.BigEndian.Uint64(l[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(rc.br, payload); err != nil {
			return -1, texts
		}
		switch h[0] & 0x0f {
		case opClose:
			if len(payload) < 2 {
				return 1005, texts
			}
			return int(binary.BigEndian.Uint16(payload)), texts
		case opText:
			texts = append(texts, string(payload))
		}
	}
}

// Requests to /ws that are not a WebSocket handshake are refused with an
// HTTP status before any connection state exists, and counted.
func TestNotAWebSocket(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	without := func(name string) []string {
		var h []string
		for _, l := range upgradeHeaders {
			if !strings.HasPrefix(l, name+":") {
				h = append(h, l)
			}
		}
		return h
	}
	for _, tc := range []struct {
		name    string
		method  string
		headers []string
		status  int
	}{
		{"plain GET", "GET", nil, http.StatusBadRequest},
		{"no Upgrade header", "GET", without("Upgrade"), http.StatusBadRequest},
		{"no Connection header", "GET", without("Connection"), http.StatusBadRequest},
		{"POST", "POST", upgradeHeaders, http.StatusMethodNotAllowed},
		{"old version", "GET", append(without("Sec-WebSocket-Version"), "Sec-WebSocket-Version: 8"), http.StatusBadRequest},
		{"no key", "GET", without("Sec-WebSocket-Key"), http.StatusBadRequest},
		{"short key", "GET", append(without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: AAAA"), http.StatusBadRequest},
	} {
		_, status := rawDial(t, ts, tc.method, tc.headers...)
		if !strings.HasPrefix(status, "HTTP/1.1 "+strconv.Itoa(tc.status)+" ") {
			t.Errorf("%s: %q, want HTTP %d", tc.name, status, tc.status)
		}
	}
	if got := ts.metric(t, `sotto_rejections_total{reason="bad_handshake"}`); got != "7" {
		t.Errorf("bad_handshake rejections %s, want 7", got)
	}
	if got := ts.metric(t, "sotto_connections_open"); got != "0" {
		t.Errorf("sotto_connections_open %s", got)
	}
	ts.dial(t).ping(1)
}

// Frames that break RFC 6455 close the connection with 1002, whatever the
// room state; the member leaves its room and the server carries on.
func TestBrokenFraming(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	ping := []byte(`{"type":"ping"}`)
	for _, tc := range []struct {
		name  string
		bytes []byte
		code  int
	}{
		{"unmasked client frame", frame(finBit|opText, false, ping), websocket.CloseProtocolError},
		{"RSV1 without compression", frame(finBit|rsv1Bit|opText, true, ping), websocket.CloseProtocolError},
		{"reserved opcode 3", frame(finBit|0x3, true, ping), websocket.CloseProtocolError},
		{"reserved control opcode 0xB", frame(finBit|0xB, true, nil), websocket.CloseProtocolError},
		{"ping over 125 bytes", frame(finBit|opPing, true, make([]byte, 126)), websocket.CloseProtocolError},
		{"fragmented ping", frame(opPing, true, []byte("x")), websocket.CloseProtocolError},
		{"continuation with nothing to continue", frame(finBit|opCont, true, ping), websocket.CloseProtocolError},
		{"new message inside a fragmented one", append(frame(opText, true, []byte(`{"type":`)), frame(finBit|opText, true, ping)...), websocket.CloseProtocolError},
		{"close with an invalid code", frame(finBit|opClose, true, []byte{0x03, 0xE7}), websocket.CloseProtocolError},
		{"close with invalid UTF-8 reason", frame(finBit|opClose, true, []byte{0x03, 0xE8, 0xff}), websocket.CloseProtocolError},
		// Lengths that no buffer could hold are refused from the header.
		{"length of 2^62 bytes", append(header(finBit|opText, true, 1<<62), 0, 0, 0, 0), websocket.CloseMessageTooBig},
		{"length with the top bit set", append(header(finBit|opText, true, 1<<63), 0, 0, 0, 0), websocket.CloseMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSecrets()
			owner := ts.dial(t)
			owner.create(s, 1)
			rc := rawUpgrade(t, ts)
			join := `{"type":"join","id":2,"room":"` + s.room + `","auth":"` + s.auth + `"}`
			rc.write(frame(finBit|opText, true, []byte(join)))
			owner.expect(typeMemberJoined)
			rc.write(tc.bytes)
			code, _ := rc.closeCode()
			if code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
			owner.expect(typeMemberLeft)
			owner.ping(3)
		})
	}
	ts.waitMetric(t, "sotto_connections_open", "0")
}

// A message split into many small continuation frames is limited by its
// total size, not its frames': past the read limit the connection is closed
// with 1009.
func TestFragmentedTooBig(t *testing.T) {
	ts := startServer(t, Config{ReadLimit: 4096}, room.Config{})
	rc := rawUpgrade(t, ts)
	rc.write(frame(opText, true, []byte(`{"type":"blob","data":"`)))
	chunk := []byte(strings.Repeat("A", 100))
	for range 50 { // 5000 bytes in all, over the 4096 limit
		if _, err := rc.c.Write(frame(opCont, true, chunk)); err != nil {
			break // the server may close before all are written
		}
	}
	if code, _ := rc.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	ts.waitMetric(t, `sotto_rejections_total{reason="too_big"}`, "1")
	ts.dial(t).ping(1)
}

// Ping frames count against the same rate limit as messages: a flood of
// them is throttled (rate_limited errors, no pongs for the dropped ones)
// and closed with 1008, as a flood of messages is.
func TestPingFrameFlood(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	rc := rawUpgrade(t, ts)
	go func() {
		ping := frame(finBit|opPing, true, []byte("p"))
		for {
			if _, err := rc.c.Write(ping); err != nil {
				return
			}
		}
	}()
	code, texts := rc.closeCode()
	if code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	limited := 0
	for _, m := range texts {
		if strings.Contains(m, `"code":"rate_limited"`) {
			limited++
		}
	}
	if limited < DefaultRateStrikes-1 || limited > 2*DefaultRateStrikes {
		t.Fatalf("%d rate_limited errors, want %d to %d", limited, DefaultRateStrikes-1, 2*DefaultRateStrikes)
	}
	ts.waitMetric(t, `sotto_rejections_total{reason="flooding"}`, "1")
	// Others are still served. (From another address: the flooder's own
	// may be refused for a while after a flood.)
	d := websocket.Dialer{Subprotocols: []string{Subprotocol}, HandshakeTimeout: 5 * time.Second,
		NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}
	ws, _, err := d.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	(&client{t: t, ws: ws}).ping(1)
}

// The room cap: past MaxRooms, create is refused with server_full and
// nothing of the refused room is kept.
func TestServerFull(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{MaxRooms: 1})
	a, b := ts.dial(t), ts.dial(t)
	a.create(newSecrets(), 1)
	s := newSecrets()
	b.send(map[string]any{"type": "create", "id": 2, "room": s.room, "verifier": s.verifier})
	b.expectError(codeServerFull, 2)
	if rooms, members := ts.reg.Counts(); rooms != 1 || members != 1 {
		t.Fatalf("%d rooms, %d members after a refused create", rooms, members)
	}
	b.ping(3)
}
