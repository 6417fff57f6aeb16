package e2etest

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/stun/v4"

	"sotto/internal/logmarker"
	"sotto/internal/syncbuf"
	"sotto/signal"
)

// rawExchange writes b on a new TCP connection and reads what comes back
// for a moment.
func rawExchange(t *testing.T, addr string, b []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(b)
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, _ = io.Copy(io.Discard, c)
}

// No byte a client chose may reach the server's log, at any level (docs/
// security.md): not the path, headers or body of an HTTP request, not a
// WebSocket message, not the username of a STUN request on the voice ports,
// not the ALPN protocols or server name of a TLS handshake. net/http's error
// lines quoted the last two into the log at debug level, pion logged
// usernames and candidates at error level. Here a marker with terminal
// escapes goes into each, with the log at debug; no line may hold any part
// of it. (SDP and ICE candidates: sfu.TestLogsHoldNoClientInput.)
func TestLogsHoldNoClientInput(t *testing.T) {
	marker, token := logmarker.New()
	esc := url.PathEscape(marker)

	// Plain HTTP on loopback: HTTP, WebSocket, STUN over UDP and ICE-TCP.
	logs, tcpAddr, udpAddr := startLogged(t)
	for _, req := range []string{
		"GET /" + esc + "?q=" + esc + " HTTP/1.1\r\nHost: " + token + "\r\nUser-Agent: " + marker + "\r\nX-" + token + ": " + marker +
			"\r\nCookie: a=" + marker + "\r\nConnection: close\r\n\r\n",
		"GET /" + marker + " HTTP/1.1\r\nHost: x\r\n\r\n",
		marker + "\r\n\r\n",
		"POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nConnection: close\r\n\r\n" + marker + marker,
		"GET /ws HTTP/1.1\r\nHost: x\r\nOrigin: https://" + token + ".example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: " + token + "\r\n\r\n",
	} {
		rawExchange(t, tcpAddr, []byte(req))
	}
	d := websocket.Dialer{Subprotocols: []string{signal.Subprotocol}, HandshakeTimeout: 5 * time.Second}
	for _, msg := range []string{
		`{"type":"` + marker + `"}`,
		`{"type":"join","id":1,"room":"` + marker + `","auth":"` + marker + `","role":"` + marker + `"}`,
		`{"type":"create","id":1,"room":"` + marker + `"}`,
		`{"type":"offer","id":2,"sdp":"` + marker + `"}`,
		`{"type":"ice","id":3,"candidate":{"candidate":"` + marker + `"}}`,
		`{"` + marker + `":1}`,
		marker,
	} {
		ws, _, err := d.Dial("ws://"+tcpAddr+"/ws", http.Header{"User-Agent": {token}})
		if err != nil {
			t.Fatal(err)
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte(msg))
		_ = ws.WriteMessage(websocket.BinaryMessage, []byte(msg))
		_ = ws.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				break
			}
		}
		ws.Close()
	}
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	uaddr, err := net.ResolveUDPAddr("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{marker, "abcd:" + marker, marker + ":abcd"} {
		req, err := stun.Build(stun.BindingRequest, stun.TransactionID, stun.NewUsername(user),
			stun.NewShortTermIntegrity(marker), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = udp.WriteTo(req.Raw, uaddr)
		rawExchange(t, tcpAddr, append(binary.BigEndian.AppendUint16(nil, uint16(len(req.Raw))), req.Raw...))
	}
	_, _ = udp.WriteTo([]byte("\x00\x01"+marker), uaddr)

	// ACME mode: the TLS handshake's ALPN and server name. The CA is not
	// reachable; no certificate is ever asked for.
	tlsLogs, tlsAddr, _ := startLogged(t, "--acme-domain", "talk.example.com", "--acme-directory", "https://127.0.0.1:1/directory")
	for _, tc := range []*tls.Config{
		{InsecureSkipVerify: true, NextProtos: []string{marker}},
		{InsecureSkipVerify: true, ServerName: marker + ".example.com"},
		{InsecureSkipVerify: true, ServerName: token + ".example.com"},
	} {
		if c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr, tc); err == nil {
			c.Close()
		}
	}
	rawExchange(t, tlsAddr, []byte("\x16\x03\x01\x00\x05"+marker))
	time.Sleep(300 * time.Millisecond)

	for name, l := range map[string]*syncbuf.Buffer{"plain": logs, "ACME": tlsLogs} {
		log := l.String()
		if !strings.Contains(log, "level=DEBUG") {
			t.Errorf("%s: no debug line was logged; the test reached nothing:\n%s", name, log)
		}
		if bad := logmarker.Leaks(log, token); len(bad) > 0 {
			t.Errorf("%s: %d log lines hold client input, e.g.:\n%q", name, len(bad), bad[0])
		}
	}
}
