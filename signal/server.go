// Package signal is Sotto's signaling server: the WebSocket endpoint through
// which clients create and join rooms, take and release the floor, relay
// end-to-end encrypted blobs and negotiate media. The protocol is specified
// in docs/protocol.md.
//
// Each connection has one reader goroutine, which runs the client's requests
// against the room.Registry in order, and one writer goroutine, which owns the
// socket's write side and drains a bounded send queue. Rooms reach a member
// through the Deliver method of its connection (a room.Sink), which only
// queues, so a slow client can never stall a room.
package signal

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"sotto/metrics"
	"sotto/room"
)

// Config configures a Server. Registry is required; every zero limit takes the
// default of the same name in limits.go.
type Config struct {
	// Registry holds the rooms.
	Registry *room.Registry
	// Media is the SFU; nil answers offer and ice with media_unavailable.
	Media Media
	// Logger gets the server's log lines, which never hold an address, a
	// room id, a nameplate, a member id or anything a client sent. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, gets the server's metrics: sotto_connections_total,
	// sotto_connections_open, sotto_messages_total, sotto_rejections_total.
	// (The registry's sotto_rooms and sotto_members are main's to register.)
	Metrics *metrics.Registry
	// AllowedOrigins are origins besides the server's own (the request's
	// Host) whose pages may connect, written as a browser sends them:
	// "https://example.com" or "http://localhost:5173".
	AllowedOrigins []string

	ReadLimit       int64         // largest client message, bytes
	PingPeriod      time.Duration // keepalive ping interval
	PongWait        time.Duration // silence after which a client is dropped
	WriteWait       time.Duration // bound on one write
	CloseGrace      time.Duration // wait for the client's close frame
	SendQueue       int           // messages queued for a client before it is dropped
	MessageRate     float64       // per-connection messages per second
	MessageBurst    int           // per-connection burst
	RateStrikes     int           // rate-limited messages (less those forgiven) that close a connection
	MaxConnsPerIP   int           // open connections per IPv4 address or IPv6 /64
	FailedJoinRate  float64       // server-wide failed joins per second
	FailedJoinBurst int           // server-wide failed-join burst
	// per-address failed joins per second and burst (budget.go)
	FailedJoinAddrRate  float64
	FailedJoinAddrBurst int
	// per-address blob fan-out, bytes per second and burst (BlobFanoutRate)
	BlobRate       float64
	BlobBurst      int
	KnockAddrBurst int // knocks per client address before the KnockAddrEvery pace (knock.go)

	// ClientIP, if not nil, names the address a request counts against for
	// MaxConnsPerIP instead of its TCP peer: behind a reverse proxy, the
	// client address the proxy forwarded (main trusts the forwarded headers
	// only from the configured proxies). An invalid Addr falls back to the
	// TCP peer.
	ClientIP func(*http.Request) netip.Addr

	// Admit, if not nil, turns on operator mode: create and join must carry
	// a token it accepts (see operator.go). Nil: open rooms, where knowing
	// the room secret is enough.
	Admit AdmitFunc

	// RequireRoute refuses (HTTP 400) a WebSocket whose URL names neither a
	// room (/ws?r=) nor a nameplate (/ws?np=): a node of a cluster, where a
	// connection without a key could be sent anywhere and then create a
	// room on a node its client chose. False, as on a single node: a
	// connection without a key may name any room, as before keys existed
	// (old clients). A key that is present is always checked (route.go).
	RequireRoute bool

	// ClusterSize is how many nodes share the guessing budgets (N of
	// --cluster-size): each budget that bounds guessing (failed joins and
	// knocks, per address and server-wide) is divided by it, so that the
	// odds docs/security.md publishes hold for the whole cluster however an
	// attacker spreads its guesses over the nodes. 0 or 1: one node. See
	// divideBudgets.
	ClusterSize int

	// Forget, if not nil, asks the load balancer to forget a room id
	// (lbforget.go): called once the id has no live room here and no open
	// WebSocket named it. It must neither block nor call back into the
	// Server or the Registry, and it calls done once the forget is
	// answered, has failed or was dropped: at once, or later from any
	// goroutine. Until then a WebSocket naming the id gets HTTP 503. The
	// Registry's OnGone must call RoomGone (NewServer panics without one).
	Forget func(id room.ID, done func())

	// now is the clock of the flood cooldowns and of the failed-join and
	// knock budgets; nil means time.Now. Tests
	// set it to move time on without waiting.
	now func() time.Time
}

