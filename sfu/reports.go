package sfu

// RTCP sender and receiver reports, only about streams that moved.
//
// Every connection reports on what it sends (a sender report per outgoing
// stream: how many packets, and which RTP time is which wall-clock time) and
// on what it receives (a reception report block per incoming stream: loss,
// jitter, the last sender report heard), RFC 3550 §6.4. In a push-to-talk
// room almost every stream is silent almost all the time, and a report that
// says nothing new is not sent (RFC 3550 §6.4: only active senders send
// SRs). So this interceptor counts packets as they pass, and the SFU's one
// report clock (reportwheel.go) visits a connection only while its packets
// move: a silent member costs nothing between packets, neither a goroutine
// nor a timer. It replaces pion's report interceptors, which tick per
// connection, and the filter that dropped their empty reports.
//
// The counters follow RFC 3550 Appendix A: A.1 and A.3 for the extended
// highest sequence number and loss, A.8 for jitter.

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const (
	// maxTotalLost is the largest cumulative loss a report block carries:
	// the field is a signed 24-bit number (RFC 3550 §6.4.1), and a
	// duplicate-heavy stream's negative loss is reported as 0.
	maxTotalLost = 1<<23 - 1
	// ntpUnixOffset is the seconds from the NTP epoch (1900) to the Unix
	// epoch (1970), for the sender report's wall-clock time.
	ntpUnixOffset = 2208988800
	// rtcpSR is the RTCP packet type of a sender report.
	rtcpSR = 200
)

// reportsFactory makes each connection's reports interceptor, all on the
// SFU's one wheel.
type reportsFactory struct{ wheel *reportWheel }

func (f reportsFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return newReports(f.wheel), nil
}

// reports is one connection's report interceptor.
type reports struct {
	interceptor.NoOp
	wheel *reportWheel
	// ssrc is the sender SSRC of our receiver reports, random per
	// connection as RFC 3550 §8 has it.
	ssrc uint32

	// scheduled: on the wheel or about to be. A packet that finds it false
	// puts the connection on the wheel.
	scheduled atomic.Bool
	closed    atomic.Bool
	slot      int // the wheel's slot holding it, -1 if none; guarded by wheel.mu

	mu     sync.Mutex
	writer interceptor.RTCPWriter
	sent   map[uint32]*sentStream  // by our SSRC
	heard  map[uint32]*heardStream // by the member's SSRC
}

func newReports(w *reportWheel) *reports {
	return &reports{
		wheel: w, ssrc: rand.Uint32(), slot: -1,
		sent: map[uint32]*sentStream{}, heard: map[uint32]*heardStream{},
	}
}

// touch puts the connection on the wheel if a packet finds it off.
func (r *reports) touch() {
	if !r.scheduled.Load() && r.scheduled.CompareAndSwap(false, true) {
		r.wheel.add(r, firstReportSlots)
	}
}

func (r *reports) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	r.mu.Lock()
	r.writer = w
	r.mu.Unlock()
	return w
}

// BindLocalStream counts what the connection sends on a stream, for its
// sender reports.
func (r *reports) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	s := &sentStream{clockRate: float64(info.ClockRate)}
	r.mu.Lock()
	r.sent[info.SSRC] = s
	r.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		s.sent(h, len(payload), time.Now())
		r.touch()
		return w.Write(h, payload, a)
	})
}

func (r *reports) UnbindLocalStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.sent, info.SSRC)
	r.mu.Unlock()
}

// BindRemoteStream counts what the connection receives on a stream, for
// its receiver reports. It reads the two header fields it needs from the
// packet's bytes: no parse, no allocation per packet.
func (r *reports) BindRemoteStream(info *interceptor.StreamInfo, rd interceptor.RTPReader) interceptor.RTPReader {
	s := &heardStream{clockRate: float64(info.ClockRate)}
	r.mu.Lock()
	r.heard[info.SSRC] = s
	r.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := rd.Read(b, a)
		if err == nil && n >= 12 && b[0]>>6 == 2 {
			s.heard(binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]), time.Now())
			r.touch()
		}
		return n, a, err
	})
}

