// Sotto serves private push-to-talk voice rooms: the web app, embedded in this
// binary, and the WebSocket signaling that rooms need. Rooms live in memory only.
//
// This file is configuration, wiring and shutdown, and transport.go how the
// port is secured (TLS, a trusted proxy, or loopback only) and `sotto
// healthcheck`; each other job has its package: room/ (registry and floor),
// signal/ (WebSocket protocol), sfu/ (media forwarding), metrics/, tlsconf/
// (certificates), termqr/ (the LAN address as a QR code).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"sotto/metrics"
	"sotto/operator"
	"sotto/room"
	"sotto/sfu"
	sig "sotto/signal"
	"sotto/static"
	"sotto/tlsconf"
)

// Server timeouts. Signaling lives on hijacked WebSocket connections, so these
// bound only plain HTTP requests and the WebSocket handshake (gorilla/websocket
// clears the connection's deadlines when it takes it over, and signal sets its
// own).
const (
	readHeaderTimeout = 10 * time.Second
	// readTimeout bounds reading a whole request, headers and body. No
	// request carries more than a small JSON body (the operator API takes
	// at most 1 KiB), so one that has not arrived in 30 s is not coming.
	// Without it a request announcing a Content-Length it never sends
	// holds its connection for ever: net/http reads the body to reuse the
	// connection even when the handler does not (issue 12).
	readTimeout    = 30 * time.Second
	idleTimeout    = 120 * time.Second
	maxHeaderBytes = 16 << 10

	// acceptLogEvery spaces the log lines about failing accepts: out of
	// descriptors the listener retries up to once a second, and whoever
	// keeps the process there should not also fill its log.
	acceptLogEvery = time.Minute

	// defaultAddr is loopback: the only place plain HTTP is served.
	defaultAddr            = "127.0.0.1:8080"
	defaultShutdownTimeout = 10 * time.Second
)

