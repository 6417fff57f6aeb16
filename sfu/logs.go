package sfu

// pion's log lines, without a byte a client chose.
//
// pion formats what it logs from what it handles: a trickled candidate's
// ufrag ("dropping candidate with ufrag %s"), an unparsable candidate, the
// SSRC of a stray packet, a STUN message's source. Any of that is client
// text, terminal escapes included, and none of it may reach the server's log
// (docs/security.md: logs hold no client input, address or id). So pion
// logs through pionLogs, which keeps only what pion's own source says:
//
//   - Tracef, Debugf, ..., Errorf log the format string and withhold the
//     arguments. pion's format strings are literals in its source (the few
//     passed in as variables are package constants or literals one call
//     up), so the line says what happened and not to whom or with what.
//     Any byte outside printable ASCII is replaced all the same.
//   - Trace, Debug, ..., Error take a ready-made message, which pion builds
//     with fmt.Sprintf as often as it passes a literal, and which cannot be
//     told apart at run time. At error a fixed text stands in for it; below,
//     it is dropped.
//
// pion's errors are slog errors; everything else (trace to warn) goes to
// debug. That keeps what an operator sees by default what it was before
// (pion's default level is error): pion warns of things that happen every
// day, a reader failing as a member's connection closes, a stray packet.

import (
	"context"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// pionLogs is the LoggerFactory every pion object of the SFU gets.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log, scope: safeLogText(scope)}
}

type pionLogger struct {
	log   *slog.Logger
	scope string // pion's subsystem: "ice", "pc", "dtls", ...
}

// pionMessageWithheld stands in for a plain message (see above).
const pionMessageWithheld = "pion: message withheld (it may hold client input)"

func (l pionLogger) format(level slog.Level, format string) {
	ctx := context.Background()
	if l.log.Enabled(ctx, level) {
		l.log.Log(ctx, level, "pion: "+safeLogText(format), "scope", l.scope)
	}
}

func (l pionLogger) message(level slog.Level) {
	ctx := context.Background()
	if l.log.Enabled(ctx, level) {
		l.log.Log(ctx, level, pionMessageWithheld, "scope", l.scope)
	}
}

func (l pionLogger) Trace(string)                   {}
func (l pionLogger) Tracef(format string, _ ...any) { l.format(slog.LevelDebug, format) }
func (l pionLogger) Debug(string)                   {}
func (l pionLogger) Debugf(format string, _ ...any) { l.format(slog.LevelDebug, format) }
func (l pionLogger) Info(string)                    {}
func (l pionLogger) Infof(format string, _ ...any)  { l.format(slog.LevelDebug, format) }
func (l pionLogger) Warn(string)                    {}
func (l pionLogger) Warnf(format string, _ ...any)  { l.format(slog.LevelDebug, format) }
func (l pionLogger) Error(string)                   { l.message(slog.LevelError) }
func (l pionLogger) Errorf(format string, _ ...any) { l.format(slog.LevelError, format) }

// safeLogText replaces every byte outside printable ASCII with '?'.
func safeLogText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
