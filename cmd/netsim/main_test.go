package main

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"sotto/internal/netsim"
	"sotto/internal/syncbuf"
	"sotto/internal/testutil"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "64000": 64000, "32k": 32000, "32K": 32000, "1.5m": 1_500_000} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"k", "-5", "0", "fast", "2000000m"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(strings.Fields("-udp-listen 127.0.0.2:9 -udp-upstream 127.0.0.1:9 -loss 0.1 -burst 3 -delay 100ms -jitter 50ms -jitter-dist normal -rate 32k -dir up -block-udp -seed 9"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := netsim.Impairment{Loss: 0.1, BurstLen: 3, Delay: 100 * time.Millisecond, Jitter: 50 * time.Millisecond, JitterDist: netsim.Normal, RateBits: 32000, Block: true}
	if o.udp.Up != want || o.udp.Down != (netsim.Impairment{Block: true}) || o.udp.Seed != 9 {
		t.Fatalf("udp config %+v", o.udp)
	}
	if o.tcp.Up.Block || o.tcpListen != "" || o.statsEvery != DefaultStatsEvery {
		t.Fatalf("options %+v", o)
	}
	for _, bad := range []string{
		"",
		"-udp-listen 127.0.0.1:1",
		"-tcp-listen :1 -tcp-upstream :2 -loss 2",
		"-tcp-listen :1 -tcp-upstream :2 -dir sideways",
		"-tcp-listen :1 -tcp-upstream :2 -jitter-dist pareto",
		"-tcp-listen :1 -tcp-upstream :2 -loss 0.5 -burst 0.5",
		"-tcp-listen :1 -tcp-upstream :2 extra",
	} {
		if _, err := parseFlags(strings.Fields(bad), io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRunRelaysAndStops(t *testing.T) {
	testutil.LeakCheck(t)
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, src, err := echo.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			echo.WriteToUDPAddrPort(buf[:n], src)
		}
	}()
	tcpUp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcpUp.Close()
	listen := testutil.FreeLoopbackAddr(t)
	o, err := parseFlags([]string{"-udp-listen", listen, "-udp-upstream", echo.LocalAddr().String(),
		"-tcp-listen", listen, "-tcp-upstream", tcpUp.Addr().String(), "-delay", "10ms", "-stats", "50ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rebind := make(chan os.Signal, 1)
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, rebind, &out) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	var c net.Conn
	testutil.WaitFor(t, 10*time.Second, "the relay to listen", func() bool {
		return strings.Contains(out.String(), "tcp "+listen)
	})
	c, err = net.Dial("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("echo %q, %v", buf[:n], err)
	}
	rebind <- syscall.SIGUSR1
	testutil.WaitFor(t, 10*time.Second, "the rebind and the counters to be printed", func() bool {
		s := out.String()
		return strings.Contains(s, "rebound 1 udp clients") && strings.Contains(s, "up: 1 sent (4 B)")
	})
}
