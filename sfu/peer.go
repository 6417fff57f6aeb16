package sfu

// One member's PeerConnection: its offer gets our answer, its microphone
// comes in, and one "floor" track goes out. The floor track is added once, on
// the first offer, and stays for the life of the connection: who feeds it
// changes in forward.go, never in SDP.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pionsdp "github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// maxRemoteCandidates bounds what one negotiation may add; a browser sends a
// handful.
const maxRemoteCandidates = 64

// receiveMTU is the largest packet we read. Opus frames with the E2EE
// trailer are a few hundred bytes; pion itself never delivers more than 1460.
const receiveMTU = 1500

type peer struct {
	sfu  *SFU
	room *room
	id   uuid.UUID
	num  uint64 // forwarding identity, never reused (see outStream.src)

	// Guarded by room.mu.
	role  Role
	ready bool // media connected: worth writing to
	// fw writes the floor track when the SFU does so itself (floorwriter.go);
	// fwChosen says the choice between it and pion is made, for good.
	fw       *floorWriter
	fwChosen bool
	out      outStream // what this member's floor track has sent so far
	pace     pacer     // how fast its own packets may be forwarded (forward.go)

	// holds mirrors "holder and may talk" for the mic reader's lock-free
	// drop of everybody else's packets. Written under room.mu.
	holds atomic.Bool
	// For the optimistic floor (hold.go): when the member last came to
	// hold the floor (ns since epoch), and how many times its press or turn
	// ended without it (refused, lost the floor, the floor went to someone
	// else): each spoils the packets then in flight. Written under room.mu
	// or by FloorRefused; read by the mic reader.
	grantAt  atomic.Int64
	turnEnds atomic.Uint64

	// What the member's receiver reports say about its floor track
	// (lossfeedback.go): the floor track's SSRC, set once negotiated, and
	// the fraction lost of the last report.
	floorSSRC atomic.Uint32
	keys      *dtlsKeys // what the DTLS handshake gave, if the SFU writes the floor track (config.go forPeer)
	downLoss  lossReport
	upNacked  atomic.Uint64 // its packets the SFU asked it to resend (nack.go)

	streams atomic.Int32 // read streams pion made for this connection (streams.go)
	ending  atomic.Bool  // the SFU is ending this session (SFU.end)

	// sig serialises negotiation (Offer, AddCandidate) on this member.
	sig        sync.Mutex
	sender     *webrtc.RTPSender // the floor track's sender; set once
	candidates int               // remote candidates added in this negotiation

	// floor is the member's one outgoing track, made before the peer is
	// visible to the fan-out and never replaced.
	floor *webrtc.TrackLocalStaticRTP

	mu     sync.Mutex // guards closed, pc, ufrag and wg.Add
	closed bool
	pc     *webrtc.PeerConnection
	ufrag  string         // our ICE ufrag, under which the consent guard knows the session
	wg     sync.WaitGroup // our goroutines reading from pc

	candMu        sync.Mutex
	answering     bool // local candidates go into the answer, not to sendCandidate
	sendCandidate func([]byte)
}

func newPeer(s *SFU, r *room, id uuid.UUID, role Role) (*peer, error) {
	floor, err := webrtc.NewTrackLocalStaticRTP(opusCodec.RTPCodecCapability, "floor", "sotto")
	if err != nil {
		return nil, err
	}
	return &peer{sfu: s, room: r, id: id, num: s.nextPeer.Add(1), role: role, floor: floor}, nil
}

// open creates the PeerConnection.
func (p *peer) open(api *webrtc.API) error {
	// No ICE servers: the server's candidates are its own addresses.
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return err
	}
	pc.OnICECandidate(p.onCandidate)
	transport := pc.SCTP().Transport().ICETransport()
	transport.OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) {
		// Read the pair now rather than trust the handlers' order.
		if pair, err := transport.GetSelectedCandidatePair(); err == nil && pair != nil {
			p.room.pathChanged(p, pair)
		}
	})
	pc.OnTrack(p.onTrack)
	// Forward to this member only once its media path is up (before that
	// pion drops the packets anyway) and not after it failed. An ICE restart
	// passes through other states without stopping the stream. pion runs
	// this handler in a goroutine per change, so read the current state
	// rather than trust the order in which they run.
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {
		switch pc.ConnectionState() {
		case webrtc.PeerConnectionStateConnected:
			p.room.connected(p, pc)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			p.room.setReady(p, false)
		}
	})

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed { // Leave came first
		_ = pc.Close()
		return ErrNoPeer
	}
	p.pc = pc
	p.sfu.peers.Add(1)
	return nil
}

