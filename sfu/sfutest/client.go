// Package sfutest is a media-only Sotto client made of a real pion
// PeerConnection, for the SFU's tests and load generator.
//
// A Client does what a browser does on the media path: it offers one sendrecv
// Opus transceiver, trickles its ICE candidates after the offer, sends
// Opus-sized "encrypted" frames (opaque bytes with a counter inside) and checks
// what its floor track delivers: order, loss, and that every payload is
// bit-for-bit what its sender made. It talks to the SFU through Server, so it
// works against the SFU in-process or through any signaling glue.
package sfutest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"sotto/room"
)

// Server is the part of the SFU's API a client needs.
type Server interface {
	Offer(ctx context.Context, roomID [16]byte, member uuid.UUID, role room.Role, sdp string,
		sendCandidate func([]byte)) (string, error)
	AddCandidate(roomID [16]byte, member uuid.UUID, candidateJSON []byte) error
}

// NewAPI returns the pion API clients share, set up to load the server the
// way a browser running the app does: Opus with NACK, RTCP sender and receiver reports every 5 s (what
// browsers do for audio), an ICE keepalive every 5 s (a browser's consent
// freshness check), loopback candidates only. tcp makes clients offer ICE-TCP
// candidates only, as a client behind a UDP-blocking firewall ends up using.
func NewAPI(tcp bool) (*webrtc.API, error) { return NewAPIWith(tcp) }

// NewAPIWith is NewAPI with extra interceptors in the clients' media path,
// after the report interceptors (an attack test rewrites what it sends).
func NewAPIWith(tcp bool, extra ...interceptor.Factory) (*webrtc.API, error) {
	return newAPI(tcp, nil, extra...)
}

// NewAPISeeingResends is NewAPI whose SRTP accepts a packet it has already
// had: the SFU's resend of a packet the client did not lose would otherwise
// be dropped by replay protection, and a test could not tell it arrived.
func NewAPISeeingResends(tcp bool) (*webrtc.API, error) {
	return newAPI(tcp, func(se *webrtc.SettingEngine) { se.DisableSRTPReplayProtection(true) })
}

// NewAPIOn is NewAPI for UDP clients whose sockets bind to ip, an IPv4
// loopback address other than 127.0.0.1 (loopbacknet.go says why).
func NewAPIOn(ip net.IP) (*webrtc.API, error) {
	n, err := newLoopbackNet(ip)
	if err != nil {
		return nil, err
	}
	return newAPI(false, func(se *webrtc.SettingEngine) { se.SetNet(n) })
}

