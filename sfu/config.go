package sfu

// This file builds the one pion API every PeerConnection of the server shares:
// what codecs exist, which interceptors sit in the media path, and how ICE
// reaches the network. Everything here is decided once, at New.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// Config says where the SFU listens and what it advertises.
type Config struct {
	// UDPAddr is the one UDP address all ICE traffic of all rooms arrives on,
	// e.g. ":3000" (every interface, one port) or "127.0.0.1:0" (tests: loopback
	// only, a free port). A concrete IP binds one socket; an empty or unspecified
	// IP binds the same port on every interface address.
	UDPAddr string

	// TCPListener, if not nil, carries ICE-TCP (RFC 6544, passive) for clients
	// whose networks block UDP. The SFU owns it from New on and closes it.
	TCPListener net.Listener

	// PublicAddrs are the IPs or host names clients must use to reach this
	// server when it sits behind 1:1 NAT or Docker port mapping. They replace
	// the local addresses in every host candidate. Host names are resolved once,
	// in New. Empty: advertise the local addresses.
	PublicAddrs []string

	// Log receives pion's own log lines, format strings only, never a value
	// a client sent (logs.go), at the levels Log's handler enables. Nil: a
	// text logger on LogWriter that shows errors only.
	Log *slog.Logger

	// LogWriter is where pion's lines go when Log is nil. Nil: os.Stderr.
	LogWriter io.Writer

	// NoLossRepair turns off what the SFU does for listeners on lossy
	// links (nack.go: NACK and resending of audio; lossfeedback.go: the
	// talker's encoder told of its listeners' loss), leaving audio as it
	// was before issue 16. For comparison in benchmarks, and for an
	// operator who must save the resend history's memory (nackHistory
	// packets per room).
	NoLossRepair bool

	// NoOptimisticFloor turns off holding a talker's packets that arrive
	// before its floor is granted (hold.go): they are dropped, as before
	// issue 17, and clients are told to wait for the grant before they
	// open the microphone (SFU.HoldWindow is 0). For comparison in
	// benchmarks and tests.
	NoOptimisticFloor bool

	// PionFloorWrites writes every listener's floor track through pion's
	// TrackLocalStaticRTP, one packet and one system call at a time, as
	// before issue 19, instead of the SFU's own SRTP and batched sends
	// (floorwriter.go). For comparison in benchmarks, and a way back for an
	// operator should a browser ever disagree with the SFU's own SRTP.
	PionFloorWrites bool

	// unguarded opens the UDP port as the SFU did before udpGuard: no
	// filter, the system's default receive buffer. Benchmarks only, to
	// compare (BenchmarkUDPFlood).
	unguarded bool
}

// Opus is the only codec: browsers must not pick RED (the E2EE transform would
// see the RED wrapper instead of Opus frames) or CN. The fmtp line is what we
// ask senders to do: in-band FEC on, DTX allowed (a silent talker sends almost
// nothing). Payload type 111 is what browsers use, so no remapping happens.
var opusCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType:    webrtc.MimeTypeOpus,
		ClockRate:   48000,
		Channels:    2,
		SDPFmtpLine: "minptime=10;useinbandfec=1;usedtx=1",
	},
	PayloadType: 111,
}

// opusParams are the fmtp parameters the answer we send must carry whatever
// the offer had: a browser configures its Opus encoder from the remote
// description's fmtp, i.e. our answer, and pion answers with the offer's
// parameters, so without this no browser would turn DTX on. They describe
// what we receive; pion itself ignores them.
var opusParams = []string{"useinbandfec=1", "usedtx=1"}