func (r *reports) UnbindRemoteStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.heard, info.SSRC)
	r.mu.Unlock()
}

// BindRTCPReader notes the sender reports the member sends, whose time our
// receiver reports echo (LSR and DLSR: the member's round-trip time). It
// walks the compound packet's headers instead of parsing it: the member's
// own receiver reports come every few seconds even when it is silent.
func (r *reports) BindRTCPReader(rd interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := rd.Read(b, a)
		if err != nil {
			return n, a, err
		}
		var now time.Time
		for p := b[:n]; len(p) >= 4 && p[0]>>6 == 2; {
			size := (int(binary.BigEndian.Uint16(p[2:])) + 1) * 4
			if size > len(p) {
				break
			}
			if p[1] == rtcpSR && size >= 28 {
				if now.IsZero() {
					now = time.Now()
				}
				r.mu.Lock()
				s := r.heard[binary.BigEndian.Uint32(p[4:])]
				r.mu.Unlock()
				if s != nil {
					s.senderReport(binary.BigEndian.Uint64(p[8:]), now)
				}
			}
			p = p[size:]
		}
		return n, a, err
	})
}

// Close takes the connection off the wheel.
func (r *reports) Close() error {
	r.closed.Store(true)
	r.wheel.remove(r)
	return nil
}

// visit sends the reports that have news and reports whether the
// connection stays on the wheel: while its media moves. The wheel calls it
// once per rtcpReportInterval.
func (r *reports) visit(now time.Time) bool {
	if r.closed.Load() {
		return false
	}
	if pkts := r.build(now); len(pkts) > 0 {
		r.mu.Lock()
		w := r.writer
		r.mu.Unlock()
		if w != nil {
			// An error is a closed or failed connection: its Close
			// takes it off the wheel.
			_, _ = w.Write(pkts, nil)
		}
		return true
	}
	// Nothing moved: off the wheel. A packet counted after build but
	// before this store saw scheduled true and did not put it back, so
	// look again.
	r.scheduled.Store(false)
	return r.news() && r.scheduled.CompareAndSwap(false, true)
}

// build returns a sender report for each stream that sent since its last
// one, then one receiver report with a block for each stream that received
// since its last one.
func (r *reports) build(now time.Time) []rtcp.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	var pkts []rtcp.Packet
	for ssrc, s := range r.sent {
		if sr, ok := s.report(ssrc, now); ok {
			pkts = append(pkts, sr)
		}
	}
	var rr *rtcp.ReceiverReport
	for ssrc, s := range r.heard {
		if b, ok := s.report(ssrc, now); ok {
			if rr == nil {
				rr = &rtcp.ReceiverReport{SSRC: r.ssrc}
				pkts = append(pkts, rr)
			}
			rr.Reports = append(rr.Reports, b)
		}
	}
	return pkts
}

// news reports whether any stream moved since its last report.
func (r *reports) news() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sent {
		if s.news() {
			return true
		}
	}
	for _, s := range r.heard {
		if s.news() {
			return true
		}
	}
	return false
}

// sentStream is what a sender report says about one outgoing stream.
type sentStream struct {
	clockRate float64

	mu       sync.Mutex
	started  bool
	packets  uint32 // sent, resends included (RFC 3550 §6.4.1)
	octets   uint32 // payload octets sent
	lastSeq  uint16
	lastTS   uint32    // RTP timestamp of the newest packet sent
	lastAt   time.Time // when it was sent
	reported uint32    // packets as of the last sender report
}

func (s *sentStream) sent(h *rtp.Header, size int, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only a newer packet moves the clock mapping: a resent old one
	// (nack.go) carries an old timestamp.
	if !s.started || int16(h.SequenceNumber-s.lastSeq) > 0 {
		s.started, s.lastSeq, s.lastTS, s.lastAt = true, h.SequenceNumber, h.Timestamp, now
	}
	s.packets++
	s.octets += uint32(size)
}

