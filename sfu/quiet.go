package sfu

// Quiet reports: RTCP only when there is something to report.
//
// pion's report interceptors send a sender report for every outgoing stream
// and a receiver report for every incoming one each interval, whether or not
// a packet moved. In a push-to-talk room almost every stream is silent almost
// all the time, so those reports would be most of an idle member's traffic.
// This interceptor sits below them and drops a report that says nothing new:
// a sender report whose packet count has not changed (RFC 3550 §6.4: only
// active senders send SRs), a receiver report about a stream that has
// received nothing since the last one. Reports resume with the next packet.

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

type quietFactory struct{}

func (quietFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &quiet{sent: map[uint32]uint32{}, heard: map[uint32]uint32{}}, nil
}

type quiet struct {
	interceptor.NoOp
	mu    sync.Mutex
	sent  map[uint32]uint32 // our SSRC -> packet count in the last SR sent
	heard map[uint32]uint32 // remote SSRC -> highest sequence number in the last RR sent
}

func (q *quiet) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		var keep []rtcp.Packet
		q.mu.Lock()
		for _, p := range pkts {
			if q.news(p) {
				keep = append(keep, p)
			}
		}
		q.mu.Unlock()
		if len(keep) == 0 {
			return 0, nil
		}
		return w.Write(keep, a)
	})
}

// news reports whether p should go out, and remembers what it said.
// Anything but a plain report always goes.
func (q *quiet) news(p rtcp.Packet) bool {
	switch p := p.(type) {
	case *rtcp.SenderReport:
		last, ok := q.sent[p.SSRC]
		if (ok && last == p.PacketCount) || (!ok && p.PacketCount == 0) {
			return false
		}
		q.sent[p.SSRC] = p.PacketCount
	case *rtcp.ReceiverReport:
		if len(p.Reports) != 1 {
			return true
		}
		r := p.Reports[0]
		last, ok := q.heard[r.SSRC]
		if (ok && last == r.LastSequenceNumber) || (!ok && r.LastSequenceNumber == 0 && r.TotalLost == 0) {
			return false
		}
		q.heard[r.SSRC] = r.LastSequenceNumber
	}
	return true
}