func (c *Config) setDefaults() {
	setDefault(&c.ReadLimit, DefaultReadLimit)
	setDefault(&c.PingPeriod, DefaultPingPeriod)
	setDefault(&c.PongWait, DefaultPongWait)
	setDefault(&c.WriteWait, DefaultWriteWait)
	setDefault(&c.CloseGrace, DefaultCloseGrace)
	setDefault(&c.SendQueue, DefaultSendQueue)
	setDefault(&c.MessageRate, DefaultMessageRate)
	setDefault(&c.MessageBurst, DefaultMessageBurst)
	setDefault(&c.RateStrikes, DefaultRateStrikes)
	setDefault(&c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	setDefault(&c.FailedJoinRate, DefaultFailedJoinRate)
	setDefault(&c.FailedJoinBurst, DefaultFailedJoinBurst)
	setDefault(&c.FailedJoinAddrRate, DefaultFailedJoinAddrRate)
	setDefault(&c.FailedJoinAddrBurst, DefaultFailedJoinAddrBurst)
	setDefault(&c.BlobRate, BlobFanoutRate)
	setDefault(&c.BlobBurst, BlobFanoutBurst)
	setDefault(&c.KnockAddrBurst, KnockAddrBurst)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = &metrics.Registry{} // counted, not exported
	}
	if c.now == nil {
		c.now = time.Now
	}
}

func setDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Server is the signaling endpoint, an http.Handler to mount at /ws.
type Server struct {
	cfg      Config
	reg      *room.Registry
	log      *slog.Logger
	m        serverMetrics
	upgrader websocket.Upgrader
	origins  map[string]bool // normalized AllowedOrigins
	guesses  *guessBudget
	blobs    *blobBudget
	knocks   *knockTable
	lb       *lbForgets // nil without Config.Forget

	mu     sync.Mutex
	closed bool
	conns  map[*conn]struct{}
	perIP  map[netip.Prefix]int
	// wg counts ServeHTTP calls in progress and every connection's reader
	// and writer goroutines.
	wg sync.WaitGroup

	// The flood cooldowns (see penalize), under a lock of their own:
	// Penalized is asked about every TCP connection a listener accepts.
	cdMu      sync.Mutex
	cooldowns map[netip.Prefix]cooldown
	nextSweep time.Time // when penalize next drops forgotten entries
	cdFull    bool      // the table was full at the last new entry (logged once)
}

// cooldown is an address's flood cooldown: refused until until; length is
// the cooldown it was last given.
type cooldown struct {
	until  time.Time
	length time.Duration
}

// forgotten reports whether the address has gone as long as its last
// cooldown, after it ended, without flooding: its next cooldown starts
// again at FloodCooldown, and its entry may be dropped.
func (c cooldown) forgotten(now time.Time) bool { return !now.Before(c.until.Add(c.length)) }

// NewServer returns a Server. It panics if cfg.Registry is nil. An allowed
// origin that is not of the form http(s)://host[:port] is logged and ignored
// (which only ever refuses more).
func NewServer(cfg Config) *Server {
	if cfg.Registry == nil {
		panic("signal: Config.Registry is required")
	}
	if cfg.Forget != nil && cfg.Registry.Config().OnGone == nil {
		panic("signal: Config.Forget needs the Registry's OnGone to call Server.RoomGone")
	}
	cfg.setDefaults()
	knockLimits := cfg.divideBudgets()
	s := &Server{
		cfg:       cfg,
		reg:       cfg.Registry,
		log:       cfg.Logger,
		m:         newServerMetrics(cfg.Metrics),
		origins:   make(map[string]bool),
		guesses:   newGuessBudget(&cfg),
		blobs:     newBlobBudget(&cfg),
		knocks:    newKnockTable(knockLimits, cfg.now),
		lb:        newLBForgets(cfg.Forget),
		conns:     make(map[*conn]struct{}),
		perIP:     make(map[netip.Prefix]int),
		cooldowns: make(map[netip.Prefix]cooldown),
	}
	for _, o := range cfg.AllowedOrigins {
		n, ok := normalizeOrigin(o)
		if !ok {
			// The flag's value is the operator's, not a client's: safe to log.
			s.log.Error("signal: ignoring an allowed origin not of the form https://host[:port]", "origin", o)
			continue
		}
		s.origins[n] = true
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: handshakeTimeout,
		// Writes share a pool of buffers, used only while a message is being
		// written, so an idle connection holds none.
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: &sync.Pool{},
		// Compression stays off: the read limit then counts wire bytes,
		// and no client can make the server inflate a small message.
		EnableCompression: false,
		// ServeHTTP checks the origin itself, before counting the
		// connection against its address.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, _ error) {
			s.m.reject(reasonHandshake)
			http.Error(w, http.StatusText(status), status)
		},
	}
	return s
}

