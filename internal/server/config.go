package server

// What an operator can set, by flag or SOTTO_* variable, and the checks that
// turn a contradictory or unsafe setting into an error before anything listens.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"sotto/internal/haproxy"
	"sotto/room"
	sig "sotto/signal"
	"sotto/tlsconf"
)

// Server timeouts. Signaling lives on hijacked WebSocket connections, so these
// bound only plain HTTP requests and the WebSocket handshake (gorilla/websocket
// clears the connection's deadlines when it takes it over, and signal sets its
// own).
const (
	defaultReadHeaderTimeout = 10 * time.Second
	// defaultReadTimeout bounds reading a whole request, headers and body. No
	// request carries more than a small JSON body (the operator API takes
	// at most 1 KiB), so one that has not arrived in 30 s is not coming.
	// Without it a request announcing a Content-Length it never sends
	// holds its connection for ever: net/http reads the body to reuse the
	// connection even when the handler does not (issue 12).
	defaultReadTimeout = 30 * time.Second
	idleTimeout        = 120 * time.Second
	maxHeaderBytes     = 16 << 10

	// acceptLogEvery spaces the log lines about failing accepts: out of
	// descriptors the listener retries up to once a second, and whoever
	// keeps the process there should not also fill its log.
	acceptLogEvery = time.Minute

	// defaultAddr is loopback: the only place plain HTTP is served.
	defaultAddr            = "127.0.0.1:8080"
	defaultShutdownTimeout = 10 * time.Second
)

// Config is everything the operator can set, by flag or SOTTO_* variable
// (ParseConfig makes one), and the few things only main and tests set.
type Config struct {
	addr            string
	metricsAddr     string
	logLevel        slog.Level
	logFormat       string // "text" or "json" (logging.go)
	maxRooms        int
	maxMembers      int
	talkLimit       time.Duration
	knockFailures   int
	resumeGrace     time.Duration
	operatorSecret  []byte // SOTTO_SECRET: operator mode when set (operator.go)
	maxConnsPerIP   int
	knocksPerIP     int
	allowOrigins    []string
	shutdownTimeout time.Duration
	udpPort         int
	noLossRepair    bool
	noOptimistic    bool
	publicAddrs     []string

	// Cluster (docs/cluster.md): the node's nameplate prefix ("" alone), how
	// many nodes share the guessing budgets, and where HAProxy's runtime API
	// is ("" : no forgets) with the stick table to forget rooms in.
	nodePrefix     string
	clusterSize    int
	haproxyRuntime string
	haproxyTable   string

	// Transport security: at most one of the TLS modes (certificate files,
	// ACME, self-signed) or behindProxy; none only on a loopback address.
	tlsCert, tlsKey string
	acmeDomains     []string
	acmeCache       string
	acmeDirectory   string
	selfSigned      bool
	behindProxy     bool
	trustedProxies  []netip.Prefix

	// LogOut is where the log goes; nil: os.Stderr. No flag sets it: tests
	// read the log.
	LogOut io.Writer
	// ReadHeaderTimeout and ReadTimeout bound a plain HTTP request (zero:
	// defaultReadHeaderTimeout and defaultReadTimeout). No flag sets them:
	// tests shorten them.
	ReadHeaderTimeout, ReadTimeout time.Duration
	// Stamp is the revision and date the linker wrote into package main;
	// zero: what the Go build info says (version.go). ParseConfig leaves it.
	Stamp Stamp
}

// ParseConfig reads flags, each of which may also come from the environment
// variable named in its help (flags win over the environment).
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
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
	c := Config{ReadHeaderTimeout: defaultReadHeaderTimeout, ReadTimeout: defaultReadTimeout}
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
	fs.BoolVar(&c.noOptimistic, "no-optimistic-floor", envBool("SOTTO_NO_OPTIMISTIC_FLOOR"), "do not hold a talker's first voice packets until its floor is granted; clients then open the microphone only on the grant, a round trip later [SOTTO_NO_OPTIMISTIC_FLOOR]")
	fs.BoolVar(&c.noLossRepair, "no-loss-repair", envBool("SOTTO_NO_LOSS_REPAIR"), "turn off resending lost voice packets (NACK) and telling talkers of their listeners' loss; saves about 16 KB per room that has had a talker [SOTTO_NO_LOSS_REPAIR]")
	fs.StringVar(&public, "public-ip", env("SOTTO_PUBLIC_IP", ""), "comma-separated IPs or host names clients reach this server at, when it is behind NAT or Docker [SOTTO_PUBLIC_IP]")
	fs.StringVar(&c.nodePrefix, "node-prefix", env("SOTTO_NODE_PREFIX", ""), "in a cluster, this node's 1 to 3 digits, unique per node: every room code it mints starts with them, and it refuses WebSockets naming no room or code [SOTTO_NODE_PREFIX]")
	fs.IntVar(&c.clusterSize, "cluster-size", envInt("SOTTO_CLUSTER_SIZE", 1), "how many nodes share the room-code and failed-join guessing budgets; each node takes 1/N of them [SOTTO_CLUSTER_SIZE]")
	fs.StringVar(&c.haproxyRuntime, "haproxy-runtime", env("SOTTO_HAPROXY_RUNTIME", ""), "HAProxy's runtime API (tcp://host:port, or a Unix socket path), told to forget each room this node no longer holds; needs --node-prefix [SOTTO_HAPROXY_RUNTIME]")
	fs.StringVar(&c.haproxyTable, "haproxy-table", env("SOTTO_HAPROXY_TABLE", haproxy.DefaultTable), "the stick table --haproxy-runtime forgets rooms in (the backend's name in haproxy.cfg) [SOTTO_HAPROXY_TABLE]")
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
		return c, ErrShowVersion
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
	if err := c.checkCluster(); err != nil {
		return c, err
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

// ErrShowVersion is ParseConfig's answer to --version: not an error, a
// request main answers with `sotto version`'s line.
var ErrShowVersion = errors.New("version requested")