// withOpusParams returns the answer with opusParams on its Opus fmtp line.
func withOpusParams(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	pt := ""
	for _, l := range lines { // a=rtpmap:111 opus/48000/2
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			if num, codec, _ := strings.Cut(rest, " "); strings.HasPrefix(strings.ToLower(codec), "opus/") {
				pt = num
				break
			}
		}
	}
	if pt == "" {
		return sdp
	}
	rtpmap, fmtp := "a=rtpmap:"+pt+" ", "a=fmtp:"+pt+" "
	hasFmtp := strings.Contains(sdp, "\n"+fmtp)
	var b strings.Builder
	for _, l := range lines {
		body := strings.TrimRight(l, "\r\n")
		eol := l[len(body):]
		switch {
		case strings.HasPrefix(l, fmtp):
			params := strings.Split(strings.TrimPrefix(body, fmtp), ";")
			for _, want := range opusParams {
				key, _, _ := strings.Cut(want, "=")
				found := false
				for i, p := range params {
					if k, _, _ := strings.Cut(strings.TrimSpace(p), "="); strings.EqualFold(k, key) {
						params[i], found = want, true
					}
				}
				if !found {
					params = append(params, want)
				}
			}
			b.WriteString(fmtp + strings.Join(params, ";") + eol)
		case strings.HasPrefix(l, rtpmap) && !hasFmtp:
			b.WriteString(l + fmtp + strings.Join(opusParams, ";") + eol)
		default:
			b.WriteString(l)
		}
	}
	return b.String()
}

// rtcpReportInterval is how often we send sender and receiver reports about
// a stream that moved. 5 s is RFC 3550's minimum and what browsers use for
// audio; it is enough for the talker's encoder to adapt FEC to uplink loss.
// A silent member sends none and costs no timer (reportwheel.go).
const rtcpReportInterval = 5 * time.Second

// ICE timers: see newAPI.
const (
	iceDisconnectedTimeout = 12 * time.Second
	iceFailedTimeout       = 30 * time.Second
	// iceTimerInterval is the keepalive interval pion is given. A lite
	// agent never pings, so all it paces is the agent's timer, and that
	// only downwards: pion/ice (v4.4.9, Agent.connectivityChecks) starts
	// from its 2 s default and takes the smallest of it and these three
	// values. So every connection's agent wakes every 2 s to see whether
	// its pair has gone quiet (the granularity of the timeouts above),
	// the one per-connection timer an idle member still costs the server;
	// anything from 2 s up leaves it there, anything less would wake it
	// more often.
	iceTimerInterval = 10 * time.Second
)

// network is what New opened and Close must release.
type network struct {
	udp     ice.UDPMux
	tcp     ice.TCPMux
	consent *consentGuard // gates media on the UDP sockets (consent.go)
	guard   *udpGuard     // drops unknown-ufrag STUN before pion (udpguard.go); nil if unguarded
	rcvbuf  int           // receive buffer the kernel granted the UDP socket(s), bytes
}

func (n *network) close() {
	if n.udp != nil {
		_ = n.udp.Close()
	}
	if n.tcp != nil {
		_ = n.tcp.Close()
	}
}

// apiConfig is what every PeerConnection's pion API is made of. Each
// connection gets an API of its own, made by forPeer, so that pion's buffer
// factory and the loss feedback know which connection they serve
// (streams.go, lossfeedback.go); everything else is shared.
type apiConfig struct {
	media        *webrtc.MediaEngine   // copied by pion into each PeerConnection
	interceptors []interceptor.Factory // after the per-connection ones
	settings     webrtc.SettingEngine
	ownWrites    bool         // the SFU writes floor tracks itself (floorwriter.go)
	reports      *reportWheel // the report clock of every connection (reportwheel.go)
}

// forPeer returns the API for p's PeerConnection.
func (c *apiConfig) forPeer(p *peer) *webrtc.API {
	settings := c.settings
	settings.BufferFactory = p.newBuffer
	if c.ownWrites {
		// The connection's SRTP keys, for its floor writer (dtlskeys.go).
		p.keys = &dtlsKeys{}
		settings.SetDTLSKeyLogWriter(p.keys)
		settings.SetDTLSServerHelloMessageHook(p.keys.serverHello)
	}
	// The order is the chain's: each factory's writer wraps those added
	// before it. The loss feedback rewrites the reports the report
	// interceptor (among c.interceptors) writes.
	reg := &interceptor.Registry{}
	if p.sfu.lossRepair {
		reg.Add(lossFeedbackFactory{p})
	}
	for _, f := range c.interceptors {
		reg.Add(f)
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(c.media),
		webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(settings),
	)
}

