package server

// Run: the assembly of the pieces (listeners, SFU, registry, signaling,
// metrics, HTTP servers) and the order they shut down in.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"sotto/internal/haproxy"
	"sotto/metrics"
	"sotto/operator"
	"sotto/room"
	"sotto/sfu"
	sig "sotto/signal"
)

// Run serves until ctx ends, then shuts down: /readyz turns 503, WebSockets are
// closed with 1001, and Run returns once every connection is gone.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	logOut := cfg.LogOut
	if logOut == nil {
		logOut = os.Stderr
	}
	log := newLogger(logOut, cfg.logFormat, cfg.logLevel)

	if cfg.ReadHeaderTimeout <= 0 || cfg.ReadTimeout <= 0 { // a Config not from ParseConfig
		cfg.ReadHeaderTimeout, cfg.ReadTimeout = defaultReadHeaderTimeout, defaultReadTimeout
	}

	// Certificates are loaded or made before anything listens, so a bad
	// file stops the start, not the first visitor.
	sec, err := newTransport(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	// The app's TCP port also carries ICE-TCP, for networks that block UDP.
	// Connections from an address in flood cooldown are closed at accept,
	// before TLS or HTTP (armed below, once the signaling server exists),
	// and so are those from an address that holds tcpConnsPerWebSocket per
	// allowed WebSocket already. Behind a proxy every TCP peer is the
	// proxy: neither applies there.
	flood := newFloodListener(ln)
	var appLn net.Listener = flood
	var capped *addrLimitListener
	if !cfg.behindProxy {
		capped = newAddrLimitListener(flood, tcpConnsPerAddr(cfg.maxConnsPerIP))
		appLn = capped
	}
	var acceptFailures atomic.Uint64
	var acceptLogged atomic.Int64 // Unix nanoseconds of the last line
	webLn, iceTCPLn := sfu.SplitICETCP(appLn, sfu.DemuxPeekTimeout, func(err error) {
		n := acceptFailures.Add(1)
		now, last := time.Now().UnixNano(), acceptLogged.Load()
		if (last == 0 || now-last >= int64(acceptLogEvery)) && acceptLogged.CompareAndSwap(last, now) {
			// The error names the server's own address, no client's.
			log.Warn("accepting connections failed; retrying", "err", err, "failures", n)
		}
	})
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if h, _, _ := net.SplitHostPort(cfg.addr); h == "" {
		// ":443" (the container image's) is every interface, IPv4 and
		// IPv6; the listener reports it as "::", which the SFU would take
		// for IPv6 only.
		host = ""
	}
	udpPort := cfg.udpPort
	if _, asked, _ := net.SplitHostPort(cfg.addr); udpPort == 0 && asked != "0" {
		udpPort, _ = strconv.Atoi(port)
	}
	// With --addr on port 0 (tests, throwaway runs) the TCP port is whatever
	// was free; the same number may not be free for UDP, so UDP takes its
	// own free port (0). The SFU's candidates carry the real one.
	media, err := sfu.New(sfu.Config{
		UDPAddr:      net.JoinHostPort(host, strconv.Itoa(udpPort)),
		TCPListener:  iceTCPLn,
		PublicAddrs:  cfg.publicAddrs,
		NoLossRepair: cfg.noLossRepair,
		// The optimistic floor (sfu/hold.go, issue 17).
		NoOptimisticFloor: cfg.noOptimistic,
		Log:               log, // pion's format strings only, never client input (sfu/logs.go)
	})
	if err != nil {
		webLn.Close()
		return fmt.Errorf("voice: %w", err)
	}
	defer media.Close()
	if got := media.Stats().UDPReadBuffer; got > 0 && got < 2*sfu.UDPReadBuffer {
		// Linux reports twice what was asked for when it grants all of it.
		log.Warn("UDP receive buffer smaller than asked: a flood at the UDP port will cost voice packets; raise net.core.rmem_max or run with CAP_NET_ADMIN",
			"granted_bytes", got/2, "asked_bytes", sfu.UDPReadBuffer)
	}

	// The registry tells the signaling server, made below, of each room it
	// purges (for the load balancer to forget it); it purges none before
	// the server serves.
	var signaling *sig.Server
	registry := room.NewRegistry(room.Config{
		MaxRooms:          cfg.maxRooms,
		MaxMembersPerRoom: cfg.maxMembers,
		TalkTimeLimit:     cfg.talkLimit,
		MaxKnockFailures:  cfg.knockFailures,
		ResumeGrace:       resumeGrace(cfg.resumeGrace),
		NodePrefix:        cfg.nodePrefix,
		// The SFU forwards whoever the registry says holds the floor.
		OnFloor: func(id room.ID, holder uuid.UUID) { media.SetFloor(id, holder) },
		// A member the operator makes listen-only is dropped by the SFU at once.
		OnRole: func(id room.ID, member uuid.UUID, role room.Role) { media.SetRole(id, member, role) },
		OnGone: func(id room.ID) { signaling.RoomGone(id) },
	})
	var mreg metrics.Registry
	bi := readBuildInfo(cfg.Stamp)
	mreg.Info("sotto_build_info", "The running binary: version, VCS revision, build date, Go version.",
		map[string]string{"version": bi.Version, "revision": bi.Revision, "build_date": bi.Date, "goversion": bi.GoVersion})
	mreg.RegisterGoAndProcess()
	mreg.GaugeFunc("sotto_rooms", "Live rooms.", func() int64 { n, _ := registry.Counts(); return int64(n) })
	mreg.GaugeFunc("sotto_members", "Members in live rooms.", func() int64 { _, n := registry.Counts(); return int64(n) })
	mreg.GaugeFunc("sotto_media_peers", "Open WebRTC PeerConnections.", func() int64 { return media.Stats().Peers })
	mreg.GaugeFunc("sotto_media_rooms", "Rooms with media state in the SFU.", func() int64 { return int64(media.Stats().Rooms) })
	mreg.CounterFunc("sotto_media_forwarded_packets_total", "RTP packets written to listeners.", func() uint64 { return media.Stats().Forwarded })
	mreg.CounterFunc("sotto_media_dropped_packets_total", "RTP packets dropped because their sender did not hold the floor.", func() uint64 { return media.Stats().Dropped })
	mreg.CounterFunc("sotto_media_held_forwarded_packets_total", "RTP packets that came before their sender's grant, were held and forwarded on it (the optimistic floor); counted in dropped too.", func() uint64 { return media.Stats().HeldForwarded })
	mreg.CounterFunc("sotto_media_rate_limited_packets_total", "RTP packets of the floor holder dropped because they came faster than Opus sends.", func() uint64 { return media.Stats().Limited })
	mreg.CounterFunc("sotto_media_uplink_nacked_packets_total", "Packets of the floor holder seen missing and asked for again (NACK), before listeners missed them.", func() uint64 { return media.Stats().UplinkNACKed })
	mreg.CounterFunc("sotto_media_resent_packets_total", "Packets sent again to listeners that asked for them (NACK).", func() uint64 { return media.Stats().Resent })
	mreg.CounterFunc("sotto_media_nack_refused_packets_total", "Packets listeners asked for again over their budget (50 a second), not resent.", func() uint64 { return media.Stats().NACKRefused })
	mreg.CounterFunc("sotto_media_sessions_ended_total", "Media sessions the SFU ended because they sent more SSRCs than a client needs.", func() uint64 { return media.Stats().Ended })
	mreg.CounterFunc("sotto_media_own_writes_total", "Floor packets the SFU encrypted and sent itself (UDP listeners; ICE-TCP ones go through pion).", func() uint64 { return media.Stats().OwnWrites })
	mreg.CounterFunc("sotto_media_write_calls_total", "System calls that sent them (sendmmsg batches a packet's copies: own writes per call is the batch size).", func() uint64 { return media.Stats().WriteCalls })
	mreg.CounterFunc("sotto_media_udp_filtered_packets_total", "STUN packets at the UDP port naming no ufrag the SFU issued, dropped before ICE.", func() uint64 { return media.Stats().UDPFiltered })
	mreg.GaugeFunc("sotto_media_udp_read_buffer_bytes", "Receive buffer the kernel granted the UDP socket, as getsockopt reports it.", func() int64 { return int64(media.Stats().UDPReadBuffer) })

	var forget func(room.ID, func())
	if cfg.haproxyRuntime != "" {
		// Closed after the WebSockets (deferred after the shutdown below):
		// their closing is what lets rooms be forgotten.
		forgetter, err := haproxy.NewForgetter(cfg.haproxyRuntime, cfg.haproxyTable, &mreg)
		if err != nil {
			webLn.Close()
			return fmt.Errorf("--haproxy-runtime: %w", err)
		}
		defer forgetter.Close()
		forget = func(id room.ID, done func()) { forgetter.Forget(id, func(string) { done() }) }
	}

	var admit sig.AdmitFunc
	if cfg.operatorSecret != nil {
		tokens := operator.NewVerifier(cfg.operatorSecret)
		admit = admitWith(tokens)
		mreg.GaugeFunc("sotto_operator_tokens_used", "Used operator tokens remembered until they expire.", func() int64 { return int64(tokens.UsedTokens()) })
	}
	signaling = sig.NewServer(sig.Config{
		Registry:       registry,
		Metrics:        &mreg,
		Logger:         log,
		AllowedOrigins: cfg.allowOrigins,
		Media:          sfuMedia{media},
		MaxConnsPerIP:  cfg.maxConnsPerIP,
		KnockAddrBurst: cfg.knocksPerIP,
		ClientIP:       sec.clientIP, // nil unless behind a trusted proxy
		Admit:          admit,        // nil unless in operator mode
		RequireRoute:   cfg.clustered(),
		ClusterSize:    cfg.clusterSize,
		Forget:         forget, // nil unless --haproxy-runtime
	})

	if !cfg.behindProxy {
		// Behind a proxy every TCP peer is the proxy: the cooldown is then
		// enforced by the forwarded address, with HTTP 429, in signaling.
		flood.arm(signaling.Penalized)
	}
	mreg.CounterFunc("sotto_flood_refused_connections_total",
		"TCP connections closed at accept because their address was in flood cooldown.", flood.refusedConns)
	if capped != nil {
		mreg.CounterFunc("sotto_addr_limit_refused_connections_total",
			"TCP connections closed at accept because their address held as many as it may.", capped.refusedConns)
	}
	mreg.CounterFunc("sotto_accept_failures_total",
		"Failed accepts on the app's TCP port (such as out of descriptors), retried.", acceptFailures.Load)

	var shuttingDown atomic.Bool
	handler := routes(signaling, &shuttingDown)
	if cfg.operatorSecret != nil {
		handler = withOperatorAPI(handler, operator.NewAPI(cfg.operatorSecret, operatorRooms{registry, media}))
	}
	app := &http.Server{
		Handler:           securityHeaders(sec.guard(handler)),
		TLSConfig:         sec.tls,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          httpErrorLog(log),
	}
	servers := []*http.Server{app}
	listeners := []net.Listener{webLn}
	if cfg.metricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			webLn.Close()
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			mreg.WriteTo(w)
		})
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
			IdleTimeout: idleTimeout, ErrorLog: httpErrorLog(log)})
		listeners = append(listeners, mln)
		fmt.Fprintf(out, "Metrics at http://%s/metrics\n", mln.Addr())
	}
	fmt.Fprintf(out, "Voice on UDP %s and TCP %s\n", addrList(media.UDPAddrs()), ln.Addr())
	sec.announce(out, ln.Addr())

	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() {
			if s == app && s.TLSConfig != nil {
				errc <- s.ServeTLS(listeners[i], "", "")
				return
			}
			errc <- s.Serve(listeners[i])
		}()
	}
	select {
	case err := <-errc:
		return err // a listener failed
	case <-ctx.Done():
	}

	// Shutdown order matters: readiness goes first so a load balancer stops
	// sending people here, then WebSockets are told why they close (1001),
	// then plain HTTP drains. http.Server.Shutdown alone would neither close
	// nor wait for hijacked WebSocket connections.
	log.Info("shutting down")
	shuttingDown.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	var firstErr error
	if err := signaling.Shutdown(sctx); err != nil {
		firstErr = fmt.Errorf("closing WebSockets: %w", err)
	}
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("draining HTTP: %w", err)
		}
	}
	log.Info("stopped")
	return firstErr
}

