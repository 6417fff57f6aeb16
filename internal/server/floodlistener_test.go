package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/testutil"
	"sotto/room"
	sig "sotto/signal"
)

// acceptAll accepts on ln until it is closed, passing on each connection.
func acceptAll(t *testing.T, ln net.Listener) <-chan net.Conn {
	t.Helper()
	conns := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(conns)
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Accept: %v", err)
				}
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for c := range conns {
			c.Close()
		}
	})
	return conns
}

// The listener closes connections from penalized addresses at accept, and
// only once armed; others are passed on.
func TestFloodListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := newFloodListener(ln)
	conns := acceptAll(t, fl)
	addr := ln.Addr().String()
	accepted := func(from string) {
		t.Helper()
		c := testutil.DialFrom(t, from, addr)
		select {
		case s := <-conns:
			if got := connAddr(s); got != netip.MustParseAddr(from) {
				t.Fatalf("accepted a connection from %v, want %s", got, from)
			}
			s.Close()
		case <-time.After(5 * time.Second):
			t.Fatalf("connection from %s not accepted", from)
		}
		c.Close()
	}

	accepted("127.0.0.2") // not armed yet
	fl.arm(func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.2") })
	if !testutil.ClosedAtAccept(t, "127.0.0.2", addr, "") {
		t.Fatal("a connection from a penalized address was not closed")
	}
	accepted("127.0.0.1") // the accept loop went on
	select {
	case s := <-conns:
		t.Fatalf("a connection from %v was passed on", connAddr(s))
	default:
	}
	if n := fl.refusedConns(); n != 1 {
		t.Fatalf("refusedConns %d, want 1", n)
	}
}

// With the signaling server: once a connection from 127.0.0.2 is closed with
// 1008 for flooding, new TCP connections from 127.0.0.2 are closed at accept,
// before any HTTP, while 127.0.0.1 is served.
func TestFloodListenerWithServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := newFloodListener(ln)
	s := sig.NewServer(sig.Config{Registry: room.NewRegistry(room.Config{}), Logger: slog.New(slog.DiscardHandler)})
	fl.arm(s.Penalized)
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	hs := &http.Server{Handler: mux, ErrorLog: httpErrorLog(slog.New(slog.DiscardHandler))}
	go hs.Serve(fl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		hs.Shutdown(ctx)
	})
	url := "ws://" + ln.Addr().String() + "/ws"
	dialer := func(from string) *websocket.Dialer {
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		return &websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{sig.Subprotocol}, NetDialContext: nd.DialContext}
	}

	ws, _, err := dialer("127.0.0.2").Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) == nil {
		}
	}()
	testutil.ExpectClose(t, websocket.ClosePolicyViolation, func() error {
		_, _, err := ws.ReadMessage()
		return err
	})
	ws.Close()

	if !s.Penalized(netip.MustParseAddr("127.0.0.2")) {
		t.Fatal("the flooder's address is not penalized")
	}
	if !testutil.ClosedAtAccept(t, "127.0.0.2", ln.Addr().String(), "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n") {
		t.Fatal("a connection from the flooder's address was not closed at accept")
	}
	if n := fl.refusedConns(); n != 1 {
		t.Fatalf("refusedConns %d, want 1", n)
	}
	other, _, err := dialer("127.0.0.1").Dial(url, nil)
	if err != nil {
		t.Fatalf("another address: %v", err)
	}
	other.Close()
}