// config is everything the operator can set, by flag or SOTTO_* variable.
type config struct {
	addr            string
	metricsAddr     string
	logLevel        slog.Level
	logFormat       string // "text" or "json" (logging.go)
	maxRooms        int
	maxMembers      int
	talkLimit       time.Duration
	knockFailures   int
	resumeGrace     time.Duration
	operatorSecret  []byte // SOTTO_SECRET: operator mode when set (operator_mode.go)
	maxConnsPerIP   int
	knocksPerIP     int
	allowOrigins    []string
	shutdownTimeout time.Duration
	udpPort         int
	publicAddrs     []string

	// Transport security: at most one of the TLS modes (certificate files,
	// ACME, self-signed) or behindProxy; none only on a loopback address.
	tlsCert, tlsKey string
	acmeDomains     []string
	acmeCache       string
	acmeDirectory   string
	selfSigned      bool
	behindProxy     bool
	trustedProxies  []netip.Prefix

	logOut io.Writer // where the log goes; nil: os.Stderr (tests set it)
	// No flag sets these: they are readHeaderTimeout and readTimeout,
	// which tests shorten.
	readHeaderTimeout, readTimeout time.Duration
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheckMain(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "version" {
		os.Exit(versionMain(os.Stdout))
	}
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if errors.Is(err, errShowVersion) {
		os.Exit(versionMain(os.Stdout))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sotto:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sotto:", err)
		os.Exit(1)
	}
}

// parseConfig reads flags, each of which may also come from the environment
// variable named in its help (flags win over the environment).
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("sotto", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: sotto [flags]\n       sotto healthcheck [flags]\n       sotto version\n\n"+
			"Sotto serves private push-to-talk voice rooms, held in memory only.\n"+
			"Plain HTTP is served on loopback only; elsewhere choose --acme-domain, --tls-cert/--tls-key,\n"+
			"--self-signed or --behind-proxy. `sotto healthcheck` asks a running server with the same\n"+
			"flags for /readyz and exits 0 if it is ready, 1 if not. `sotto version` (or --version) prints\n"+
			"the version, revision, build date and Go version.\n"+
			"Every flag can also be set by the environment variable shown in brackets.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nEnvironment only:\n  SOTTO_SECRET\n    \toperator mode: clients need tokens signed with this secret (32 or more characters),\n"+
			"    \tand the operator API at /api/v1/ takes it as its bearer; never a flag, so it stays out of process lists\n")
	}
	c := config{readHeaderTimeout: readHeaderTimeout, readTimeout: readTimeout}
	var logLevel, origins, public, domains, proxies string
	var showVersion bool
	// A malformed environment value is an error, as a malformed flag is:
	// silently using the default could, say, leave a limit off.
	var envErrs []error
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not a whole number", name, v))
			}
			return n
		}
		return def
	}
	envDur := func(name string, def time.Duration) time.Duration {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not a duration like 30s", name, v))
			}
			return d
		}
		return def
	}
	envBool := func(name string) bool {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not true or false", name, v))
			}
			return b
		}
		return false
	}
	fs.StringVar(&c.addr, "addr", env("SOTTO_ADDR", defaultAddr), "address to serve the app and signaling on; plain HTTP only on loopback [SOTTO_ADDR]")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("SOTTO_METRICS_ADDR", ""), "address for Prometheus metrics at /metrics; off when empty [SOTTO_METRICS_ADDR]")
	fs.StringVar(&logLevel, "log-level", env("SOTTO_LOG_LEVEL", "info"), "debug, info, warn or error [SOTTO_LOG_LEVEL]")
	fs.StringVar(&c.logFormat, "log-format", env("SOTTO_LOG_FORMAT", "text"), "text (key=value lines) or json (one object a line, for log pipelines) [SOTTO_LOG_FORMAT]")
	fs.BoolVar(&showVersion, "version", false, "print the version, revision, build date and Go version, and exit")
	fs.IntVar(&c.maxRooms, "max-rooms", envInt("SOTTO_MAX_ROOMS", room.DefaultMaxRooms), "live rooms at most [SOTTO_MAX_ROOMS]")
	fs.IntVar(&c.maxMembers, "max-members", envInt("SOTTO_MAX_MEMBERS", room.DefaultMaxMembersPerRoom), "members per room at most [SOTTO_MAX_MEMBERS]")
	fs.DurationVar(&c.talkLimit, "talk-limit", envDur("SOTTO_TALK_LIMIT", room.DefaultTalkTimeLimit), "longest single turn holding the floor [SOTTO_TALK_LIMIT]")
	fs.DurationVar(&c.resumeGrace, "resume-grace", envDur("SOTTO_RESUME_GRACE", room.DefaultResumeGrace), "how long a member whose network dropped stays in its room for its client to resume it; 0: leave at once [SOTTO_RESUME_GRACE]")
	fs.IntVar(&c.knockFailures, "code-tries", envInt("SOTTO_CODE_TRIES", room.DefaultMaxKnockFailures), "wrong room-code tries a code survives before the room gets a new one [SOTTO_CODE_TRIES]")
	fs.IntVar(&c.maxConnsPerIP, "max-conns-per-ip", envInt("SOTTO_MAX_CONNS_PER_IP", sig.DefaultMaxConnsPerIP), "WebSocket connections per IPv4 address or IPv6 /64; without --behind-proxy, 8 times as many TCP connections to --addr [SOTTO_MAX_CONNS_PER_IP]")
	fs.IntVar(&c.knocksPerIP, "knocks-per-ip", envInt("SOTTO_KNOCKS_PER_IP", sig.KnockAddrBurst), "room-code tries per IPv4 address or IPv6 /64 before one per 10 s [SOTTO_KNOCKS_PER_IP]")
	fs.StringVar(&origins, "allow-origin", env("SOTTO_ALLOW_ORIGIN", ""), "comma-separated extra origins (e.g. https://app.example.com) allowed to open WebSockets; the server's own origin is always allowed [SOTTO_ALLOW_ORIGIN]")
	fs.IntVar(&c.udpPort, "udp-port", envInt("SOTTO_UDP_PORT", 0), "UDP port for all voice traffic, on the host of --addr; 0 means the same number as the --addr port (any free port if that is 0) [SOTTO_UDP_PORT]")
	fs.StringVar(&public, "public-ip", env("SOTTO_PUBLIC_IP", ""), "comma-separated IPs or host names clients reach this server at, when it is behind NAT or Docker [SOTTO_PUBLIC_IP]")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", envDur("SOTTO_SHUTDOWN_TIMEOUT", defaultShutdownTimeout), "how long to wait for connections to close on SIGTERM [SOTTO_SHUTDOWN_TIMEOUT]")
	fs.StringVar(&c.tlsCert, "tls-cert", env("SOTTO_TLS_CERT", ""), "TLS certificate chain (PEM) to serve; re-read when it changes [SOTTO_TLS_CERT]")
	fs.StringVar(&c.tlsKey, "tls-key", env("SOTTO_TLS_KEY", ""), "private key (PEM) of --tls-cert [SOTTO_TLS_KEY]")
	fs.StringVar(&domains, "acme-domain", env("SOTTO_ACME_DOMAIN", ""), "comma-separated domain names to get certificates for automatically (Let's Encrypt, TLS-ALPN-01 on port 443); using it accepts the CA's terms [SOTTO_ACME_DOMAIN]")
	fs.StringVar(&c.acmeCache, "acme-cache", env("SOTTO_ACME_CACHE", ""), "directory that keeps ACME certificates across restarts, the only thing Sotto ever writes; memory only when empty [SOTTO_ACME_CACHE]")
	fs.StringVar(&c.acmeDirectory, "acme-directory", env("SOTTO_ACME_DIRECTORY", tlsconf.DefaultACMEDirectory), "ACME directory URL (e.g. a CA's staging directory) [SOTTO_ACME_DIRECTORY]")
	fs.BoolVar(&c.selfSigned, "self-signed", envBool("SOTTO_SELF_SIGNED"), "serve TLS with a certificate made in memory at start, for a LAN; prints its fingerprint [SOTTO_SELF_SIGNED]")
	fs.BoolVar(&c.behindProxy, "behind-proxy", envBool("SOTTO_BEHIND_PROXY"), "serve plain HTTP to a reverse proxy that terminates TLS; needs --trusted-proxy [SOTTO_BEHIND_PROXY]")
	fs.StringVar(&proxies, "trusted-proxy", env("SOTTO_TRUSTED_PROXY", ""), "comma-separated addresses or CIDRs of the proxy, the only peers whose X-Forwarded-For and X-Forwarded-Proto are believed [SOTTO_TRUSTED_PROXY]")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if showVersion {
		return c, errShowVersion
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if err := errors.Join(envErrs...); err != nil {
		return c, err
	}
	if err := c.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return c, fmt.Errorf("--log-level: %w", err)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, fmt.Errorf("--log-format: %q is not text or json", c.logFormat)
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
				return c, fmt.Errorf("--allow-origin: %q is not an origin like https://example.com", o)
			}
			c.allowOrigins = append(c.allowOrigins, strings.TrimSuffix(o, "/"))
		}
	}
	for _, a := range strings.Split(public, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.publicAddrs = append(c.publicAddrs, a)
		}
	}
	switch {
	case c.udpPort < 0 || c.udpPort > 65535:
		return c, errors.New("--udp-port must be a port number")
	case c.maxRooms < 1:
		return c, errors.New("--max-rooms must be at least 1")
	case c.maxMembers < 2:
		return c, errors.New("--max-members must be at least 2")
	case c.talkLimit < time.Second:
		return c, errors.New("--talk-limit must be at least 1s")
	case c.resumeGrace < 0:
		return c, errors.New("--resume-grace must not be negative")
	case c.knockFailures < 1:
		return c, errors.New("--code-tries must be at least 1")
	case c.maxConnsPerIP < 1:
		return c, errors.New("--max-conns-per-ip must be at least 1")
	case c.knocksPerIP < 1:
		return c, errors.New("--knocks-per-ip must be at least 1")
	case c.shutdownTimeout <= 0:
		return c, errors.New("--shutdown-timeout must be positive")
	}
	var err error
	if c.acmeDomains, err = parseDomains(domains); err != nil {
		return c, fmt.Errorf("--acme-domain: %w", err)
	}
	if c.trustedProxies, err = parsePrefixes(proxies); err != nil {
		return c, fmt.Errorf("--trusted-proxy: %w", err)
	}
	if err := c.checkTransport(); err != nil {
		return c, err
	}
	if c.operatorSecret, err = readOperatorSecret(getenv); err != nil {
		return c, err
	}
	return c, nil
}