// sfuMedia is the SFU as the signaling layer sees it.
type sfuMedia struct{ s *sfu.SFU }

func (m sfuMedia) Offer(ctx context.Context, id room.ID, member room.Member, sdp string, send func(json.RawMessage)) (string, error) {
	answer, err := m.s.Offer(ctx, id, member.ID, member.Role, sdp, func(c []byte) { send(c) })
	if errors.Is(err, sfu.ErrBadOffer) {
		err = fmt.Errorf("%w: %w", sig.ErrBadMedia, err)
	}
	return answer, err
}

func (m sfuMedia) Candidate(ctx context.Context, id room.ID, member uuid.UUID, c json.RawMessage) error {
	err := m.s.AddCandidateContext(ctx, id, member, c)
	if err != nil && !errors.Is(err, sfu.ErrClosed) && !errors.Is(err, context.Canceled) {
		// A candidate the client got wrong, or one for a session that has
		// not started: either way the client's doing.
		err = fmt.Errorf("%w: %w", sig.ErrBadMedia, err)
	}
	return err
}

func (m sfuMedia) Leave(id room.ID, member uuid.UUID) { m.s.Leave(id, member) }

// The optimistic floor (sig.FloorHolding): the SFU holds a talker's first
// packets for its grant.
func (m sfuMedia) FloorHoldMS() int64                        { return m.s.HoldWindow().Milliseconds() }
func (m sfuMedia) FloorRefused(id room.ID, member uuid.UUID) { m.s.FloorRefused(id, member) }

// resumeGrace maps the flag (0: none) to room.Config (negative: none).
func resumeGrace(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
