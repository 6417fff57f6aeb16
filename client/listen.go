package client

// Listening: the floor track carries whoever holds the floor. Each packet's
// payload is decrypted with the client's e2ee.Receiver (the epochs its key
// ring holds), and checked: which sender (the sid in the KID), which of its
// frames (counter, running on across the sender's epochs), in order, bit
// for bit.

import (
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"sotto/e2ee"
)

// Stats counts what the floor track delivered.
type Stats struct {
	Packets    uint64 // RTP packets read
	Decrypted  uint64 // frames that authenticated and decrypted
	Failed     uint64 // frames that did not (dropped, as a browser drops them)
	AuthFailed uint64 // of Failed: failed authentication (a wrong key)
	UnknownKID uint64 // of Failed: from a KID (sender and epoch) whose key this client does not hold
	OutOfOrder uint64 // decrypted frames whose counter was not above their sender's previous one
	Corrupt    uint64 // decrypted frames that are not what their sender made
}

// SenderStats counts what the floor track delivered from one sender (the
// sid of the KID read from the SFrame header), over all its epochs.
type SenderStats struct {
	Packets    uint64
	Decrypted  uint64
	Failed     uint64
	OutOfOrder uint64
	Corrupt    uint64
	First      uint32 // lowest and highest frame counter decrypted
	Last       uint32
	FirstAt    time.Time // when the first frame decrypted
}

// Lost returns how many frames between First and Last did not decrypt.
func (s SenderStats) Lost() uint64 {
	if s.Decrypted == 0 {
		return 0
	}
	span := uint64(s.Last-s.First) + 1
	if span < s.Decrypted {
		return 0
	}
	return span - s.Decrypted
}

// Packet is one packet the floor track delivered (Config.Record).
type Packet struct {
	At     time.Time
	Seq    uint16
	TS     uint32
	SSRC   uint32
	Marker bool
	KID    uint64 // from the SFrame header (0 if it did not parse): sender and epoch
	SID    uint32 // the sender's sid, from the KID
	N      uint32 // the sender's frame counter, if it decrypted
	Err    string // "" if it decrypted, else the e2ee error code
	Intact bool   // decrypted to exactly what its sender made
}

type listener struct {
	rcv     *e2ee.Receiver
	record  bool
	onFrame func([]byte) // Config.OnFrame

	mu   sync.Mutex
	st   Stats
	per  map[uint32]*SenderStats
	pkts []Packet
}

func newListener(rcv *e2ee.Receiver, record bool, onFrame func([]byte)) *listener {
	return &listener{rcv: rcv, record: record, onFrame: onFrame, per: make(map[uint32]*SenderStats)}
}

// onTrack runs, in pion's goroutine, for the floor track.
func (c *Client) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if !c.enter() {
		return
	}
	defer c.wg.Done()
	c.mu.Lock()
	c.spawnLocked(func() { drain(recv.Read) }) // the server's sender reports
	c.mu.Unlock()

	buf := make([]byte, 1500)
	plain := make([]byte, 0, 1500)
	var p rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		c.ears.packet(&p, plain[:0], time.Now())
	}
}

// packet decrypts and checks one packet.
func (l *listener) packet(p *rtp.Packet, plain []byte, at time.Time) {
	rec := Packet{At: at, Seq: p.SequenceNumber, TS: p.Timestamp, SSRC: p.SSRC, Marker: p.Marker}
	var kid uint64
	if len(p.Payload) > 1 {
		kid, _, _, _ = e2ee.ParseHeader(p.Payload[1:])
	}
	sid, _, _ := e2ee.SplitKID(kid)
	rec.KID, rec.SID = kid, sid
	if l.onFrame != nil {
		l.onFrame(p.Payload)
	}
	out, err := l.rcv.Decrypt(plain, p.Payload)
	if err == nil {
		rec.N, rec.Intact = checkFrame(sid, out)
	} else {
		rec.Err = e2ee.Code(err)
		if rec.Err == "" {
			rec.Err = "error"
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.per[sid]
	if s == nil {
		s = new(SenderStats)
		l.per[sid] = s
	}
	l.st.Packets++
	s.Packets++
	switch {
	case err != nil:
		l.st.Failed++
		s.Failed++
		switch rec.Err {
		case "auth":
			l.st.AuthFailed++
		case "unknown-kid":
			l.st.UnknownKID++
		}
	default:
		if !rec.Intact {
			l.st.Corrupt++
			s.Corrupt++
		}
		switch {
		case s.Decrypted == 0:
			s.First, s.Last, s.FirstAt = rec.N, rec.N, at
		case rec.N <= s.Last:
			l.st.OutOfOrder++
			s.OutOfOrder++
			s.First = min(s.First, rec.N)
		default:
			s.Last = rec.N
		}
		l.st.Decrypted++
		s.Decrypted++
	}
	if l.record {
		l.pkts = append(l.pkts, rec)
	}
}

// Stats returns what the client has heard so far.
func (c *Client) Stats() Stats {
	c.ears.mu.Lock()
	defer c.ears.mu.Unlock()
	return c.ears.st
}

// From returns what the client has heard from the sender with sid (see
// SID), over all its epochs.
func (c *Client) From(sid uint32) SenderStats {
	c.ears.mu.Lock()
	defer c.ears.mu.Unlock()
	if s := c.ears.per[sid]; s != nil {
		return *s
	}
	return SenderStats{}
}

// Packets returns a copy of every packet recorded (Config.Record).
func (c *Client) Packets() []Packet {
	c.ears.mu.Lock()
	defer c.ears.mu.Unlock()
	return append([]Packet(nil), c.ears.pkts...)
}
