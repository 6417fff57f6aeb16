package netsim

import "time"

// tokenBucket caps a link at a rate in bits per second with a tail-drop
// queue. Tokens (bytes) accrue at the rate up to BucketBytes; a packet takes
// its size in tokens. Tokens below zero are the queue: bytes admitted that
// wait for the rate, so a packet leaves once the tokens it took are paid
// back, after -tokens/rate. It reads no clock: callers pass the time, so
// tests drive it with simulated time.
type tokenBucket struct {
	tokens float64 // bytes; negative is the backlog
	last   time.Time
}

// admit takes size bytes at now under rate (bits/s) and queue limit
// (bytes). It returns how long the packet waits for the rate, or ok false
// when the backlog would exceed the queue (tail drop).
func (b *tokenBucket) admit(now time.Time, size int, rateBits, queue int64) (wait time.Duration, ok bool) {
	bytesPerSec := float64(rateBits) / 8
	if b.last.IsZero() {
		b.tokens = BucketBytes
	} else if el := now.Sub(b.last); el > 0 {
		b.tokens = min(BucketBytes, b.tokens+el.Seconds()*bytesPerSec)
	}
	b.last = now
	after := b.tokens - float64(size)
	if after < 0 && -after > float64(queue) {
		return 0, false
	}
	b.tokens = after
	if after >= 0 {
		return 0, true
	}
	return time.Duration(-after / bytesPerSec * float64(time.Second)), true
}