func newAPI(tcp bool, tune func(*webrtc.SettingEngine), extra ...interceptor.Factory) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
			// As the app offers it (static/js/media.js tuneOpus).
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBNACK}},
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	// An explicit registry: without one pion installs all its default
	// interceptors (NACK, TWCC, stats), which browsers do not run for audio.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReportsWithOptions(ir,
		[]report.ReceiverOption{report.ReceiverInterval(5 * time.Second)},
		report.SenderInterval(5*time.Second),
	); err != nil {
		return nil, err
	}
	for _, f := range extra {
		ir.Add(f)
	}
	var se webrtc.SettingEngine
	se.SetICETimeouts(15*time.Second, 30*time.Second, 5*time.Second)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	if tcp {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	if tune != nil {
		tune(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Packet is one packet a client received.
type Packet struct {
	Tag    byte   // which client sent it (first payload byte)
	N      uint32 // the sender's counter
	Seq    uint16
	TS     uint32
	SSRC   uint32
	Marker bool
	Intact bool // payload is exactly Payload(Tag, N)
	At     time.Time
}

// Client is one member's media session.
type Client struct {
	ID   uuid.UUID
	Room [16]byte
	Tag  byte

	srv    Server
	pc     *webrtc.PeerConnection
	mic    *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender // the mic's
	record bool

	connected chan struct{}
	done      sync.WaitGroup

	mu      sync.Mutex
	offered bool     // candidates go to the server only after the offer
	pending [][]byte // candidates found before that
	pkts    []Packet
	closed  bool

	received  atomic.Uint64
	broken    atomic.Uint64 // packets whose payload did not match
	reordered atomic.Uint64 // packets whose counter was not above the previous one of the same sender
	sendSeq   uint16
	sendTS    uint32
}

// Options for Join.
type Options struct {
	ID     uuid.UUID // the member id; zero: a new random one
	Role   room.Role
	Tag    byte // first byte of every payload this client sends
	Record bool // keep every received Packet (tests); otherwise only counts
}

// Join creates the client's PeerConnection and negotiates it with srv. It
// returns once the answer is applied; WaitConnected waits for media.
func Join(ctx context.Context, api *webrtc.API, srv Server, roomID [16]byte, opts Options) (*Client, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	id := opts.ID
	if id == uuid.Nil {
		id = uuid.New()
	}
	c := &Client{
		ID: id, Room: roomID, Tag: opts.Tag, srv: srv, pc: pc, record: opts.Record,
		connected: make(chan struct{}),
		sendSeq:   uint16(opts.Tag) << 8, sendTS: uint32(opts.Tag) << 24,
	}
	c.mic, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "client")
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	tr, err := pc.AddTransceiverFromTrack(c.mic, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	c.sender = tr.Sender()
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(c.connected) })
		}
	})
	pc.OnICECandidate(c.onCandidate)
	pc.OnTrack(c.onTrack)
	if err := c.negotiate(ctx, opts.Role, nil); err != nil {
		_ = pc.Close()
		return nil, err
	}
	return c, nil
}

// negotiate sends an offer, applies the answer, then trickles candidates.
func (c *Client) negotiate(ctx context.Context, role room.Role, opts *webrtc.OfferOptions) error {
	c.mu.Lock()
	c.offered = false
	c.mu.Unlock()
	offer, err := c.pc.CreateOffer(opts)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	answer, err := c.srv.Offer(ctx, c.Room, c.ID, role, offer.SDP, func(cand []byte) {
		var init webrtc.ICECandidateInit
		if json.Unmarshal(cand, &init) == nil {
			_ = c.pc.AddICECandidate(init)
		}
	})
	if err != nil {
		return err
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	c.mu.Lock()
	c.offered = true
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, cand := range pending {
		if err := c.srv.AddCandidate(c.Room, c.ID, cand); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) onCandidate(cand *webrtc.ICECandidate) {
	if cand == nil {
		return
	}
	b, err := json.Marshal(cand.ToJSON())
	if err != nil {
		return
	}
	c.mu.Lock()
	if !c.offered {
		c.pending = append(c.pending, b)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = c.srv.AddCandidate(c.Room, c.ID, b)
}

// Restart re-offers with new ICE credentials, as a browser does after a
// network change, on the same PeerConnection.
func (c *Client) Restart(ctx context.Context, role room.Role) error {
	return c.negotiate(ctx, role, &webrtc.OfferOptions{ICERestart: true})
}

func (c *Client) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.done.Add(1)
	c.mu.Unlock()
	defer c.done.Done()
	buf := make([]byte, 1500)
	var p rtp.Packet
	var lastTag byte
	var lastN uint32
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		tag, num, intact := Check(p.Payload)
		if !intact {
			c.broken.Add(1)
		} else if c.received.Load() > 0 && tag == lastTag && num <= lastN {
			c.reordered.Add(1)
		}
		lastTag, lastN = tag, num
		if c.record {
			c.mu.Lock()
			c.pkts = append(c.pkts, Packet{
				Tag: tag, N: num, Seq: p.SequenceNumber, TS: p.Timestamp, SSRC: p.SSRC,
				Marker: p.Marker, Intact: intact, At: time.Now(),
			})
			c.mu.Unlock()
		}
		c.received.Add(1)
	}
}

// WaitConnected waits until ICE and DTLS are up.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client not connected: %w", ctx.Err())
	}
}

