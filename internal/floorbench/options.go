package floorbench

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pion/srtp/v3"
)

// The send modes: how the sender hands a talker packet's fan-out to the
// kernel.
const (
	// ModeSendto makes one sendto per forwarded packet, as pion's
	// WriteRTP and most SFUs do.
	ModeSendto = "sendto"
	// ModeSendmmsg hands the whole fan-out of one talker packet to the
	// kernel in as few sendmmsg calls as it takes (one, below
	// maxBatch listeners).
	ModeSendmmsg = "sendmmsg"
)

// Modes are the send modes a Run can measure, in the order cmd/floor runs
// them.
var Modes = []string{ModeSendto, ModeSendmmsg}

// The limits of a run. Each is where the benchmark would stop measuring what
// it claims to, not a limit of the machine.
const (
	// maxPPS is the fastest talker: one packet a millisecond. Above it the
	// ticker's own wake-ups would be most of what is measured.
	maxPPS = 1000
	// minPayload holds the frame counter the receivers check order with.
	minPayload = 4
	// maxPayload keeps a packet (payload, RTP header, GCM tag) inside a
	// 1,280-byte IPv6 minimum MTU, as real media packets stay.
	maxPayload = 1200
	// maxRooms keeps every room's payload seed distinct.
	maxRooms = 1 << 16
)

// The defaults are make bench-sfu's shape: 10 rooms of one talker and 20
// listeners, Opus's 50 packets a second, a 100-byte frame, 10 seconds.
const (
	DefaultRooms     = 10
	DefaultListeners = 20
	DefaultPPS       = 50
	DefaultPayload   = 100
	DefaultDuration  = 10 * time.Second
)

// profile is what browsers negotiate for SRTP, so the sender pays the cipher
// a browser's peer pays.
const profile = srtp.ProtectionProfileAeadAes128Gcm

// Options is one measurement.
type Options struct {
	Rooms     int           `json:"rooms"`     // rooms, each with one talker
	Listeners int           `json:"listeners"` // listeners per room
	PPS       int           `json:"pps"`       // packets a second per talker
	Payload   int           `json:"payload"`   // bytes of payload per packet
	Duration  time.Duration `json:"duration"`  // how long the talkers talk (measured)
	Mode      string        `json:"mode"`      // ModeSendto or ModeSendmmsg
}

// DefaultOptions is make bench-sfu's shape in mode.
func DefaultOptions(mode string) Options {
	return Options{
		Rooms: DefaultRooms, Listeners: DefaultListeners, PPS: DefaultPPS,
		Payload: DefaultPayload, Duration: DefaultDuration, Mode: mode,
	}
}

func (o Options) validate() error {
	switch {
	case o.Rooms < 1 || o.Rooms > maxRooms:
		return fmt.Errorf("floorbench: %d rooms, want 1 to %d", o.Rooms, maxRooms)
	case o.Listeners < 1:
		return fmt.Errorf("floorbench: %d listeners per room, want at least 1", o.Listeners)
	case o.PPS < 1 || o.PPS > maxPPS:
		return fmt.Errorf("floorbench: %d packets a second, want 1 to %d", o.PPS, maxPPS)
	case o.Payload < minPayload || o.Payload > maxPayload:
		return fmt.Errorf("floorbench: %d-byte payload, want %d to %d", o.Payload, minPayload, maxPayload)
	case o.Duration <= 0:
		return fmt.Errorf("floorbench: duration %v, want more than 0", o.Duration)
	case o.packets() < 1:
		return fmt.Errorf("floorbench: %v at %d packets a second is no packet", o.Duration, o.PPS)
	case o.Mode != ModeSendto && o.Mode != ModeSendmmsg:
		return fmt.Errorf("floorbench: mode %q, want %s or %s", o.Mode, ModeSendto, ModeSendmmsg)
	}
	return nil
}

// interval is the time between one talker's packets.
func (o Options) interval() time.Duration { return time.Second / time.Duration(o.PPS) }

// packets is how many packets each talker sends in the measured window.
func (o Options) packets() int { return int(o.Duration.Seconds() * float64(o.PPS)) }

// listener is one listener as both children know it: its room, the SSRC the
// sender writes into its packets, and the SRTP master key and salt of its
// context. Port is where the receivers listen for it (sender only).
type listener struct {
	Room int    `json:"room"`
	SSRC uint32 `json:"ssrc"`
	Key  []byte `json:"key"`
	Salt []byte `json:"salt"`
	Port uint16 `json:"port,omitempty"`
}

// newListeners makes o's listeners, room by room, each with random keys
// and SSRC, as each listener's DTLS handshake would give it its own.
func newListeners(o Options) ([]listener, error) {
	keyLen, err := profile.KeyLen()
	if err != nil {
		return nil, err
	}
	saltLen, err := profile.SaltLen()
	if err != nil {
		return nil, err
	}
	out := make([]listener, 0, o.Rooms*o.Listeners)
	for r := range o.Rooms {
		for range o.Listeners {
			l := listener{Room: r, Key: make([]byte, keyLen), Salt: make([]byte, saltLen)}
			var ssrc [4]byte
			for _, b := range [][]byte{l.Key, l.Salt, ssrc[:]} {
				if _, err := rand.Read(b); err != nil {
					return nil, err
				}
			}
			l.SSRC = binary.BigEndian.Uint32(ssrc[:])
			out = append(out, l)
		}
	}
	return out, nil
}

func (l listener) context() (*srtp.Context, error) {
	return srtp.CreateContext(l.Key, l.Salt, profile)
}
