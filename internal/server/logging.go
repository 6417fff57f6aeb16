package server

// The server's log: slog's text handler (key=value, for people) or its JSON
// handler (one object a line, for log pipelines that would otherwise have to
// re-parse text). Both carry the same fields; what may go in a field is the
// same rule everywhere (docs/security.md §10): no address, room id,
// nameplate, code, member id or client-chosen text, at any level.

import (
	"context"
	"io"
	stdlog "log"
	"log/slog"
	"regexp"
	"strings"
)

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// peerRE matches an IPv4 or bracketed IPv6 address with a port, as
// net/http writes a client's address into its error lines.
var peerRE = regexp.MustCompile(`(?:\d{1,3}\.){3}\d{1,3}:\d+|\[[0-9A-Za-z:.%_-]+\]:\d+`)

// httpErrorLog is the http.Server's error log. net/http's lines hold the
// client's address and, often, what the client sent: a TLS handshake error
// quotes the ALPN protocols it asked for or (ACME) the server name, a panic
// the handler's value. Sotto's logs hold neither (docs/security.md), so a
// line is logged as a fixed text chosen by what net/http's line starts with
// (httpErrorLine), never as net/http wrote it. Failed TLS handshakes
// (scanners; browsers refusing a self-signed certificate) go to debug level,
// where they cannot flood the log.
func httpErrorLog(log *slog.Logger) *stdlog.Logger {
	return stdlog.New(httpErrorWriter{log}, "", 0)
}

type httpErrorWriter struct{ log *slog.Logger }

func (w httpErrorWriter) Write(p []byte) (int, error) {
	level, msg, attrs := httpErrorLine(string(p))
	w.log.Log(context.Background(), level, msg, attrs...)
	return len(p), nil
}

// tlsFailures name the reasons of a failed TLS handshake an operator may
// care about, by a fragment of Go's error text; the first that matches is
// logged, never the error itself.
var tlsFailures = []struct{ fragment, reason string }{
	{"application protocol", "the client asked only for ALPN protocols the server does not speak"},
	{"acme/autocert", "no certificate for the server name the client asked for"},
	{"server name", "no certificate for the server name the client asked for"},
	{"does not look like a TLS handshake", "not TLS"},
	{"certificate", "the client refused the certificate"},
	{"cipher", "no cipher suite in common"},
	{"version", "no TLS version in common"},
	{"timeout", "the client was too slow"},
	{"EOF", "the client went away"},
	{"reset by peer", "the client went away"},
}

// httpErrorLine turns one of net/http's error lines into a level, a fixed
// message and attributes holding nothing a client chose.
func httpErrorLine(line string) (slog.Level, string, []any) {
	switch {
	case strings.HasPrefix(line, "http: TLS handshake error"):
		reason := "other"
		for _, f := range tlsFailures {
			if strings.Contains(line, f.fragment) {
				reason = f.reason
				break
			}
		}
		return slog.LevelDebug, "TLS handshake failed", []any{"reason", reason}
	case strings.HasPrefix(line, "http: Accept error"):
		// From the listener (the OS, our own listeners): no client bytes.
		return slog.LevelWarn, strings.TrimSpace(peerRE.ReplaceAllString(line, "a client")), nil
	case strings.HasPrefix(line, "http: panic serving"):
		// "http: panic serving ADDR: VALUE\nSTACK": the value may hold
		// client input, the stack (function names, offsets) does not.
		var attrs []any
		if _, stack, ok := strings.Cut(line, "\n"); ok {
			attrs = []any{"stack", stack}
		}
		return slog.LevelError, "http: panic serving a request (its value withheld)", attrs
	default:
		return slog.LevelWarn, "http: server error (text withheld: it may hold client input)", nil
	}
}
