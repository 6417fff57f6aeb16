package floorbench

// The receivers: one 127.0.0.1 socket per listener, in a process of their own
// (ServeChild's "receivers" role) so that their reads and decryption, which
// cost about what the sender's path does, stay out of the sender's figure.
// Each packet is decrypted with its listener's SRTP context and checked: the
// listener's header, moving in step with the talker's frame counter, and the
// payload bit for bit, as loadgen's clients check theirs.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// readBufLen is a receive buffer: an Ethernet MTU, larger than any packet
// the sender makes (maxPayload), so an oversized one shows as broken
// rather than cut to fit.
const readBufLen = 1500

// receiverConfig is what the parent tells the receivers process.
type receiverConfig struct {
	Payload   int        `json:"payload"` // bytes of payload in every packet
	TSStep    uint32     `json:"tsStep"`  // RTP timestamp step per frame
	Listeners []listener `json:"listeners"`
}

// receiverReady is the receivers' answer to their config: the port of each
// listener's socket, in the config's order, every socket already read.
type receiverReady struct {
	Ports []uint16 `json:"ports"`
}

// countsRequest asks the receivers for their Counts; they answer each with
// one.
type countsRequest struct{}

// Counts is what the receivers got, summed over listeners.
type Counts struct {
	Received  uint64 `json:"received"`  // datagrams read
	Delivered uint64 `json:"delivered"` // of those, intact and in order
	Broken    uint64 `json:"broken"`    // failed decryption, or not what was sent
	Reordered uint64 `json:"reordered"` // intact, but not after the listener's previous frame
	Silent    int    `json:"silent"`    // listeners that got nothing
}

// inbox is one listener's socket and what it has seen.
type inbox struct {
	conn    *net.UDPConn
	ctx     *srtp.Context
	room    int
	ssrc    uint32
	payload int
	tsStep  uint32

	received, delivered, broken, reordered atomic.Uint64

	// The reading goroutine's own: scratch, and the last good packet.
	hdr       rtp.Header
	dec, want []byte
	seen      bool
	lastN     uint32
	lastSeq   uint16
	lastTS    uint32
}

func newInbox(l listener, payload int, tsStep uint32) (*inbox, error) {
	ctx, err := l.context()
	if err != nil {
		return nil, err
	}
	return &inbox{
		ctx: ctx, room: l.Room, ssrc: l.SSRC, payload: payload, tsStep: tsStep,
		dec: make([]byte, 0, readBufLen), want: make([]byte, readBufLen),
	}, nil
}

// verdict is what check makes of one packet.
type verdict int

const (
	good verdict = iota
	broken
	reordered
)

// check judges one datagram as this listener got it.
func (b *inbox) check(pkt []byte) verdict {
	plain, err := b.ctx.DecryptRTP(b.dec[:0], pkt, &b.hdr)
	if err != nil {
		return broken
	}
	h := &b.hdr
	if h.Version != 2 || h.Padding || h.Extension || len(h.CSRC) != 0 || h.Marker ||
		h.PayloadType != opusPayloadType || h.SSRC != b.ssrc || len(plain) != rtpHeaderLen+b.payload {
		return broken
	}
	n, intact := checkPayload(plain[rtpHeaderLen:], b.room, b.want)
	if !intact {
		return broken
	}
	if b.seen {
		if n <= b.lastN {
			return reordered
		}
		// Frames lost on the way leave gaps, but the header must still
		// move in step with the counter: one sequence number and one
		// frame's worth of timestamp per frame.
		dn := n - b.lastN
		if h.SequenceNumber-b.lastSeq != uint16(dn) || h.Timestamp-b.lastTS != dn*b.tsStep {
			return broken
		}
	}
	b.seen, b.lastN, b.lastSeq, b.lastTS = true, n, h.SequenceNumber, h.Timestamp
	return good
}

// read counts and checks packets until the socket is closed.
func (b *inbox) read() {
	buf := make([]byte, readBufLen)
	for {
		n, err := b.conn.Read(buf)
		if err != nil {
			// Closed at the end; any other error ends this listener too,
			// and shows as its packets undelivered rather than as a spin.
			return
		}
		b.received.Add(1)
		switch b.check(buf[:n]) {
		case good:
			b.delivered.Add(1)
		case broken:
			b.broken.Add(1)
		case reordered:
			b.reordered.Add(1)
		}
	}
}

// serveReceivers is the receivers process: a receiverConfig in, then a
// receiverReady out once every socket is read, then Counts for each
// countsRequest until in ends.
func serveReceivers(in io.Reader, out io.Writer) error {
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	var cfg receiverConfig
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("floorbench: receivers config: %w", err)
	}
	if cfg.Payload < minPayload || cfg.Payload > maxPayload {
		return fmt.Errorf("floorbench: %d-byte payload, want %d to %d", cfg.Payload, minPayload, maxPayload)
	}
	var wg sync.WaitGroup
	boxes := make([]*inbox, 0, len(cfg.Listeners))
	defer func() {
		for _, b := range boxes {
			_ = b.conn.Close()
		}
		wg.Wait()
	}()
	ready := receiverReady{Ports: make([]uint16, 0, len(cfg.Listeners))}
	for _, l := range cfg.Listeners {
		b, err := newInbox(l, cfg.Payload, cfg.TSStep)
		if err != nil {
			return err
		}
		if b.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			return err
		}
		boxes = append(boxes, b)
		ready.Ports = append(ready.Ports, uint16(b.conn.LocalAddr().(*net.UDPAddr).Port))
		wg.Go(b.read)
	}
	if err := enc.Encode(ready); err != nil {
		return err
	}
	for {
		var req countsRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the parent is done
			}
			return fmt.Errorf("floorbench: receivers request: %w", err)
		}
		if err := enc.Encode(sum(boxes)); err != nil {
			return err
		}
	}
}

func sum(boxes []*inbox) Counts {
	var c Counts
	for _, b := range boxes {
		r := b.received.Load()
		c.Received += r
		c.Delivered += b.delivered.Load()
		c.Broken += b.broken.Load()
		c.Reordered += b.reordered.Load()
		if r == 0 {
			c.Silent++
		}
	}
	return c
}