// ServeHTTP upgrades a request to a WebSocket connection and serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.refuse(w, http.StatusForbidden, reasonOrigin, "origin not allowed")
		return
	}
	rt, ok := s.routeOf(r)
	if !ok {
		s.refuse(w, http.StatusBadRequest, reasonBadRoute, "bad routing key in the URL")
		return
	}
	key := s.clientKey(r)
	if left := s.coolingDown(key); left > 0 {
		// Connection: close makes a flooder that keeps its HTTP connection
		// alive for another try open a new one (which a listener wrapped
		// around Penalized then closes at once, before any HTTP).
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", strconv.Itoa(int((left+time.Second-1)/time.Second)))
		s.refuse(w, http.StatusTooManyRequests, reasonCooldown, "this address is refused for a while: it flooded")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.refuse(w, http.StatusServiceUnavailable, reasonShuttingDown, "server shutting down")
		return
	}
	if s.perIP[key] >= s.cfg.MaxConnsPerIP {
		s.mu.Unlock()
		s.refuse(w, http.StatusTooManyRequests, reasonPerIPCap, "too many connections from this address")
		return
	}
	s.perIP[key]++
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	if !s.lb.acquire(rt) {
		s.releaseIP(key)
		w.Header().Set("Retry-After", strconv.Itoa(int(ForgetRetryAfter/time.Second)))
		s.refuse(w, http.StatusServiceUnavailable, reasonForgetPending, "busy; try again in a moment")
		return
	}

	var hdr http.Header
	if p := chooseSubprotocol(websocket.Subprotocols(r)); p != "" {
		hdr = http.Header{"Sec-Websocket-Protocol": {p}}
	}
	ws, err := s.upgrader.Upgrade(w, r, hdr)
	if err != nil {
		s.releaseConn(key, rt) // Upgrade has answered the request
		return
	}
	s.m.connections.Inc()
	if ws.Subprotocol() != Subprotocol {
		s.m.reject(reasonVersion)
		s.closeNow(ws, CloseUnsupportedVersion, "unsupported protocol version")
		s.releaseConn(key, rt)
		return
	}
	c := newConn(s, ws, key, rt)
	s.mu.Lock()
	if s.closed { // Shutdown began during the upgrade
		s.mu.Unlock()
		s.closeNow(ws, websocket.CloseGoingAway, "server shutting down")
		s.releaseConn(key, rt)
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	s.m.open.Inc()
	// Fresh goroutines rather than this one: it would keep net/http's request
	// and connection state alive for as long as the WebSocket lives.
	go c.writeLoop()
	go c.readLoop()
}

// Shutdown stops accepting connections (HTTP 503), closes every connection
// with 1001, which takes every member out of its room, and waits until every
// connection goroutine has ended, or ctx is done; then it cuts the remaining
// connections and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.guesses.close()
	s.blobs.close()
	s.knocks.close()
	s.log.Info("signal: closing connections", "count", len(conns))
	for _, c := range conns {
		c.shut(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.ws.NetConn().Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// forget drops a closed connection.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.releaseConn(c.ipKey, c.route)
	s.m.open.Dec()
	s.log.Debug("signal: connection closed", "code", c.closeCode)
}

// releaseConn gives back what a connection that got past the checks held:
// its place in its address's count, and its part in keeping its room's id
// known to the load balancer.
func (s *Server) releaseConn(key netip.Prefix, rt route) {
	s.releaseIP(key)
	s.lb.release(s.reg, rt)
}

// RoomGone is to be called by the Registry's OnGone (room.Config): with
// Config.Forget, a purged room no open WebSocket names is forgotten at the
// load balancer. It neither blocks nor calls the Registry.
func (s *Server) RoomGone(id room.ID) { s.lb.roomGone(id) }

func (s *Server) releaseIP(key netip.Prefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[key]--; s.perIP[key] <= 0 {
		delete(s.perIP, key)
	}
}

// penalize puts key in flood cooldown: a connection of its was closed with
// 1008. A 1008 during a cooldown (from a connection opened before it began)
// changes nothing; the first after it ended doubles it, up to
// MaxFloodCooldown; one after the entry is forgotten starts again at
// FloodCooldown. See MaxFloodCooldownAddrs for the table's bound.
func (s *Server) penalize(key netip.Prefix) {
	now := s.cfg.now()
	s.cdMu.Lock()
	defer s.cdMu.Unlock()
	s.sweep(now)
	c, ok := s.cooldowns[key]
	switch {
	case ok && now.Before(c.until):
		return
	case ok && !c.forgotten(now):
		c.length = min(2*c.length, MaxFloodCooldown)
	case !ok && len(s.cooldowns) >= MaxFloodCooldownAddrs:
		if !s.cdFull {
			s.cdFull = true
			s.log.Warn("signal: flood cooldown table full; new flooding addresses are held to the per-connection limits only",
				"entries", len(s.cooldowns))
		}
		return
	default: // new, or forgotten but not yet swept
		c.length = FloodCooldown
	}
	c.until = now.Add(c.length)
	s.cooldowns[key] = c
	s.log.Debug("signal: address in flood cooldown", "seconds", c.length.Seconds())
}

// sweep drops forgotten cooldowns, if the last sweep was FloodCooldown ago
// or more. Called with cdMu held.
func (s *Server) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	for k, c := range s.cooldowns {
		if c.forgotten(now) {
			delete(s.cooldowns, k)
		}
	}
	s.nextSweep = now.Add(FloodCooldown)
	if len(s.cooldowns) < MaxFloodCooldownAddrs {
		s.cdFull = false
	}
}

