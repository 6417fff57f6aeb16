package netsim

import "sync/atomic"

// DirStats counts what one direction did, in packets (UDP) or chunks (TCP,
// as read from the socket; Bytes counts the bytes).
type DirStats struct {
	Forwarded uint64 // sent on
	Bytes     uint64 // bytes sent on
	Blocked   uint64 // dropped by Block
	Lost      uint64 // dropped by the loss model (UDP)
	TailDrop  uint64 // dropped by the rate cap's full queue (UDP)
	Overflow  uint64 // dropped because MaxPending packets already waited (UDP)
	NoClient  uint64 // dropped on arrival: a new source past MaxClients (UDP, up only)
	Retrans   uint64 // chunks the loss model hit, delayed by TCPRetransmitDelay instead (TCP)
	WriteErr  uint64 // the send failed
}

// Stats is a relay's counters at one moment.
type Stats struct {
	Up, Down DirStats
	Clients  int    // UDP: client sources now mapped; TCP: connections open
	Rebinds  uint64 // UDP: Rebind calls that took effect
}

// dirCounters is DirStats as it is counted, concurrently.
type dirCounters struct {
	forwarded, bytes, blocked, lost, tailDrop, overflow, noClient, retrans, writeErr atomic.Uint64
}

func (c *dirCounters) snapshot() DirStats {
	return DirStats{
		Forwarded: c.forwarded.Load(),
		Bytes:     c.bytes.Load(),
		Blocked:   c.blocked.Load(),
		Lost:      c.lost.Load(),
		TailDrop:  c.tailDrop.Load(),
		Overflow:  c.overflow.Load(),
		NoClient:  c.noClient.Load(),
		Retrans:   c.retrans.Load(),
		WriteErr:  c.writeErr.Load(),
	}
}

// sent counts one send of n bytes, or its failure.
func (c *dirCounters) sent(n int, err error) {
	if err != nil {
		c.writeErr.Add(1)
		return
	}
	c.forwarded.Add(1)
	c.bytes.Add(uint64(n))
}
