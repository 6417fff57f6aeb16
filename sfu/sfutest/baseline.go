package sfutest

// Baseline is the yardstick for the SFU's forwarding cost: a forwarder
// written the way pion's sfu-ws example forwards. The API has pion's default
// codecs and default interceptors (RegisterDefaultInterceptors: NACK, RTCP
// reports, stats, TWCC feedback); each room has one TrackLocalStaticRTP that
// every listener's PeerConnection sends, and the holder's OnTrack loop does
// ReadRTP then WriteRTP, which writes the packet to every listener bound to
// the track. Only the network setup (one loopback UDP port, no mDNS) and the
// negotiation are the SFU's, so the two differ in the forwarding path alone.
// It enforces the floor just enough to be comparable: non-holders' packets are
// read and dropped. It is for benchmarks, not for serving anyone.

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"sotto/room"
)

var errNoMember = errors.New("baseline: no such member")

// Baseline is an sfu-ws style forwarder. It implements Server.
type Baseline struct {
	api *webrtc.API
	mux ice.UDPMux

	mu    sync.Mutex
	rooms map[[16]byte]*baseRoom
	pcs   map[uuid.UUID]*webrtc.PeerConnection

	forwarded atomic.Uint64
	wg        sync.WaitGroup
}

type baseRoom struct {
	track     *webrtc.TrackLocalStaticRTP
	holder    atomic.Pointer[uuid.UUID]
	listeners atomic.Int64
}

// NewBaseline listens on udpAddr, a loopback IP and port (port 0: any).
func NewBaseline(udpAddr string) (*Baseline, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	addr, err := net.ResolveUDPAddr("udp", udpAddr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
	var se webrtc.SettingEngine
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return &Baseline{
		api:   webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)),
		mux:   mux,
		rooms: map[[16]byte]*baseRoom{},
		pcs:   map[uuid.UUID]*webrtc.PeerConnection{},
	}, nil
}

func (b *Baseline) room(id [16]byte) (*baseRoom, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rooms[id]
	if r == nil {
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		}, "audio", "pion")
		if err != nil {
			return nil, err
		}
		r = &baseRoom{track: track}
		b.rooms[id] = r
	}
	return r, nil
}

// Offer answers a member's offer. Listeners get the room's track.
func (b *Baseline) Offer(ctx context.Context, roomID [16]byte, member uuid.UUID, role room.Role, sdp string,
	sendCandidate func([]byte),
) (string, error) {
	r, err := b.room(roomID)
	if err != nil {
		return "", err
	}
	pc, err := b.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.pcs[member] = pc
	b.mu.Unlock()
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			if h := r.holder.Load(); h == nil || *h != member {
				continue
			}
			if err := r.track.WriteRTP(pkt); err != nil {
				return
			}
			b.forwarded.Add(uint64(r.listeners.Load()))
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", err
	}
	if role == room.RoleListen {
		sender, err := pc.AddTrack(r.track)
		if err != nil {
			return "", err
		}
		r.listeners.Add(1)
		// As in pion's examples: read RTCP so interceptors see it.
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// AddCandidate adds a client's trickled candidate.
func (b *Baseline) AddCandidate(_ [16]byte, member uuid.UUID, candidateJSON []byte) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(candidateJSON, &c); err != nil {
		return err
	}
	b.mu.Lock()
	pc := b.pcs[member]
	b.mu.Unlock()
	if pc == nil {
		return errNoMember
	}
	return pc.AddICECandidate(c)
}

// SetFloor names the member whose packets are forwarded.
func (b *Baseline) SetFloor(roomID [16]byte, holder uuid.UUID) {
	r, err := b.room(roomID)
	if err == nil {
		r.holder.Store(&holder)
	}
}

// Forwarded returns how many packets were written to listeners.
func (b *Baseline) Forwarded() uint64 { return b.forwarded.Load() }

// Close closes every PeerConnection and the socket.
func (b *Baseline) Close() error {
	b.mu.Lock()
	pcs := b.pcs
	b.pcs = map[uuid.UUID]*webrtc.PeerConnection{}
	b.mu.Unlock()
	for _, pc := range pcs {
		_ = pc.Close()
	}
	b.wg.Wait()
	return b.mux.Close()
}