// coolingDown returns how long key is still refused for flooding; 0: it
// is not.
func (s *Server) coolingDown(key netip.Prefix) time.Duration {
	now := s.cfg.now()
	s.cdMu.Lock()
	s.sweep(now)
	c, ok := s.cooldowns[key]
	s.cdMu.Unlock()
	if !ok {
		return 0
	}
	return max(0, c.until.Sub(now))
}

// Penalized reports whether connections from a are refused for now because
// a connection from its address (its IPv4 address or IPv6 /64, as for
// MaxConnsPerIP) was closed for flooding: see FloodCooldown. A listener may
// ask it to close such connections at accept, before any TLS or HTTP, when
// the TCP peer is the client (not behind a proxy, where every peer is the
// proxy and ServeHTTP refuses by the forwarded address instead). An invalid
// address is never penalized.
func (s *Server) Penalized(a netip.Addr) bool {
	return a.IsValid() && s.coolingDown(AddrKey(a)) > 0
}

func (s *Server) refuse(w http.ResponseWriter, status int, reason, text string) {
	s.m.reject(reason)
	s.log.Debug("signal: connection refused", "reason", reason)
	http.Error(w, text, status)
}

// closeNow closes a connection that never started its goroutines, reading
// and discarding until the client answers the close frame (see conn.shut).
func (s *Server) closeNow(ws *websocket.Conn, code int, text string) {
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(s.cfg.WriteWait))
	ws.SetReadLimit(s.cfg.ReadLimit)
	ws.SetReadDeadline(time.Now().Add(s.cfg.CloseGrace))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	ws.Close()
}

// originAllowed is the browser's half of the same-origin policy, which
// WebSockets lack: a page from another site could otherwise open a socket to
// this server from a visitor's browser. Browsers always send Origin on a
// WebSocket handshake, so a request without one is not from a browser page
// (a bot, a test, a load generator) and no visitor's browser can be abused
// through it; it is allowed.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header["Origin"]
	if len(origin) == 0 {
		return true
	}
	u, err := url.Parse(origin[0])
	if err != nil {
		return false
	}
	if u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	n, ok := normalizeOrigin(origin[0])
	return ok && s.origins[n]
}

// normalizeOrigin lower-cases an origin and drops a default port, the form
// in which browsers send it.
func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" { // "http://:" has a Host (":") but no host name
		return "", false
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// chooseSubprotocol picks Subprotocol if the client offers it. Otherwise it
// echoes the client's first choice, if it looks like a protocol name, so that
// the handshake succeeds and the client can read close code 4001 (a browser
// that offered protocols and got none back fails the connection with no
// reason at all); the server then closes at once without reading a message.
func chooseSubprotocol(offered []string) string {
	for _, p := range offered {
		if p == Subprotocol {
			return p
		}
	}
	if len(offered) == 0 || len(offered[0]) > 64 {
		return ""
	}
	for _, ch := range offered[0] {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.ContainsRune(".-_", ch)) {
			return ""
		}
	}
	return offered[0]
}

// clientKey is the key r counts against: Config.ClientIP's answer when it
// has one, else the TCP peer's.
func (s *Server) clientKey(r *http.Request) netip.Prefix {
	if s.cfg.ClientIP != nil {
		if a := s.cfg.ClientIP(r); a.IsValid() {
			return AddrKey(a)
		}
	}
	return ipKey(r.RemoteAddr)
}

// ipKey is the address a connection counts against: an IPv4 address, or the
// /64 an IPv6 address is in (one subscriber usually gets a whole /64). It
// comes from the TCP peer; behind a proxy, Config.ClientIP supplies the
// forwarded address instead. An address that does not parse (not TCP)
// counts against one shared key.
func ipKey(remoteAddr string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	return AddrKey(ap.Addr())
}

// AddrKey is what every per-address limit counts against, the key of
// MaxConnsPerIP: the IPv4 address, or the IPv6 /64 (one home or phone gets a
// /64 and can pick any address in it); an IPv4-mapped address is its IPv4
// address. The zero Prefix for an invalid address. The TCP cap at accept
// (internal/server/addrlimit.go) uses it too, so both count the same "address".
func AddrKey(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}
