package netsim

import (
	"errors"
	"fmt"
	"time"
)

const (
	// MaxDatagram is the largest UDP payload the relay reads: the protocol's
	// limit, so no datagram is ever cut short.
	MaxDatagram = 65535
	// BucketBytes is the token bucket's depth: one full-size Ethernet frame,
	// so an idle link sends one packet at once and paces everything after.
	BucketBytes = 1500
	// DefaultQueueTime sizes the rate limiter's queue when Impairment.QueueBytes
	// is 0: what the capped link sends in this time, like a modest router's
	// buffer (more is bufferbloat, less drops every burst).
	DefaultQueueTime = 200 * time.Millisecond
	// MinQueueBytes is the smallest queue a rate cap gets, so a very low rate
	// still holds one largest datagram.
	MinQueueBytes = MaxDatagram
	// MaxLatency bounds Delay plus Jitter: beyond it nothing interactive is
	// left to simulate, and a typo (1h for 1ms) would look like a hang.
	MaxLatency = 10 * time.Second
)

// Jitter distributions: how a packet's deviation from Delay is drawn.
type JitterDist int

const (
	// Uniform draws the deviation evenly from [-Jitter, +Jitter].
	Uniform JitterDist = iota
	// Normal draws it from a normal distribution with standard deviation
	// Jitter (a delay below zero is taken as zero).
	Normal
)

// Impairment is what one direction of a relay does to what crosses it. The
// zero value forwards everything at once.
type Impairment struct {
	// Loss is the mean fraction of packets lost, 0 to 1.
	Loss float64
	// BurstLen is the mean number of packets in a run of losses. 0 draws
	// every packet's fate independently (Bernoulli); 1 or more uses the
	// Gilbert-Elliott model, which needs BurstLen >= Loss/(1-Loss).
	BurstLen float64
	// Delay is every packet's mean one-way delay.
	Delay time.Duration
	// Jitter is the spread of the delay (see JitterDist).
	Jitter time.Duration
	// JitterDist is Uniform or Normal.
	JitterDist JitterDist
	// Reorder lets each packet keep its own delay, so a packet drawn a
	// shorter delay overtakes the one before it. false keeps FIFO order: a
	// packet never leaves before the one ahead of it. The TCP relay is a
	// byte stream and always keeps FIFO order.
	Reorder bool
	// RateBits caps the link at this many bits per second (0: no cap).
	RateBits int64
	// QueueBytes is how many bytes may wait for the rate cap; a packet
	// that would exceed it is dropped (tail drop). 0: DefaultQueueTime's
	// worth of the rate, at least MinQueueBytes.
	QueueBytes int
	// Block drops every datagram (a firewall that blocks UDP). On the TCP
	// relay it refuses new connections.
	Block bool
}

// Validate says what is wrong with imp, if anything.
func (imp Impairment) Validate() error {
	switch {
	case imp.Loss < 0 || imp.Loss > 1 || imp.Loss != imp.Loss:
		return fmt.Errorf("netsim: loss %v is not between 0 and 1", imp.Loss)
	case imp.BurstLen != 0 && imp.BurstLen < 1:
		return fmt.Errorf("netsim: burst length %v: want 0 (independent loss) or at least 1", imp.BurstLen)
	case imp.BurstLen >= 1 && imp.Loss == 1:
		return errors.New("netsim: bursty loss needs a loss rate below 1 (use 0 burst length to lose everything)")
	case imp.BurstLen >= 1 && imp.Loss > 0 && imp.BurstLen < imp.Loss/(1-imp.Loss):
		return fmt.Errorf("netsim: burst length %v is too short for loss %v: the mean burst must be at least loss/(1-loss) = %.3f",
			imp.BurstLen, imp.Loss, imp.Loss/(1-imp.Loss))
	case imp.Delay < 0 || imp.Jitter < 0:
		return errors.New("netsim: delay and jitter must not be negative")
	case imp.Delay+imp.Jitter > MaxLatency:
		return fmt.Errorf("netsim: delay plus jitter is over %v", MaxLatency)
	case imp.JitterDist != Uniform && imp.JitterDist != Normal:
		return fmt.Errorf("netsim: unknown jitter distribution %d", imp.JitterDist)
	case imp.RateBits < 0 || imp.QueueBytes < 0:
		return errors.New("netsim: rate and queue must not be negative")
	}
	return nil
}

// queueBytes is the tail-drop limit in force for imp's rate cap.
func (imp Impairment) queueBytes() int64 {
	if imp.QueueBytes > 0 {
		return int64(imp.QueueBytes)
	}
	q := imp.RateBits / 8 * int64(DefaultQueueTime) / int64(time.Second)
	return max(q, MinQueueBytes)
}

// Config is a relay's two directions and its random seed.
type Config struct {
	// Up impairs client to server, Down server to client.
	Up, Down Impairment
	// Seed seeds the random source of every draw (loss, jitter), so a test
	// that sends the same packets in the same order sees the same fates.
	Seed uint64
}

// Validate says what is wrong with either direction, if anything.
func (c Config) Validate() error {
	if err := c.Up.Validate(); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	if err := c.Down.Validate(); err != nil {
		return fmt.Errorf("down: %w", err)
	}
	return nil
}