// newAPI returns what the pion API of every connection is made of, and the
// sockets behind it.
func newAPI(cfg Config) (*apiConfig, *network, error) {
	log := cfg.Log
	if log == nil {
		w := cfg.LogWriter
		if w == nil {
			w = os.Stderr
		}
		log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	logs := pionLogs{log}

	// Media: Opus and nothing else. No header extensions are registered, so
	// none are negotiated: no audio-level extension that would tell the server
	// who speaks how loud, no transport-cc that audio-only rooms do not need.
	// With loss repair, Opus carries NACK feedback (nack.go: the app's
	// offer asks for it, browsers do not by default).
	codec := opusCodec
	if !cfg.NoLossRepair {
		codec.RTCPFeedback = []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBNACK}}
	}
	media := &webrtc.MediaEngine{}
	if err := media.RegisterCodec(codec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}

	// Interceptors: RTCP sender and receiver reports, only about streams
	// that moved, from one clock for all connections (reports.go); pion's
	// report interceptors would tick two goroutines per connection. pion's
	// defaults add NACK (whose responder keeps a copy of every packet per
	// listener: nack.go answers NACKs from one copy per room instead), TWCC
	// and stats, which cost a third more CPU per forwarded packet and
	// several times the idle CPU per connection.
	wheel := newReportWheel()
	interceptors := []interceptor.Factory{reportsFactory{wheel}}

	settings := webrtc.SettingEngine{LoggerFactory: logs}
	// No mDNS: the server has real addresses and must not multicast on the LAN.
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// ICE-lite (RFC 8445 §2.5), as SFUs on reachable addresses do: the server
	// only answers the client's checks and never sends its own. An idle
	// member then costs the browser's consent check every ~5 s and RTCP,
	// instead of a full agent's ping every 2 s on top. The client, always the
	// controlling agent, nominates and restarts ICE.
	settings.SetLite(true)
	// The server answers as the DTLS server ("a=setup:passive"; browsers
	// offer actpass): the client starts the handshake once ICE is up, and
	// the ServerHello the SFU sends carries what its own SRTP needs
	// (dtlskeys.go). Most SFUs answer so (RFC 8842 §5.3 allows either).
	if err := settings.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return nil, nil, err
	}
	// A lite agent hears from the browser every 2.5-5 s (consent
	// freshness), so "disconnected" must allow for more than that; the
	// keepalive interval paces nothing but the agent's timer (see
	// iceTimerInterval).
	settings.SetICETimeouts(iceDisconnectedTimeout, iceFailedTimeout, iceTimerInterval)
	// The server never dials out. pion's active ICE-TCP would connect to the
	// host:port of every passive TCP candidate a client names, from every
	// local interface: any member could make the server probe any TCP
	// service and hold sockets towards it. ICE-TCP here is passive only (the
	// client connects to the app's port), so pion neither dials nor
	// advertises "tcptype active" candidates; peer.go also drops the
	// client's passive and simultaneous-open TCP candidates (dialCandidate).
	settings.DisableActiveTCP(true)

	nw, err := listen(cfg, logs, &settings)
	if err != nil {
		return nil, nil, err
	}

	if len(cfg.PublicAddrs) > 0 {
		ips, err := resolve(cfg.PublicAddrs)
		if err != nil {
			nw.close()
			return nil, nil, err
		}
		// Replace, not append: behind Docker the container address is useless
		// to clients and would only cost them failed checks.
		if err := settings.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        ips,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			nw.close()
			return nil, nil, err
		}
	}

	return &apiConfig{media: media, interceptors: interceptors, settings: settings,
		ownWrites: !cfg.PionFloorWrites, reports: wheel}, nw, nil
}