// Send sends one frame carrying counter n, as the next RTP packet of the
// client's microphone (20 ms of audio later than the previous one).
func (c *Client) Send(n uint32) error {
	c.mu.Lock()
	c.sendSeq++
	c.sendTS += 960
	h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: c.sendSeq, Timestamp: c.sendTS}
	c.mu.Unlock()
	return c.mic.WriteRTP(&rtp.Packet{Header: h, Payload: Payload(c.Tag, n)})
}

// Skip makes the next Send leave n sequence numbers out, as if n packets
// had been lost on the way to the server.
func (c *Client) Skip(n int) {
	c.mu.Lock()
	c.sendSeq += uint16(n)
	c.sendTS += 960 * uint32(n)
	c.mu.Unlock()
}

// Pause makes the next Send come d of audio after the previous one with the
// next sequence number, as a browser's Opus DTX does after silence: the
// timestamp jumps, the sequence number does not.
func (c *Client) Pause(d time.Duration) {
	c.mu.Lock()
	c.sendTS += uint32(d / (20 * time.Millisecond) * 960)
	c.mu.Unlock()
}

// WriteRTCP sends RTCP on the client's connection, as a browser sends its
// receiver reports and NACKs about the floor track.
func (c *Client) WriteRTCP(pkts ...rtcp.Packet) error { return c.pc.WriteRTCP(pkts) }

// MicSSRC is the SSRC the client's microphone sends with.
func (c *Client) MicSSRC() uint32 {
	if enc := c.sender.GetParameters().Encodings; len(enc) > 0 {
		return uint32(enc[0].SSRC)
	}
	return 0
}

// ReadMicRTCP returns the next RTCP the server sends about the client's
// microphone (its receiver reports), blocking until some comes or the
// connection closes. Only one caller at a time.
func (c *Client) ReadMicRTCP() ([]rtcp.Packet, error) {
	pkts, _, err := c.sender.ReadRTCP()
	return pkts, err
}

// Talk sends frames first, first+1, ... every interval until ctx ends or
// count frames are sent, and returns how many it sent.
func (c *Client) Talk(ctx context.Context, first uint32, count int, interval time.Duration) int {
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; i < count; i++ {
		if err := c.Send(first + uint32(i)); err != nil {
			return i
		}
		select {
		case <-ctx.Done():
			return i + 1
		case <-t.C:
		}
	}
	return count
}

// Received returns a copy of the recorded packets (Options.Record).
func (c *Client) Received() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Packet(nil), c.pkts...)
}

// Count returns how many packets arrived, and how many of them were damaged.
func (c *Client) Count() (received, broken uint64) { return c.received.Load(), c.broken.Load() }

// Reordered returns how many packets arrived after a later one of the same
// sender (or twice).
func (c *Client) Reordered() uint64 { return c.reordered.Load() }

// Close closes the PeerConnection and waits for the reader.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	err := c.pc.Close()
	c.done.Wait()
	return err
}

// Payload returns the frame a sender tagged tag sends as its frame n: 80 to
// 160 bytes (an Opus frame with the E2EE trailer), the tag, the counter, then
// bytes derived from both, so any change on the way shows.
func Payload(tag byte, n uint32) []byte {
	size := 80 + int(n*37%81)
	b := make([]byte, size)
	fill(b, tag, n)
	return b
}

func fill(b []byte, tag byte, n uint32) {
	b[0] = tag
	binary.BigEndian.PutUint32(b[1:], n)
	x := uint32(tag)*0x9E3779B9 ^ n*0x85EBCA6B ^ uint32(len(b))
	for i := 5; i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
}

// Check returns the tag and counter of a payload and whether it is exactly
// what Payload made.
func Check(p []byte) (tag byte, n uint32, intact bool) {
	if len(p) < 80 || len(p) > 160 {
		return 0, 0, false
	}
	tag, n = p[0], binary.BigEndian.Uint32(p[1:])
	if 80+int(n*37%81) != len(p) {
		return tag, n, false
	}
	var want [160]byte
	fill(want[:len(p)], tag, n)
	return tag, n, string(want[:len(p)]) == string(p)
}
