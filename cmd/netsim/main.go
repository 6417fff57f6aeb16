// Command netsim puts an impaired network in front of a local Sotto: a UDP
// relay for voice and a TCP relay for the app, /ws and ICE-TCP, each losing,
// delaying, rate limiting or blocking what crosses it (internal/netsim).
// How to point browsers' media through it is in docs/netsim.md.
//
//	netsim -udp-listen 127.0.0.2:8080 -udp-upstream 127.0.0.1:8080 \
//	       -tcp-listen 127.0.0.2:8080 -tcp-upstream 127.0.0.1:8080 \
//	       -loss 0.1 -burst 3 -delay 100ms -jitter 50ms -rate 32k
//
// It prints what it relays and its counters; Ctrl-C stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sotto/internal/netsim"
)

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netsim:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rebind := make(chan os.Signal, 1)
	signal.Notify(rebind, syscall.SIGUSR1)
	if err := run(ctx, o, rebind, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "netsim:", err)
		os.Exit(1)
	}
}

// run relays as o says until ctx ends; a value on rebind (SIGUSR1) rebinds
// the UDP clients once.
func run(ctx context.Context, o options, rebind <-chan os.Signal, out io.Writer) error {
	var udp *netsim.UDPRelay
	var tcp *netsim.TCPRelay
	var err error
	if o.udpListen != "" {
		if udp, err = netsim.ListenUDP(o.udpListen, o.udpUpstream, o.udp); err != nil {
			return err
		}
		defer udp.Close()
		fmt.Fprintf(out, "udp %s -> %s  up: %s  down: %s\n", udp.Addr(), o.udpUpstream, describe(o.udp.Up), describe(o.udp.Down))
	}
	if o.tcpListen != "" {
		if tcp, err = netsim.ListenTCP(o.tcpListen, o.tcpUpstream, o.tcp); err != nil {
			return err
		}
		defer tcp.Close()
		fmt.Fprintf(out, "tcp %s -> %s  up: %s  down: %s\n", tcp.Addr(), o.tcpUpstream, describe(o.tcp.Up), describe(o.tcp.Down))
	}
	var statsTick, rebindTick <-chan time.Time
	if o.statsEvery > 0 {
		t := time.NewTicker(o.statsEvery)
		defer t.Stop()
		statsTick = t.C
	}
	if o.rebindEvery > 0 && udp != nil {
		t := time.NewTicker(o.rebindEvery)
		defer t.Stop()
		rebindTick = t.C
	}
	report := func() {
		if udp != nil {
			fmt.Fprintf(out, "udp %s\n", summary(udp.Stats()))
		}
		if tcp != nil {
			fmt.Fprintf(out, "tcp %s\n", summary(tcp.Stats()))
		}
	}
	doRebind := func() {
		if udp == nil {
			return
		}
		if err := udp.Rebind(); err != nil {
			fmt.Fprintln(out, "rebind:", err)
			return
		}
		fmt.Fprintf(out, "rebound %d udp clients to new source ports\n", udp.Stats().Clients)
	}
	for {
		select {
		case <-ctx.Done():
			report()
			return nil
		case <-statsTick:
			report()
		case <-rebindTick:
			doRebind()
		case <-rebind:
			doRebind()
		}
	}
}

// describe says what an impairment does, in the flags' terms.
func describe(imp netsim.Impairment) string {
	if imp == (netsim.Impairment{}) {
		return "clean"
	}
	if imp.Block {
		return "blocked"
	}
	s := fmt.Sprintf("loss %.3g", imp.Loss)
	if imp.BurstLen > 0 {
		s += fmt.Sprintf(" (bursts of %.3g)", imp.BurstLen)
	}
	s += fmt.Sprintf(", delay %v", imp.Delay)
	if imp.Jitter > 0 {
		dist := "uniform"
		if imp.JitterDist == netsim.Normal {
			dist = "normal"
		}
		order := "in order"
		if imp.Reorder {
			order = "reordering"
		}
		s += fmt.Sprintf(" ± %v %s, %s", imp.Jitter, dist, order)
	}
	if imp.RateBits > 0 {
		s += fmt.Sprintf(", cap %d bit/s", imp.RateBits)
	}
	return s
}

// summary is one line of counters.
func summary(s netsim.Stats) string {
	d := func(x netsim.DirStats) string {
		return fmt.Sprintf("%d sent (%d B), lost %d, blocked %d, tail-dropped %d, overflow %d, retransmitted %d, failed %d",
			x.Forwarded, x.Bytes, x.Lost, x.Blocked, x.TailDrop, x.Overflow+x.NoClient, x.Retrans, x.WriteErr)
	}
	return fmt.Sprintf("clients %d rebinds %d | up: %s | down: %s", s.Clients, s.Rebinds, d(s.Up), d(s.Down))
}
