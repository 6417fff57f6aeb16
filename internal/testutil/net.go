package testutil

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// dialTimeout bounds a loopback dial: it answers in microseconds unless the
// test broke something.
const dialTimeout = 5 * time.Second

// freePortTries is how many ports FreeLoopbackAddr tries before it gives
// up: a TCP port the kernel picked is taken for UDP only rarely.
const freePortTries = 20

// FreeLoopbackAddr is a 127.0.0.1 address whose port is free for TCP and
// for UDP both (the binary serves the app on the TCP port and voice on the
// same UDP port). Another process may take it before the test does.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	for range freePortTries {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err != nil {
			continue
		}
		pc.Close()
		return addr
	}
	t.Fatal("no loopback port free for both TCP and UDP")
	return ""
}

// FreePort is the port of FreeLoopbackAddr.
func FreePort(t testing.TB) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(FreeLoopbackAddr(t))
	return port
}

// DialFrom connects to addr from the loopback address from (127.0.0.0/8 is
// all loopback on Linux, so a test can be several clients), and closes the
// connection when the test ends.
func DialFrom(t testing.TB, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: dialTimeout}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ClosedAtAccept connects to addr from the loopback address from, sends
// req, and reports whether the server reset or closed the connection without
// a byte of answer. On loopback the reset can come before the dialer has
// returned.
func ClosedAtAccept(t testing.TB, from, addr, req string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: dialTimeout}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) {
			return true
		}
		t.Fatalf("dial from %s: %v", from, err)
	}
	defer c.Close()
	io.WriteString(c, req) // may fail: already reset
	c.SetReadDeadline(time.Now().Add(dialTimeout))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// CanListen reports whether addr's TCP port (and, with udpToo, its UDP
// port) can be bound now: a process that just died may leave it taken a
// moment.
func CanListen(addr string, udpToo bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ln.Close()
	if !udpToo {
		return nil
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return pc.Close()
}
