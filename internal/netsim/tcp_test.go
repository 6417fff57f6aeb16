package netsim

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"sotto/internal/testutil"
)

// tcpEcho echoes each connection back and half-closes at its end.
func tcpEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func newTCPRelay(t *testing.T, upstream string, cfg Config) *TCPRelay {
	t.Helper()
	r, err := ListenTCP("127.0.0.1:0", upstream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// echoThrough sends data through r to the echo and returns what came back
// before the echo's end.
func echoThrough(t *testing.T, r *TCPRelay, data []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLong))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		errc <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	return got
}

func TestTCPRelayCopiesBothWays(t *testing.T) {
	testutil.LeakCheck(t)
	echo := tcpEcho(t)
	// Every impairment a stream can take: nothing may be lost or reordered.
	imp := Impairment{Loss: 0.3, BurstLen: 2, Delay: 5 * time.Millisecond, Jitter: 5 * time.Millisecond, Reorder: true, RateBits: 8_000_000}
	r := newTCPRelay(t, echo, Config{Up: imp, Down: imp, Seed: 5})
	data := make([]byte, 200<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	got := echoThrough(t, r, data)
	if !bytes.Equal(got, data) {
		t.Fatalf("echo came back %d bytes, different from the %d sent", len(got), len(data))
	}
	s := r.Stats()
	if s.Up.Bytes != uint64(len(data)) || s.Down.Bytes != uint64(len(data)) {
		t.Fatalf("stats %+v", s)
	}
	if s.Up.Retrans == 0 {
		t.Fatal("30% loss hit no chunk")
	}
	testutil.WaitFor(t, waitLong, "the connection to be forgotten", func() bool { return r.Stats().Clients == 0 })
}

func TestTCPRelayBlockRefuses(t *testing.T) {
	testutil.LeakCheck(t)
	echo := tcpEcho(t)
	r := newTCPRelay(t, echo, Config{Up: Impairment{Block: true}})
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLong))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a blocked relay kept the connection")
	}
	if err := r.SetConfig(Config{}); err != nil {
		t.Fatal(err)
	}
	if got := echoThrough(t, r, []byte("open again")); string(got) != "open again" {
		t.Fatalf("echo %q", got)
	}
}

func TestTCPRelayCloseEndsConnections(t *testing.T) {
	testutil.LeakCheck(t)
	echo := tcpEcho(t)
	r, err := ListenTCP("127.0.0.1:0", echo, Config{Down: Impairment{Delay: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("held for 5 s"))
	testutil.WaitFor(t, waitLong, "the echo to answer", func() bool { return r.Stats().Up.Forwarded == 1 })
	start := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Fatalf("Close waited %v for a delayed chunk", el)
	}
	c.SetDeadline(time.Now().Add(waitLong))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("read %d bytes after Close", n)
	}
}