// answer applies an offer and returns the answer with our candidates in it.
// Called with p.sig held.
func (p *peer) answer(ctx context.Context, sdp string, sendCandidate func([]byte)) (string, error) {
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}
	p.mu.Lock()
	pc, floor := p.pc, p.floor
	p.mu.Unlock()
	if pc == nil {
		return "", ErrNoPeer
	}

	p.candMu.Lock()
	p.answering, p.sendCandidate = true, sendCandidate
	p.candMu.Unlock()
	defer func() {
		p.candMu.Lock()
		p.answering = false
		p.candMu.Unlock()
	}()

	// A re-offer with new ICE credentials restarts ICE on this same
	// connection: pion gathers again, DTLS and SRTP carry on.
	if err := pc.SetRemoteDescription(offer); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	p.candidates = 0

	if p.sender == nil {
		// The offer's audio m-line made a transceiver; AddTrack puts the floor
		// track on it, so the answer says sendrecv and nothing else is added.
		sender, err := pc.AddTrack(floor)
		if err != nil {
			return "", err
		}
		p.sender = sender
		if enc := sender.GetParameters().Encodings; len(enc) > 0 {
			p.floorSSRC.Store(uint32(enc[0].SSRC))
		}
		// RTCP about the floor track (the listener's receiver reports and
		// NACKs) must be read, or it piles up in pion's buffer for as long
		// as the member stays; the reports' loss is kept for the talker.
		p.spawn(func() { p.readFloorReports(sender.Read) })
	}

	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	if err := p.registerCreds(sdp, pc.LocalDescription()); err != nil {
		return "", err
	}
	// Host candidates on the mux are known almost at once; wait for them so the
	// answer is complete. On a renegotiation without ICE restart nothing is
	// gathered and this returns at once.
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return withOpusParams(pc.LocalDescription().SDP), nil
}

// registerCreds tells the consent guard this session's ICE credentials, as
// pion reads them from the offer and our answer, replacing those of a
// previous negotiation (an ICE restart changes both).
func (p *peer) registerCreds(offer string, local *webrtc.SessionDescription) error {
	var c iceCreds
	var ok bool
	if c.remoteUfrag, c.remotePwd, ok = sdpICECreds(offer); !ok {
		return fmt.Errorf("%w: no ICE credentials", ErrBadOffer)
	}
	if local == nil {
		return ErrNoPeer
	}
	if c.localUfrag, c.localPwd, ok = sdpICECreds(local.SDP); !ok {
		return errors.New("sfu: the answer has no ICE credentials")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrNoPeer
	}
	p.sfu.net.consent.set(p.ufrag, c)
	p.ufrag = c.localUfrag
	return nil
}

// sdpICECreds returns the ICE ufrag and password of a description the way
// pion's extractICEDetails picks them: session level first, else the first
// media section's.
func sdpICECreds(sdp string) (ufrag, pwd string, ok bool) {
	parsed, err := (&webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}).Unmarshal()
	if err != nil {
		return "", "", false
	}
	ufrag, _ = parsed.Attribute("ice-ufrag")
	pwd, _ = parsed.Attribute("ice-pwd")
	if ufrag == "" && len(parsed.MediaDescriptions) > 0 {
		md := parsed.MediaDescriptions[0]
		ufrag, _ = md.Attribute("ice-ufrag")
		pwd, _ = md.Attribute("ice-pwd")
	}
	return ufrag, pwd, ufrag != "" && pwd != ""
}

// checkOffer accepts exactly one audio section: that is what our clients
// send, and anything more would only make the server hold more state.
func checkOffer(sdp string) error {
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}
	parsed, err := offer.Unmarshal()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	if n := len(parsed.MediaDescriptions); n != 1 {
		return fmt.Errorf("%w: %d media sections, want 1", ErrBadOffer, n)
	}
	md := parsed.MediaDescriptions[0]
	if kind := md.MediaName.Media; kind != "audio" {
		return fmt.Errorf("%w: media section is %q, want audio", ErrBadOffer, kind)
	}
	if md.MediaName.Port.Value == 0 {
		return fmt.Errorf("%w: the audio section is rejected (port 0)", ErrBadOffer)
	}
	// The server is ICE-lite and sends only to addresses that proved
	// themselves with an authenticated check. A lite offer would make both
	// ends lite, and pion would then nominate a pair with no check at all
	// and send DTLS to whatever address the offer names: another host. No
	// browser is lite.
	for _, a := range append(append([]pionsdp.Attribute(nil), parsed.Attributes...), md.Attributes...) {
		if strings.TrimSpace(a.Key) == "ice-lite" { // as pion reads it
			return fmt.Errorf("%w: an ice-lite offer", ErrBadOffer)
		}
	}
	opus := false
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		if _, codec, ok := strings.Cut(a.Value, " "); ok && strings.HasPrefix(strings.ToLower(codec), "opus/48000") {
			opus = true
		}
	}
	if !opus {
		return fmt.Errorf("%w: the audio section does not offer Opus", ErrBadOffer)
	}
	return nil
}

