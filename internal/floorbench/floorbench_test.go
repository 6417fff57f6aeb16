package floorbench

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// TestMain lets Run's re-execution of this test binary become a child
// process, as cmd/floor's ChildFlag does.
func TestMain(m *testing.M) {
	for _, a := range os.Args[1:] {
		if role, ok := strings.CutPrefix(a, "-"+ChildFlag+"="); ok {
			if err := ServeChild(role, os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// small is a short run both modes can deliver in full on a loaded machine:
// 3 listeners hear 25 frames after the warm-up's 10.
func small(mode string) Options {
	return Options{Rooms: 1, Listeners: 3, PPS: DefaultPPS, Payload: DefaultPayload, Duration: 500 * time.Millisecond, Mode: mode}
}

func TestMeasureDeliversEveryPacketBitExact(t *testing.T) {
	for _, mode := range Modes {
		t.Run(mode, func(t *testing.T) {
			o := small(mode)
			r, err := Measure(o)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.Report())
			frames := uint64(o.packets())
			perFrame := uint64(o.Rooms * o.Listeners)
			if r.Packets != frames*perFrame || r.Sent != (frames+warmupPackets)*perFrame {
				t.Errorf("sent %d packets (%d measured), want %d (%d)",
					r.Sent, r.Packets, (frames+warmupPackets)*perFrame, frames*perFrame)
			}
			if r.Delivered != r.Sent || r.Received != r.Sent || r.Broken != 0 || r.Reordered != 0 || r.Silent != 0 {
				t.Errorf("receivers got %+v of %d packets, want all delivered intact and in order", r.Counts, r.Sent)
			}
			if r.Delivery() != 1 {
				t.Errorf("delivery %v, want 1", r.Delivery())
			}
			if r.USPerPacket() <= 0 || r.Wall < o.Duration*9/10 {
				t.Errorf("%v us/pkt over %v: the window was not measured", r.USPerPacket(), r.Wall)
			}
			switch {
			case mode == ModeSendto && r.Calls != r.Packets:
				t.Errorf("sendto: %d calls for %d packets, want one each", r.Calls, r.Packets)
			case mode == ModeSendmmsg && runtime.GOOS == "linux" && r.Calls != frames:
				// One call per talker frame: the fan-out is far below maxBatch.
				t.Errorf("sendmmsg: %d calls for %d packets of %d frames, want one per frame", r.Calls, r.Packets, frames)
			}
		})
	}
}

func TestRunReturnsTheFloor(t *testing.T) {
	us, delivery, err := Run(small(ModeSendmmsg))
	if err != nil {
		t.Fatal(err)
	}
	if us <= 0 || delivery != 1 {
		t.Errorf("Run: %v us/pkt, delivery %v; want a positive cost and full delivery", us, delivery)
	}
}

func TestOptionsRefuseWhatIsNotAMeasurement(t *testing.T) {
	good := DefaultOptions(ModeSendto)
	if err := good.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, change := range map[string]func(*Options){
		"no rooms":        func(o *Options) { o.Rooms = 0 },
		"too many rooms":  func(o *Options) { o.Rooms = maxRooms + 1 },
		"no listeners":    func(o *Options) { o.Listeners = 0 },
		"no pps":          func(o *Options) { o.PPS = 0 },
		"too fast":        func(o *Options) { o.PPS = maxPPS + 1 },
		"tiny payload":    func(o *Options) { o.Payload = minPayload - 1 },
		"huge payload":    func(o *Options) { o.Payload = maxPayload + 1 },
		"no duration":     func(o *Options) { o.Duration = 0 },
		"under one frame": func(o *Options) { o.Duration = o.interval() / 2 },
		"unknown mode":    func(o *Options) { o.Mode = "writev" },
	} {
		o := good
		change(&o)
		if err := o.validate(); err == nil {
			t.Errorf("%s: %+v accepted", name, o)
		}
	}
}

// protector makes one listener's packets the way the sender does.
type protector struct {
	t      *testing.T
	ctx    *srtp.Context
	tsStep uint32
}

func (p *protector) packet(room int, n uint32, seq uint16, ssrc uint32, payload int) []byte {
	p.t.Helper()
	plain := make([]byte, rtpHeaderLen+payload)
	putHeader(plain, seq, uint32(n)*p.tsStep, ssrc)
	fillPayload(plain[rtpHeaderLen:], room, n)
	var h rtp.Header
	pkt, err := p.ctx.EncryptRTP(nil, plain, &h)
	if err != nil {
		p.t.Fatal(err)
	}
	return pkt
}

func TestCheckCatchesDamageAndDisorder(t *testing.T) {
	o := Options{Rooms: 2, Listeners: 2, PPS: DefaultPPS, Payload: DefaultPayload, Duration: time.Second, Mode: ModeSendto}
	ls, err := newListeners(o)
	if err != nil {
		t.Fatal(err)
	}
	const tsStep = rtpClockRate / DefaultPPS
	mine, other := ls[2], ls[3] // two listeners of room 1
	newProtector := func(l listener) *protector {
		ctx, err := l.context()
		if err != nil {
			t.Fatal(err)
		}
		return &protector{t: t, ctx: ctx, tsStep: tsStep}
	}
	p, q := newProtector(mine), newProtector(other)
	b, err := newInbox(mine, o.Payload, tsStep)
	if err != nil {
		t.Fatal(err)
	}
	var seq0 uint16 = 65530 // the sequence number wraps during the test
	flipped := p.packet(1, 9, seq0+9, mine.SSRC, o.Payload)
	flipped[rtpHeaderLen+5] ^= 1
	for _, c := range []struct {
		name string
		pkt  []byte
		want verdict
	}{
		{"frame 0", p.packet(1, 0, seq0, mine.SSRC, o.Payload), good},
		{"frame 1", p.packet(1, 1, seq0+1, mine.SSRC, o.Payload), good},
		{"frame 1 again", p.packet(1, 1, seq0+1, mine.SSRC, o.Payload), reordered},
		{"frame 0 late", p.packet(1, 0, seq0, mine.SSRC, o.Payload), reordered},
		{"a bit flipped in transit", flipped, broken},
		{"another listener's key", q.packet(1, 9, seq0+9, other.SSRC, o.Payload), broken},
		{"another listener's SSRC", p.packet(1, 9, seq0+9, other.SSRC, o.Payload), broken},
		{"another room's frame", p.packet(0, 9, seq0+9, mine.SSRC, o.Payload), broken},
		{"a shorter payload", p.packet(1, 9, seq0+9, mine.SSRC, o.Payload-1), broken},
		{"a header out of step", p.packet(1, 9, seq0+5, mine.SSRC, o.Payload), broken},
		{"not SRTP at all", make([]byte, rtpHeaderLen+o.Payload), broken},
		{"frame 9 after losing 2 to 8", p.packet(1, 9, seq0+9, mine.SSRC, o.Payload), good},
		{"frame 10", p.packet(1, 10, seq0+10, mine.SSRC, o.Payload), good},
	} {
		if got := b.check(c.pkt); got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.name, got, c.want)
		}
	}
}
