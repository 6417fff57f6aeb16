package main

// The server's log: slog's text handler (key=value, for people) or its JSON
// handler (one object a line, for log pipelines that would otherwise have to
// re-parse text). Both carry the same fields; what may go in a field is the
// same rule everywhere (docs/security.md §10): no address, room id,
// nameplate, code, member id or client-chosen text, at any level.

import (
	"errors"
	"io"
	"log/slog"
)

// errShowVersion is parseConfig's answer to --version: not an error, a
// request main answers with `sotto version`'s line.
var errShowVersion = errors.New("version requested")

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