// dialCandidate reports whether a candidate value (with or without the
// "candidate:" prefix) is one the server could only use by connecting out to
// it: a TCP candidate that is not "tcptype active". The server is ICE-TCP
// passive only and never dials (see newAPI), so such candidates are dropped
// before pion sees them; browsers that gather them (Firefox) lose nothing,
// their active candidates reach the server's passive one. It parses as pion
// does, so what it keeps and what pion acts on are the same candidates.
func dialCandidate(value string) bool {
	c, err := ice.UnmarshalCandidate(strings.TrimPrefix(value, "candidate:"))
	if err != nil {
		return false // pion refuses it too
	}
	return c.NetworkType().IsTCP() && c.TCPType() != ice.TCPTypeActive
}

// withoutDialCandidates returns the offer without its a=candidate lines that
// dialCandidate refuses.
func withoutDialCandidates(sdp string) string {
	if !strings.Contains(sdp, "a=candidate:") {
		return sdp
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r\n"), "a=candidate:"); ok && dialCandidate(v) {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// addCandidate adds one of the client's trickled candidates. Called with
// p.sig held. A candidate the server would have to dial (dialCandidate) is
// counted and ignored: no error, since browsers send them in good faith.
func (p *peer) addCandidate(c webrtc.ICECandidateInit) error {
	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	if pc == nil {
		return ErrNoPeer
	}
	if p.candidates >= maxRemoteCandidates {
		return fmt.Errorf("sfu: more than %d candidates", maxRemoteCandidates)
	}
	p.candidates++
	if dialCandidate(c.Candidate) {
		return nil
	}
	return pc.AddICECandidate(c)
}

// onCandidate trickles a local candidate found after the answer was made.
// Candidates found while answering are already in the answer's SDP.
func (p *peer) onCandidate(c *webrtc.ICECandidate) {
	if c == nil { // gathering complete
		return
	}
	p.candMu.Lock()
	send := p.sendCandidate
	if p.answering {
		send = nil
	}
	p.candMu.Unlock()
	if send == nil {
		return
	}
	if b, err := json.Marshal(c.ToJSON()); err == nil {
		send(b)
	}
}

// onTrack runs (in its own goroutine, pion's) for the member's microphone.
// It reads every packet, holder or not: unread packets would pile up in
// pion's buffers, and reading is how a non-holder's packets are dropped.
func (p *peer) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	if track.Kind() != webrtc.RTPCodecTypeAudio || !p.enter() {
		return
	}
	defer p.wg.Done()
	// The talker's sender reports arrive on the receiver; read them too.
	p.spawn(func() { drain(receiver.Read) })

	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	repair := p.sfu.lossRepair
	var gaps uplinkGaps
	// The optimistic floor (hold.go): packets read while the member does
	// not hold the floor are kept for its grant. Made once per reader, so
	// holding allocates only as the slots' buffers first grow.
	var hold *holdRing
	if p.sfu.optimistic {
		hold = new(holdRing)
	}

	buf := make([]byte, receiveMTU)
	var pkt, held rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		holds := p.holds.Load()
		if !holds && hold == nil {
			p.sfu.dropped.Add(1)
			continue
		}
		// Unmarshal into the reused packet: its Payload points into buf, no
		// copy, no allocation (ReadRTP would allocate a packet every time).
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if hold != nil {
			late := hold.next(&pkt.Header, p.turnEnds.Load())
			if !holds {
				if !late {
					hold.keep(int64(time.Since(epoch)), &pkt)
				}
				p.sfu.dropped.Add(1)
				continue
			}
			if hold.n > 0 {
				hold.flush(p, p.grantAt.Load(), &held)
			}
		}
		if miss := gaps.next(pkt.SequenceNumber); repair && len(miss) > 0 && pc != nil {
			p.sfu.uplinkNacked.Add(uint64(len(miss)))
			p.upNacked.Add(uint64(len(miss)))
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
				MediaSSRC: pkt.SSRC, Nacks: rtcp.NackPairsFromSequenceNumbers(miss)}})
		}
		p.room.forward(p, &pkt)
	}
}

// drain reads RTCP until the connection closes. The interceptors in the read
// path (receiver reports need the talker's sender reports) see every packet.
func drain[A any](read func([]byte) (int, A, error)) {
	buf := make([]byte, receiveMTU)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}

// enter registers one of our goroutines unless the peer is closed.
func (p *peer) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// spawn runs f in a goroutine that close waits for.
func (p *peer) spawn(f func()) {
	if !p.enter() {
		return
	}
	go func() {
		defer p.wg.Done()
		f()
	}()
}

func (p *peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes the PeerConnection and waits for our goroutines to end, so
// nothing of this member is forwarded after Leave returns.
func (p *peer) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	pc := p.pc
	if p.ufrag != "" {
		p.sfu.net.consent.forget(p.ufrag)
	}
	p.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
		p.sfu.peers.Add(-1)
	}
	p.wg.Wait()
}
