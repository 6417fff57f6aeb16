package floorbench

// The sender: the send path of an SFU with everything else taken away. It
// runs in a process of its own (ServeChild's "sender" role) so that the CPU
// time it reads from getrusage is this path's alone.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"golang.org/x/net/ipv4"

	"sotto/internal/procstat"
)

const (
	// maxBatch is the most messages one sendmmsg takes: Linux clamps its
	// vlen to UIO_MAXIOV. A larger fan-out goes in several calls.
	maxBatch = 1024
	// warmupPackets is how many packets each talker sends before the
	// measured window, so that first-use costs (the SRTP contexts' per-SSRC
	// state, x/net's sendmmsg buffers, the first page faults) fall outside
	// it, as loadgen's warm-up keeps join costs out of its figures.
	warmupPackets = 10
)

// errNoProgress is a sendmmsg that sent nothing and reported no error:
// retrying it could spin forever.
var errNoProgress = errors.New("floorbench: sendmmsg sent no message")

// senderConfig is what the parent tells the sender process.
type senderConfig struct {
	Options   Options    `json:"options"`
	Listeners []listener `json:"listeners"`
}

// senderResult is what the sender process reports: counts and its own
// resource use over the measured window.
type senderResult struct {
	Sent    uint64        `json:"sent"`    // packets sent in all, warm-up included
	Packets uint64        `json:"packets"` // packets sent in the measured window
	Calls   uint64        `json:"calls"`   // send system calls in the measured window
	User    time.Duration `json:"user"`    // CPU time in the window
	Sys     time.Duration `json:"sys"`
	Wall    time.Duration `json:"wall"`    // the window's length
	Mallocs uint64        `json:"mallocs"` // heap allocations in the window
}

// destination is one listener as the sender knows it.
type destination struct {
	ctx  *srtp.Context
	ssrc uint32
	seq  uint16
	ts   uint32
	addr netip.AddrPort
	hdr  rtp.Header // EncryptRTP's scratch, kept to spare an allocation a packet
	buf  []byte     // the protected packet, reused for every packet
}

// fanout is one room: its talker's packet and where it goes.
type fanout struct {
	room  int
	plain []byte // RTP header and payload, rewritten in place for each listener
	dests []*destination
	msgs  []ipv4.Message // sendmmsg's batch, one message per listener
}

// sender holds the one UDP socket every packet leaves from, as an SFU's
// single-port mode sends everything from one.
type sender struct {
	mode     string
	interval time.Duration
	tsStep   uint32
	conn     *net.UDPConn
	batch    *ipv4.PacketConn
	rooms    []*fanout
}

func newSender(cfg senderConfig) (*sender, error) {
	o := cfg.Options
	if err := o.validate(); err != nil {
		return nil, err
	}
	if len(cfg.Listeners) != o.Rooms*o.Listeners {
		return nil, fmt.Errorf("floorbench: %d listeners for %d rooms of %d", len(cfg.Listeners), o.Rooms, o.Listeners)
	}
	tagLen, err := profile.AEADAuthTagLen()
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	s := &sender{
		mode: o.Mode, interval: o.interval(), tsStep: uint32(rtpClockRate / o.PPS),
		conn: conn, batch: ipv4.NewPacketConn(conn),
	}
	for r := range o.Rooms {
		f := &fanout{room: r, plain: make([]byte, rtpHeaderLen+o.Payload)}
		for _, l := range cfg.Listeners[r*o.Listeners : (r+1)*o.Listeners] {
			if l.Room != r {
				_ = conn.Close()
				return nil, fmt.Errorf("floorbench: listener of room %d among room %d's", l.Room, r)
			}
			ctx, err := l.context()
			if err != nil {
				_ = conn.Close()
				return nil, err
			}
			d := &destination{
				ctx: ctx, ssrc: l.SSRC, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), l.Port),
				buf: make([]byte, 0, len(f.plain)+tagLen),
			}
			f.dests = append(f.dests, d)
			f.msgs = append(f.msgs, ipv4.Message{
				Buffers: [][]byte{nil},
				Addr:    net.UDPAddrFromAddrPort(d.addr),
			})
		}
		s.rooms = append(s.rooms, f)
	}
	return s, nil
}

func (s *sender) Close() error { return s.conn.Close() }

