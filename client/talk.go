package client

// Talking: while the client holds the floor (or is forced to send), one
// goroutine makes a frame every 20 ms, encrypts it under the client's
// current epoch (the e2ee.Sender keys.go switches to after a rotation) and
// sends it as the next RTP packet of its microphone track. The frame
// counter runs on across epochs: a listener sees one stream.

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"sotto/e2ee"
)

const (
	frameInterval   = 20 * time.Millisecond
	samplesPerFrame = 48000 / 50 // RTP timestamp units per 20 ms frame
	opusPayloadType = 111
)

// mic is the client's outgoing stream: its track and RTP numbering.
type mic struct {
	track *webrtc.TrackLocalStaticRTP
	snd   *atomic.Pointer[e2ee.Sender] // the current epoch's; nil once erased
	sid   uint32

	mu     sync.Mutex
	seq    uint16
	ts     uint32
	n      uint32    // the next frame's counter
	lastAt time.Time // when the last frame went
	plain  []byte
	enc    []byte

	sent atomic.Uint64
}

func newMic(snd *atomic.Pointer[e2ee.Sender], sid uint32) (*mic, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(opusCapability, "mic", "sotto")
	if err != nil {
		return nil, err
	}
	// Random starting points, as RFC 3550 asks and browsers do.
	return &mic{track: track, snd: snd, sid: sid, seq: uint16(rand.Uint32()), ts: rand.Uint32()}, nil
}

// send encrypts and sends the next frame. The first frame of a talkspurt
// carries the marker bit, and its timestamp moves on by the time since the
// previous frame, as a real microphone's clock would have.
func (m *mic) send(spurt bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	snd := m.snd.Load()
	if snd == nil {
		return e2ee.ErrKeyPairErased // the membership is over: nothing goes out
	}
	now := time.Now()
	if !m.lastAt.IsZero() {
		step := uint32(1)
		if spurt {
			step = max(1, uint32(now.Sub(m.lastAt)/frameInterval))
		}
		m.seq++
		m.ts += step * samplesPerFrame
	}
	m.lastAt = now
	n := m.n
	m.n++
	m.plain = appendFrame(m.plain[:0], m.sid, n)
	enc, err := snd.Encrypt(m.enc[:0], m.plain)
	if err != nil {
		return err // never send anything but a good encrypted frame
	}
	m.enc = enc
	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: m.seq, Timestamp: m.ts, Marker: spurt},
		Payload: enc,
	}
	if err := m.track.WriteRTP(&pkt); err != nil {
		return err
	}
	m.sent.Add(1)
	return nil
}

// talk sends a frame every 20 ms until stop is closed.
func (c *Client) talk(m *mic, stop chan struct{}) {
	t := time.NewTicker(frameInterval)
	defer t.Stop()
	for spurt := true; ; spurt = false {
		select {
		case <-stop:
			return
		default:
		}
		_ = m.send(spurt)
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// updateTalkLocked starts or stops the talk goroutine to match the state:
// in the room, media set up, and holding the floor or forced. Called with
// c.mu held.
func (c *Client) updateTalkLocked() {
	want := c.state == inside && c.mic != nil && (c.forced || c.holder != "" && c.holder == c.self)
	if !want {
		c.stopTalkLocked()
		return
	}
	if c.talkStop == nil {
		stop, m := make(chan struct{}), c.mic
		if c.spawnLocked(func() { c.talk(m, stop) }) {
			c.talkStop = stop
		}
	}
}

// stopTalkLocked stops the talk goroutine, if one runs. It does not wait:
// Close does. Called with c.mu held.
func (c *Client) stopTalkLocked() {
	if c.talkStop != nil {
		close(c.talkStop)
		c.talkStop = nil
	}
}

// Sent returns how many frames the client has sent.
func (c *Client) Sent() uint64 {
	c.mu.Lock()
	m := c.mic
	c.mu.Unlock()
	if m == nil {
		return 0
	}
	return m.sent.Load()
}

// Talking reports whether the client is sending frames now.
func (c *Client) Talking() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.talkStop != nil
}