func (s *sentStream) news() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && s.packets != s.reported
}

// report returns the stream's sender report, if it sent since the last.
// The RTP time is the newest packet's, advanced by the time since it left.
func (s *sentStream) report(ssrc uint32, now time.Time) (*rtcp.SenderReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.packets == s.reported {
		return nil, false
	}
	s.reported = s.packets
	return &rtcp.SenderReport{
		SSRC:        ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     s.lastTS + uint32(int64(now.Sub(s.lastAt).Seconds()*s.clockRate)),
		PacketCount: s.packets,
		OctetCount:  s.octets,
	}, true
}

// ntpTime is t as an NTP timestamp: seconds since 1900 in the high 32 bits,
// the fraction of a second in the low.
func ntpTime(t time.Time) uint64 {
	return uint64(t.Unix()+ntpUnixOffset)<<32 | uint64(t.Nanosecond())<<32/uint64(time.Second)
}

// heardStream is what a reception report block says about one incoming
// stream.
type heardStream struct {
	clockRate float64

	mu       sync.Mutex
	started  bool
	base     uint32 // first sequence number
	cycles   uint32 // sequence number wraps, times 65536
	maxSeq   uint16 // highest sequence number
	received uint32 // packets, duplicates included (RFC 3550 A.3)
	jitter   float64
	lastTS   uint32    // RTP timestamp of the last packet to arrive
	lastAt   time.Time // its arrival
	lastSR   uint32    // middle 32 bits of the last sender report's NTP time
	lastSRAt time.Time // its arrival

	expectedPrior, receivedPrior uint32 // as of the last report
}

func (s *heardStream) heard(seq uint16, ts uint32, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started, s.base, s.maxSeq, s.received = true, uint32(seq), seq, 1
		s.lastTS, s.lastAt = ts, now
		return
	}
	s.received++
	if d := seq - s.maxSeq; d != 0 && d < 1<<15 { // newer, maybe after a gap
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	}
	// Interarrival jitter (A.8): the change in transit time between this
	// packet and the one that arrived before it, in RTP units, smoothed.
	d := now.Sub(s.lastAt).Seconds()*s.clockRate - float64(int32(ts-s.lastTS))
	if d < 0 {
		d = -d
	}
	s.jitter += (d - s.jitter) / 16
	s.lastTS, s.lastAt = ts, now
}

func (s *heardStream) senderReport(ntp uint64, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSR, s.lastSRAt = uint32(ntp>>16), now
}

func (s *heardStream) news() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && s.received != s.receivedPrior
}

// report returns the stream's reception report block, if it received since
// the last (A.3).
func (s *heardStream) report(ssrc uint32, now time.Time) (rtcp.ReceptionReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.received == s.receivedPrior {
		return rtcp.ReceptionReport{}, false
	}
	highest := s.cycles | uint32(s.maxSeq)
	expected := highest - s.base + 1
	expInterval := expected - s.expectedPrior
	lostInterval := int64(expInterval) - int64(s.received-s.receivedPrior)
	s.expectedPrior, s.receivedPrior = expected, s.received
	b := rtcp.ReceptionReport{
		SSRC:               ssrc,
		LastSequenceNumber: highest,
		TotalLost:          uint32(min(max(int64(expected)-int64(s.received), 0), maxTotalLost)),
		Jitter:             uint32(s.jitter),
		LastSenderReport:   s.lastSR,
	}
	if expInterval > 0 && lostInterval > 0 {
		b.FractionLost = uint8(min(lostInterval<<8/int64(expInterval), 255))
	}
	if !s.lastSRAt.IsZero() {
		b.Delay = uint32(now.Sub(s.lastSRAt).Seconds() * 65536)
	}
	return b, true
}
