package signal

import (
	"context"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/syncbuf"
	"sotto/room"
)

// The log, at its most verbose, never holds an address, a room id, a
// nameplate, a member id or anything a client sent, whatever happens.
func TestLogsHoldNoIdentifiers(t *testing.T) {
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		// No timestamps: their digits could match a nameplate.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	pm := &panicMedia{*newFakeMedia()}
	ts := startServer(t, Config{Logger: logger, Media: pm, CloseGrace: 200 * time.Millisecond}, room.Config{})
	s := newSecrets()
	const marker = "XyZZy"
	a, b := ts.dial(t), ts.dial(t)
	ja := a.create(s, 1)
	jb := b.join(s, 2)
	a.expect(typeMemberJoined)
	b.send(map[string]any{"type": "blob", "data": "WHlaWnk"})
	a.expect(typeBlob)
	a.sendRaw(`{"type":"` + marker + `"}`)
	a.expectError(codeUnknownType, 0)
	a.sendRaw(`{"type":"join","room":"` + s.room + `","auth":"` + marker + `"}`)
	a.expectError(codeBadMessage, 0)
	b.send(map[string]any{"type": "offer", "sdp": marker})
	b.expectClose(websocket.CloseInternalServerErr) // logs the panic
	f := ts.dial(t)
	for f.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) == nil {
	}
	if _, _, err := dialOpts(t, ts.url, map[string][]string{"Origin": {"https://" + marker + ".example"}}, Subprotocol); err == nil {
		t.Fatal("bad origin accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.sig.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, "panic while handling a message") || !strings.Contains(out, "connection closed") {
		t.Fatalf("expected log lines are missing, so this test checks nothing:\n%s", out)
	}
	room, _ := b64.DecodeString(s.room)
	auth, _ := b64.DecodeString(s.auth)
	for _, secret := range []string{
		"127.0.0.1", marker, s.room, s.auth, s.verifier, hex.EncodeToString(room), hex.EncodeToString(auth),
		ja.Self, jb.Self, strings.ReplaceAll(ja.Self, "-", ""), "WHlaWnk",
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	// The panic line's at="fn:line ..." names code locations only; its line
	// numbers are digits too, and a 3-digit nameplate would match one. Only
	// that line's field is left out: any other at= is checked like the rest.
	noCode := regexp.MustCompile(`(panic while handling a message" at=)"[^"]*"`).ReplaceAllString(out, `$1""`)
	if noCode == out {
		t.Fatal("the panic line's code locations were not found: this test's filter is out of date")
	}
	if regexp.MustCompile(`\b` + ja.Nameplate + `\b`).MatchString(noCode) {
		t.Errorf("the log holds the nameplate %s:\n%s", ja.Nameplate, out)
	}
}
