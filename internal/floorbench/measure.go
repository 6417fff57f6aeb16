package floorbench

// The measurement: start the receivers, then a fresh sender process, take
// its CPU time over the measured window and the receivers' counts once the
// last packets have landed.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// setupTime bounds everything but the talking: starting both children,
	// binding the receivers' sockets, creating the SRTP contexts.
	setupTime = 30 * time.Second
	// deliveryWait is how long the receivers get to count the last
	// packets after the sender is done, as loadgen waits for its clients.
	deliveryWait = 5 * time.Second
	// countsEvery is how often the receivers are asked while waiting.
	countsEvery = 50 * time.Millisecond
)

// Result is one measurement.
type Result struct {
	Options Options
	Sent    uint64        // packets sent in all, warm-up included
	Packets uint64        // packets sent in the measured window
	Calls   uint64        // send system calls in the measured window
	User    time.Duration // the sender's CPU time in the window
	Sys     time.Duration
	Wall    time.Duration // the window's length
	Mallocs uint64        // the sender's heap allocations in the window
	Counts                // what the receivers got of Sent
}

// USPerPacket is the sender's CPU time per packet sent in the measured
// window, in microseconds: loadgen's us/pkt for the floor.
func (r Result) USPerPacket() float64 {
	return float64((r.User + r.Sys).Nanoseconds()) / 1e3 / float64(r.Packets)
}

// Delivery is the fraction of packets sent (warm-up included) that reached
// their listener intact and in order.
func (r Result) Delivery() float64 { return float64(r.Delivered) / float64(r.Sent) }

// Report is the measurement in two lines, in loadgen's words.
func (r Result) Report() string {
	per := func(x float64) float64 { return x / float64(r.Packets) }
	var b strings.Builder
	fmt.Fprintf(&b, "floor %s: sent %d packets in %v: %.2f us/pkt CPU (user %.2f, system %.2f), %.2f cores, %.3f calls/pkt, %.3f allocs/pkt\n",
		r.Options.Mode, r.Packets, r.Wall.Round(time.Millisecond), r.USPerPacket(),
		per(float64(r.User.Nanoseconds())/1e3), per(float64(r.Sys.Nanoseconds())/1e3),
		(r.User+r.Sys).Seconds()/r.Wall.Seconds(), per(float64(r.Calls)), per(float64(r.Mallocs)))
	fmt.Fprintf(&b, "floor %s: delivery %.4f (%d of %d packets, warm-up included, reached listeners, in order, bit-exact; %d broken, %d reordered, %d silent listeners)",
		r.Options.Mode, r.Delivery(), r.Delivered, r.Sent, r.Broken, r.Reordered, r.Silent)
	return b.String()
}

// Measure runs one measurement of o, in child processes of this binary (see
// ChildFlag), and returns it whatever the receivers got: judging delivery is
// the caller's.
func Measure(o Options) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	talking := time.Duration(warmupPackets+o.packets()+1) * o.interval()
	ctx, cancel := context.WithTimeout(context.Background(), setupTime+talking+deliveryWait)
	defer cancel()
	listeners, err := newListeners(o)
	if err != nil {
		return Result{}, err
	}

	recv, err := startChild(ctx, roleReceivers)
	if err != nil {
		return Result{}, err
	}
	// On every way out the receivers' input closes, which ends them.
	closeRecv := func() error { return recv.close() }
	defer func() {
		if closeRecv != nil {
			_ = closeRecv()
		}
	}()
	var ready receiverReady
	err = recv.call(receiverConfig{Payload: o.Payload, TSStep: rtpClockRate / uint32(o.PPS), Listeners: listeners}, &ready)
	if err != nil {
		return Result{}, err
	}
	if len(ready.Ports) != len(listeners) {
		return Result{}, fmt.Errorf("floorbench: the receivers opened %d sockets for %d listeners", len(ready.Ports), len(listeners))
	}
	for i := range listeners {
		listeners[i].Port = ready.Ports[i]
	}

	send, err := startChild(ctx, roleSender)
	if err != nil {
		return Result{}, err
	}
	var sr senderResult
	err = send.call(senderConfig{Options: o, Listeners: listeners}, &sr)
	if err = errors.Join(err, send.close()); err != nil {
		return Result{}, err
	}

	var got Counts
	for deadline := time.Now().Add(deliveryWait); ; time.Sleep(countsEvery) {
		if err := recv.call(countsRequest{}, &got); err != nil {
			return Result{}, err
		}
		if got.Received >= sr.Sent || time.Now().After(deadline) {
			break
		}
	}
	err, closeRecv = closeRecv(), nil
	if err != nil {
		return Result{}, err
	}
	return Result{
		Options: o, Sent: sr.Sent, Packets: sr.Packets, Calls: sr.Calls,
		User: sr.User, Sys: sr.Sys, Wall: sr.Wall, Mallocs: sr.Mallocs, Counts: got,
	}, nil
}

// Run measures o and returns the floor's CPU time per packet in
// microseconds and the delivery fraction; it fails if any packet arrived
// damaged or out of order, as loadgen does.
func Run(o Options) (usPerPkt, delivery float64, err error) {
	r, err := Measure(o)
	if err != nil {
		return 0, 0, err
	}
	if r.Broken != 0 || r.Reordered != 0 {
		return 0, 0, fmt.Errorf("floorbench: %s: %d damaged and %d reordered packets", o.Mode, r.Broken, r.Reordered)
	}
	return r.USPerPacket(), r.Delivery(), nil
}