// forward sends frame n of f's talker to each of f's listeners and returns
// how many send calls it made.
func (s *sender) forward(f *fanout, n uint32) (calls uint64, err error) {
	// The payload is the same for every listener: write it once, then only
	// the header per listener, as an SFU that rewrites headers in place.
	fillPayload(f.plain[rtpHeaderLen:], f.room, n)
	for i, d := range f.dests {
		putHeader(f.plain, d.seq, d.ts, d.ssrc)
		d.seq++
		d.ts += s.tsStep
		pkt, err := d.ctx.EncryptRTP(d.buf[:0], f.plain, &d.hdr)
		if err != nil {
			return calls, err
		}
		if s.mode == ModeSendmmsg {
			f.msgs[i].Buffers[0] = pkt
			continue
		}
		if _, err := s.conn.WriteToUDPAddrPort(pkt, d.addr); err != nil {
			return calls, err
		}
		calls++
	}
	if s.mode != ModeSendmmsg {
		return calls, nil
	}
	// sendmmsg may send fewer than it was given (a full socket buffer):
	// the rest go in the next call.
	for sent := 0; sent < len(f.msgs); {
		k, err := s.batch.WriteBatch(f.msgs[sent:min(sent+maxBatch, len(f.msgs))], 0)
		calls++
		if err != nil {
			return calls, err
		}
		if k == 0 {
			return calls, errNoProgress
		}
		sent += k
	}
	return calls, nil
}

// talk sends count frames of f's talker, first..first+count-1, one every
// interval on a ticker. A ticker drops the ticks of a process the machine
// did not run in time; the frames due then go with the next tick, as
// loadgen's talkers catch up on their schedule, so that the rate stays
// what it claims to be.
func (s *sender) talk(f *fanout, first uint32, count int) (calls uint64, err error) {
	start := time.Now()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for i := 0; ; {
		for due := min(count, int(time.Since(start)/s.interval)+1); i < due; i++ {
			c, err := s.forward(f, first+uint32(i))
			calls += c
			if err != nil {
				return calls, err
			}
		}
		if i == count {
			return calls, nil
		}
		<-t.C
	}
}

// talkAll runs every room's talker at once and returns the send calls they
// made. The talkers start together, as loadgen's do (its clients start them
// with back-to-back requests): each wake-up of an idle process costs
// microseconds, a context switch more on a virtual machine, so talkers spread
// over the interval would wake the sender once per talker packet where
// loadgen's SFU wakes about once per interval, and the floor would exceed
// the figure it is there to be read against.
func (s *sender) talkAll(first uint32, count int) (calls uint64, err error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, f := range s.rooms {
		wg.Go(func() {
			c, err := s.talk(f, first, count)
			mu.Lock()
			defer mu.Unlock()
			calls += c
			errs = append(errs, err)
		})
	}
	wg.Wait()
	return calls, errors.Join(errs...)
}

// run warms up, then measures count frames from every talker.
func (s *sender) run(count int) (senderResult, error) {
	perFrame := uint64(0)
	for _, f := range s.rooms {
		perFrame += uint64(len(f.dests))
	}
	if _, err := s.talkAll(0, warmupPackets); err != nil {
		return senderResult{}, fmt.Errorf("warm-up: %w", err)
	}
	runtime.GC()
	m0 := mallocs()
	u0, s0, err := procstat.CPUTime()
	if err != nil {
		return senderResult{}, err
	}
	start := time.Now()
	calls, err := s.talkAll(warmupPackets, count)
	if err != nil {
		return senderResult{}, err
	}
	wall := time.Since(start)
	u1, s1, err := procstat.CPUTime()
	if err != nil {
		return senderResult{}, err
	}
	return senderResult{
		Sent: perFrame * uint64(warmupPackets+count), Packets: perFrame * uint64(count), Calls: calls,
		User: u1 - u0, Sys: s1 - s0, Wall: wall, Mallocs: mallocs() - m0,
	}, nil
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// serveSender is the sender process: one senderConfig in, one senderResult
// out.
func serveSender(in io.Reader, out io.Writer) error {
	var cfg senderConfig
	if err := json.NewDecoder(in).Decode(&cfg); err != nil {
		return fmt.Errorf("floorbench: sender config: %w", err)
	}
	s, err := newSender(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := s.run(cfg.Options.packets())
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(res)
}
