package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"sotto/internal/netsim"
)

// DefaultStatsEvery is how often the counters are printed unless -stats says.
const DefaultStatsEvery = 5 * time.Second

// options is the command line, parsed and checked.
type options struct {
	udpListen, udpUpstream string
	tcpListen, tcpUpstream string
	udp, tcp               netsim.Config
	statsEvery             time.Duration
	rebindEvery            time.Duration
}

// parseFlags reads args (without the program name); help goes to out.
func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	var imp netsim.Impairment
	var dir, dist, rate string
	var blockUDP, blockTCP bool
	var seed uint64
	fs := flag.NewFlagSet("netsim", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.udpListen, "udp-listen", "", "UDP address clients send to (host:port)")
	fs.StringVar(&o.udpUpstream, "udp-upstream", "", "UDP address of the server")
	fs.StringVar(&o.tcpListen, "tcp-listen", "", "TCP address clients connect to (the app, /ws, ICE-TCP)")
	fs.StringVar(&o.tcpUpstream, "tcp-upstream", "", "TCP address of the server")
	fs.StringVar(&dir, "dir", "both", "which direction the impairments apply to: up (client to server), down or both")
	fs.Float64Var(&imp.Loss, "loss", 0, "mean fraction of packets lost, 0 to 1 (TCP: chunks delayed by a retransmission instead)")
	fs.Float64Var(&imp.BurstLen, "burst", 0, "mean loss burst length in packets (Gilbert-Elliott); 0: independent losses")
	fs.DurationVar(&imp.Delay, "delay", 0, "mean one-way delay")
	fs.DurationVar(&imp.Jitter, "jitter", 0, "delay spread: ± this (uniform) or this standard deviation (normal)")
	fs.StringVar(&dist, "jitter-dist", "uniform", "uniform or normal")
	fs.BoolVar(&imp.Reorder, "reorder", false, "let jitter reorder datagrams (default: keep their order)")
	fs.StringVar(&rate, "rate", "", "bandwidth cap in bits/s, with k or m (e.g. 32k); empty: none")
	fs.IntVar(&imp.QueueBytes, "queue", 0, "bytes that may wait for the rate cap before tail drop; 0: 200 ms of the rate")
	fs.BoolVar(&blockUDP, "block-udp", false, "drop every datagram (a firewall blocking UDP)")
	fs.BoolVar(&blockTCP, "block-tcp", false, "refuse new TCP connections")
	fs.Uint64Var(&seed, "seed", 1, "random seed for loss and jitter")
	fs.DurationVar(&o.statsEvery, "stats", DefaultStatsEvery, "print the counters this often; 0: only at exit")
	fs.DurationVar(&o.rebindEvery, "rebind-every", 0, "give every UDP client a new source port this often (a network switch); SIGUSR1 does it once")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (o.udpListen == "") != (o.udpUpstream == "") || (o.tcpListen == "") != (o.tcpUpstream == "") {
		return o, errors.New("-udp-listen and -udp-upstream go together, as do -tcp-listen and -tcp-upstream")
	}
	if o.udpListen == "" && o.tcpListen == "" {
		return o, errors.New("nothing to relay: give -udp-listen/-udp-upstream, -tcp-listen/-tcp-upstream or both")
	}
	if o.statsEvery < 0 || o.rebindEvery < 0 {
		return o, errors.New("-stats and -rebind-every must not be negative")
	}
	switch dist {
	case "uniform":
		imp.JitterDist = netsim.Uniform
	case "normal":
		imp.JitterDist = netsim.Normal
	default:
		return o, fmt.Errorf("-jitter-dist %q: want uniform or normal", dist)
	}
	var err error
	if imp.RateBits, err = parseRate(rate); err != nil {
		return o, err
	}
	var both netsim.Config
	switch dir {
	case "up":
		both.Up = imp
	case "down":
		both.Down = imp
	case "both":
		both.Up, both.Down = imp, imp
	default:
		return o, fmt.Errorf("-dir %q: want up, down or both", dir)
	}
	both.Seed = seed
	o.udp, o.tcp = both, both
	// Blocking is a firewall: both directions, whatever -dir says.
	o.udp.Up.Block, o.udp.Down.Block = blockUDP, blockUDP
	o.tcp.Up.Block, o.tcp.Down.Block = blockTCP, blockTCP
	if err := o.udp.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// parseRate reads a rate in bits/s: a number with an optional k (1000) or
// m (1,000,000) suffix; empty is no cap (0).
func parseRate(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	num := strings.ToLower(s)
	switch {
	case strings.HasSuffix(num, "k"):
		mult, num = 1000, num[:len(num)-1]
	case strings.HasSuffix(num, "m"):
		mult, num = 1_000_000, num[:len(num)-1]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f*float64(mult) > 1e12 {
		return 0, fmt.Errorf("-rate %q: want a positive number of bits/s such as 64000, 32k or 1.5m", s)
	}
	return int64(f * float64(mult)), nil
}
