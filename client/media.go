package client

// Media: one PeerConnection to the server's SFU, negotiated over signaling
// as a browser does. The client offers one sendrecv Opus transceiver (its
// microphone up, the room's floor track down), sends the offer, trickles its
// candidates after it, applies the answer (which carries the server's
// candidates) and adds any candidate the server trickles.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

var opusCapability = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// NewAPI returns a pion API set up like a browser on the audio path, and no
// more: Opus only; RTCP sender and receiver reports every 5 s (no NACK,
// TWCC or stats interceptors); ICE consent checks every 5 s; mDNS off; no
// STUN (the server is reachable); UDP only. loopback gathers only loopback
// addresses, for a server on this machine.
func NewAPI(loopback bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: opusPayloadType},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	// An explicit registry: without one pion installs all its defaults.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReportsWithOptions(ir,
		[]report.ReceiverOption{report.ReceiverInterval(5 * time.Second)},
		report.SenderInterval(5*time.Second),
	); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(15*time.Second, 30*time.Second, 5*time.Second)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// startMedia creates the PeerConnection and negotiates it; it returns once
// the answer is applied.
func (c *Client) startMedia(ctx context.Context) error {
	mic, err := newMic(&c.sending, c.k.sid)
	if err != nil {
		return err
	}
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed || c.state != inside {
		c.mu.Unlock()
		_ = pc.Close()
		return ErrClosed
	}
	c.pc = pc
	c.mu.Unlock()

	tr, err := pc.AddTransceiverFromTrack(mic.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return err
	}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() {
				c.mu.Lock()
				c.connectedAt = time.Now()
				c.mu.Unlock()
				close(c.connected)
			})
		}
	})
	pc.OnICECandidate(c.localCandidate)
	pc.OnTrack(c.onTrack)

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}

	// The offer goes into the queue before any candidate: the server
	// handles one connection's messages in order, and a candidate for a
	// session it has not started yet is refused.
	req := outMsg{Type: "offer", SDP: offer.SDP}
	c.mu.Lock()
	ch, err := c.sig.start(&req)
	if err == nil {
		c.offered = true
		for _, cand := range c.localCands {
			_ = c.sig.send(&outMsg{Type: "ice", Candidate: cand})
		}
		c.localCands = nil
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	answer, err := c.sig.await(ctx, req.ID, ch)
	if err != nil {
		return err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		return fmt.Errorf("applying the answer: %w", err)
	}
	c.mu.Lock()
	c.answered = true
	pending := c.remoteCands
	c.remoteCands = nil
	c.mic = mic
	c.updateTalkLocked() // a client forced to send, or granted the floor already
	// RTCP about our microphone (the server's receiver reports) must be
	// read, or it piles up in pion's buffer.
	c.spawnLocked(func() { drain(tr.Sender().Read) })
	c.mu.Unlock()
	for _, cand := range pending {
		_ = pc.AddICECandidate(cand)
	}
	return nil
}

// localCandidate trickles one of our candidates to the server, after the
// offer.
func (c *Client) localCandidate(cand *webrtc.ICECandidate) {
	if cand == nil {
		return // gathering complete
	}
	b, err := json.Marshal(cand.ToJSON())
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.offered {
		c.localCands = append(c.localCands, b)
		return
	}
	_ = c.sig.send(&outMsg{Type: "ice", Candidate: b})
}

// remoteCandidate adds a candidate the server trickled; one that arrives
// before the answer waits for it.
func (c *Client) remoteCandidate(raw json.RawMessage) {
	var cand webrtc.ICECandidateInit
	if json.Unmarshal(raw, &cand) != nil {
		return
	}
	c.mu.Lock()
	pc, ready := c.pc, c.answered
	if !ready {
		c.remoteCands = append(c.remoteCands, cand)
	}
	c.mu.Unlock()
	if ready && pc != nil {
		_ = pc.AddICECandidate(cand)
	}
}

// WaitConnected waits until the media path (ICE and DTLS) is up.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client: media not connected: %w", ctx.Err())
	}
}

// ConnectedAt returns when the media path first came up (zero before).
func (c *Client) ConnectedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connectedAt
}

// drain reads RTCP until the connection closes; the report interceptors
// see every packet on the way.
func drain[A any](read func([]byte) (int, A, error)) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}