// listen opens the one UDP port (and the optional ICE-TCP mux) and tells the
// setting engine to gather host candidates only from them. Clients need no
// STUN server: these are the addresses they connect to.
func listen(cfg Config, logs logging.LoggerFactory, settings *webrtc.SettingEngine) (*network, error) {
	host, portStr, err := net.SplitHostPort(cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("sfu: UDPAddr %q: %w", cfg.UDPAddr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("sfu: UDPAddr %q: bad port", cfg.UDPAddr)
	}
	iceLog := logs.NewLogger("ice")
	n := &network{consent: newConsentGuard()}
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}

	ip, _ := netip.ParseAddr(host)
	switch {
	case host == "" || ip.IsUnspecified():
		// Every interface, one port: pion binds each local address on it so
		// replies leave from the address the client sent to.
		nets := []ice.NetworkType{ice.NetworkTypeUDP4, ice.NetworkTypeUDP6}
		if ip.Is4() {
			nets, types = nets[:1], types[:1]
		} else if ip.Is6() {
			nets, types = nets[1:], types[1:]
		}
		// pion opens one socket per address, through these networks: the
		// consent gate (writes, and our own checks' answers) on top of the
		// flood guard (receive buffer, batched reads, unknown-ufrag STUN
		// dropped) on top of the sockets.
		std, err := stdnet.NewNet()
		if err != nil {
			return nil, fmt.Errorf("sfu: listen udp %s: %w", cfg.UDPAddr, err)
		}
		var under transport.Net = std
		if !cfg.unguarded {
			n.guard = newUDPGuard()
			n.consent.guard = n.guard // learns what passed integrity
			under = &guardedNet{Net: std, g: n.guard, rcvbuf: &n.rcvbuf}
		}
		mux, err := ice.NewMultiUDPMuxFromPort(int(port),
			ice.UDPMuxFromPortWithNetworks(nets...), ice.UDPMuxFromPortWithLogger(iceLog),
			ice.UDPMuxFromPortWithNet(consentNet{Net: under, g: n.consent}))
		if err != nil {
			return nil, fmt.Errorf("sfu: listen udp %s: %w", cfg.UDPAddr, err)
		}
		n.udp = mux
	case ip.IsValid():
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			return nil, fmt.Errorf("sfu: listen udp %s: %w", cfg.UDPAddr, err)
		}
		var pc net.PacketConn = conn
		if !cfg.unguarded {
			n.guard = newUDPGuard()
			n.consent.guard = n.guard // learns what passed integrity
			n.rcvbuf = setReadBuffer(conn, UDPReadBuffer)
			pc = newGuardedConn(conn, n.guard)
		}
		// The consent gate on top of the flood guard, as above.
		n.udp = ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: iceLog, UDPConn: n.consent.wrap(pc)})
		// pion skips loopback addresses unless told; a loopback-only server
		// (tests, a reverse-proxied dev box) has nothing else to offer.
		if ip.IsLoopback() {
			settings.SetIncludeLoopbackCandidate(true)
		}
		if ip.Is4() {
			types = types[:1]
		} else {
			types = types[1:]
		}
	default:
		return nil, fmt.Errorf("sfu: UDPAddr %q: host must be an IP address or empty", cfg.UDPAddr)
	}
	if n.guard != nil {
		// The guard learns the ufrags the agents gather with.
		n.udp = &guardedMux{UDPMux: n.udp, g: n.guard}
	}
	settings.SetICEUDPMux(n.udp)

	if cfg.TCPListener != nil {
		n.tcp = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:       cfg.TCPListener,
			Logger:         iceLog,
			ReadBufferSize: 32,
			// Non-zero: a full buffer drops packets instead of blocking the
			// room's fan-out behind one slow TCP client.
			WriteBufferSize: 256 << 10,
		})
		settings.SetICETCPMux(n.tcp)
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
		if a, ok := cfg.TCPListener.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
			settings.SetIncludeLoopbackCandidate(true)
		}
	}
	settings.SetNetworkTypes(types)
	return n, nil
}

// resolve turns PublicAddrs into IP strings, looking host names up once.
func resolve(addrs []string) ([]string, error) {
	var ips []string
	for _, a := range addrs {
		if ip, err := netip.ParseAddr(a); err == nil {
			ips = append(ips, ip.String())
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		found, err := net.DefaultResolver.LookupNetIP(ctx, "ip", a)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("sfu: public address %q: %w", a, err)
		}
		for _, ip := range found {
			ips = append(ips, ip.Unmap().String())
		}
	}
	if len(ips) == 0 {
		return nil, errors.New("sfu: public addresses resolved to nothing")
	}
	return ips, nil
}