// run serves until ctx ends, then shuts down: /readyz turns 503, WebSockets are
// closed with 1001, and run returns once every connection is gone.
func run(ctx context.Context, cfg config, out io.Writer) error {
	logOut := cfg.logOut
	if logOut == nil {
		logOut = os.Stderr
	}
	log := newLogger(logOut, cfg.logFormat, cfg.logLevel)

	if cfg.readHeaderTimeout <= 0 || cfg.readTimeout <= 0 { // a config not from parseConfig
		cfg.readHeaderTimeout, cfg.readTimeout = readHeaderTimeout, readTimeout
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
		UDPAddr:     net.JoinHostPort(host, strconv.Itoa(udpPort)),
		TCPListener: iceTCPLn,
		PublicAddrs: cfg.publicAddrs,
		Log:         log, // pion's format strings only, never client input (sfu/logs.go)
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

	registry := room.NewRegistry(room.Config{
		MaxRooms:          cfg.maxRooms,
		MaxMembersPerRoom: cfg.maxMembers,
		TalkTimeLimit:     cfg.talkLimit,
		MaxKnockFailures:  cfg.knockFailures,
		ResumeGrace:       resumeGrace(cfg.resumeGrace),
		// The SFU forwards whoever the registry says holds the floor.
		OnFloor: func(id room.ID, holder uuid.UUID) { media.SetFloor(id, holder) },
		// A member the operator makes listen-only is dropped by the SFU at once.
		OnRole: func(id room.ID, member uuid.UUID, role room.Role) { media.SetRole(id, member, role) },
	})
	var mreg metrics.Registry
	bi := readBuildInfo()
	mreg.Info("sotto_build_info", "The running binary: version, VCS revision, build date, Go version.",
		map[string]string{"version": bi.Version, "revision": bi.Revision, "build_date": bi.Date, "goversion": bi.GoVersion})
	mreg.RegisterGoAndProcess()
	mreg.GaugeFunc("sotto_rooms", "Live rooms.", func() int64 { n, _ := registry.Counts(); return int64(n) })
	mreg.GaugeFunc("sotto_members", "Members in live rooms.", func() int64 { _, n := registry.Counts(); return int64(n) })
	mreg.GaugeFunc("sotto_media_peers", "Open WebRTC PeerConnections.", func() int64 { return media.Stats().Peers })
	mreg.GaugeFunc("sotto_media_rooms", "Rooms with media state in the SFU.", func() int64 { return int64(media.Stats().Rooms) })
	mreg.CounterFunc("sotto_media_forwarded_packets_total", "RTP packets written to listeners.", func() uint64 { return media.Stats().Forwarded })
	mreg.CounterFunc("sotto_media_dropped_packets_total", "RTP packets dropped because their sender did not hold the floor.", func() uint64 { return media.Stats().Dropped })
	mreg.CounterFunc("sotto_media_rate_limited_packets_total", "RTP packets of the floor holder dropped because they came faster than Opus sends.", func() uint64 { return media.Stats().Limited })
	mreg.CounterFunc("sotto_media_sessions_ended_total", "Media sessions the SFU ended because they sent more SSRCs than a client needs.", func() uint64 { return media.Stats().Ended })
	mreg.CounterFunc("sotto_media_udp_filtered_packets_total", "STUN packets at the UDP port naming no ufrag the SFU issued, dropped before ICE.", func() uint64 { return media.Stats().UDPFiltered })
	mreg.GaugeFunc("sotto_media_udp_read_buffer_bytes", "Receive buffer the kernel granted the UDP socket, as getsockopt reports it.", func() int64 { return int64(media.Stats().UDPReadBuffer) })

	var admit sig.AdmitFunc
	if cfg.operatorSecret != nil {
		tokens := operator.NewVerifier(cfg.operatorSecret)
		admit = admitWith(tokens)
		mreg.GaugeFunc("sotto_operator_tokens_used", "Used operator tokens remembered until they expire.", func() int64 { return int64(tokens.UsedTokens()) })
	}
	signaling := sig.NewServer(sig.Config{
		Registry:       registry,
		Metrics:        &mreg,
		Logger:         log,
		AllowedOrigins: cfg.allowOrigins,
		Media:          sfuMedia{media},
		MaxConnsPerIP:  cfg.maxConnsPerIP,
		KnockAddrBurst: cfg.knocksPerIP,
		ClientIP:       sec.clientIP, // nil unless behind a trusted proxy
		Admit:          admit,        // nil unless in operator mode
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
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       cfg.readTimeout,
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
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: cfg.readHeaderTimeout, ReadTimeout: cfg.readTimeout,
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

func addrList(addrs []net.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
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

// routes maps paths to handlers. Everything that is not an API is the app.
func routes(signaling http.Handler, shuttingDown *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", signaling)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if shuttingDown.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	app, err := static.Handler()
	if err != nil {
		panic(err) // the embedded files are fixed at build time; static's tests load them
	}
	mux.Handle("GET /", app)
	return mux
}

// securityHeaders sets the headers every response carries. The policy allows
// only this origin's own scripts, styles, workers and WebSocket.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; worker-src 'self'; "+
			"connect-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "+
			"frame-ancestors 'none'; form-action 'self'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// resumeGrace maps the flag (0: none) to room.Config (negative: none).
func resumeGrace(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
