package signal

import "sotto/metrics"

// Rejection reasons besides the error codes. Every label value comes from
// these fixed sets, never from a client.
const (
	reasonOrigin        = "origin"            // HTTP 403: Origin not allowed
	reasonPerIPCap      = "per_ip_cap"        // HTTP 429: too many connections from one address
	reasonCooldown      = "flooding_cooldown" // HTTP 429: the address flooded recently (FloodCooldown)
	reasonShuttingDown  = "shutting_down"     // HTTP 503: the server is shutting down
	reasonHandshake     = "bad_handshake"     // not a valid WebSocket upgrade
	reasonVersion       = "version"           // close 4001
	reasonTooBig        = "too_big"           // close 1009
	reasonTooSlow       = "too_slow"          // close 4008
	reasonFlooding      = "flooding"          // close 1008
	reasonBadRoute      = "bad_route"         // HTTP 400: a malformed (or, with RequireRoute, missing) routing key
	reasonForgetPending = "forget_pending"    // HTTP 503: the URL's room is being forgotten at the load balancer (lbforget.go)
)

// invalidType labels messages that could not be decoded.
const invalidType = "invalid"

type serverMetrics struct {
	connections *metrics.Counter
	open        *metrics.Gauge
	messages    *metrics.CounterVec
	rejections  *metrics.CounterVec
}

// newServerMetrics registers the server's metrics in r.
func newServerMetrics(r *metrics.Registry) serverMetrics {
	reasons := append([]string{
		reasonOrigin, reasonPerIPCap, reasonCooldown, reasonShuttingDown, reasonHandshake,
		reasonVersion, reasonTooBig, reasonTooSlow, reasonFlooding, reasonBadRoute,
		reasonForgetPending,
	}, errorCodes...)
	m := serverMetrics{
		connections: r.Counter("sotto_connections_total", "WebSocket connections accepted."),
		open:        r.Gauge("sotto_connections_open", "WebSocket connections open now."),
		messages: r.CounterVec("sotto_messages_total", "Messages received from clients, by type (invalid: not decodable).",
			"type", append([]string{invalidType}, clientTypes...)...),
		rejections: r.CounterVec("sotto_rejections_total",
			"Refusals, by reason: an error code sent to a client, or a connection refused or closed by the server.",
			"reason", reasons...),
	}
	return m
}

func (m *serverMetrics) reject(reason string) { m.rejections.With(reason).Inc() }

func (m *serverMetrics) message(typ string) {
	if typ == "" {
		typ = invalidType
	}
	m.messages.With(typ).Inc()
}
