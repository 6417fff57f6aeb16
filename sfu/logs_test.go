package sfu

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"sotto/internal/logmarker"
	"sotto/internal/syncbuf"
	"sotto/internal/testutil"
)

// No byte a client chose may reach the log, at any level: pion formats the
// candidates, ufrags and SDP it refuses into its lines ("dropping candidate
// with ufrag %s", at ERROR), escapes and all. Here a marker goes into every
// SDP field, candidate and STUN username a member can reach, with the log at
// debug; no line may hold any part of it. Fix: pion logs through pionLogs
// (logs.go), which keeps format strings and withholds their arguments.
func TestLogsHoldNoClientInput(t *testing.T) {
	testutil.LeakCheck(t)
	marker, token := logmarker.New()
	var buf syncbuf.Buffer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newSFU(t, Config{
		Log:         slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LogWriter:   &buf,
		TCPListener: ln,
	})
	roomID := [16]byte{0x08}

	// Offers with the marker in their fields, each refused or answered.
	base := offerFrom(t, webrtc.RTPCodecTypeAudio)
	line := func(prefix string) string { // the offer's first line starting with prefix
		for _, l := range strings.Split(base, "\r\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no %s line in the offer", prefix)
		return ""
	}
	cand := "a=candidate:" + marker + " 1 udp 2130706431 127.0.0.1 9 typ host ufrag " + marker
	for _, edit := range [][2]string{
		{"s=-", "s=" + marker},
		{line("o="), "o=" + marker + " 1 1 IN IP4 0.0.0.0"},
		{line("a=ice-ufrag:"), "a=ice-ufrag:" + marker},
		{line("a=ice-pwd:"), "a=ice-pwd:" + marker},
		{line("a=fingerprint:"), "a=fingerprint:sha-256 " + marker},
		{line("a=setup:"), "a=setup:" + marker},
		{line("a=mid:"), "a=mid:" + marker},
		{line("a=rtpmap:111"), "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 " + marker + "\r\na=ssrc:1 cname:" + marker +
			"\r\na=msid:" + marker + " " + marker + "\r\na=" + marker + ":" + marker + "\r\n" + cand +
			"\r\na=candidate:1 1 tcp 1 " + token + ".local 9 typ host tcptype " + marker +
			"\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ " + marker + "\r\na=extmap:1 " + marker},
	} {
		member := uuid.New()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = s.Offer(ctx, roomID, member, Talk, strings.Replace(base, edit[0], edit[1], 1), nil)
		cancel()
		s.Leave(roomID, member)
	}

	// A member with a working session trickles marked candidates.
	m := join(t, s, clientAPI(t, false), roomID, Talk, 'm')
	for _, c := range []map[string]any{
		{"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host ufrag " + marker, "sdpMid": "0"},
		{"candidate": cand[2:], "sdpMid": "0"},
		{"candidate": "candidate:1 1 udp 2130706431 " + token + ".local 9 typ host", "sdpMid": "0"},
		{"candidate": marker, "sdpMid": marker, "usernameFragment": marker},
		{"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "sdpMid": marker},
		{"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "usernameFragment": marker},
	} {
		b, _ := json.Marshal(c)
		_ = s.AddCandidate(roomID, m.ID, b)
	}

	// STUN binding requests naming the marker, over UDP and ICE-TCP.
	srvUfrag, _, _ := sdpICECreds(s.find(roomID, m.ID).pc.LocalDescription().SDP)
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for _, user := range []string{marker, srvUfrag + ":" + marker, marker + ":" + srvUfrag} {
		req, err := stun.Build(stun.BindingRequest, stun.TransactionID, stun.NewUsername(user),
			stun.NewShortTermIntegrity(marker), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := udp.WriteTo(req.Raw, s.UDPAddrs()[0]); err != nil {
			t.Fatal(err)
		}
		tcp, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		framed := binary.BigEndian.AppendUint16(nil, uint16(len(req.Raw)))
		_, _ = tcp.Write(append(framed, req.Raw...))
		time.Sleep(50 * time.Millisecond)
		tcp.Close()
	}
	time.Sleep(300 * time.Millisecond) // pion logs from its own goroutines

	log := buf.String()
	if log == "" {
		t.Fatal("nothing was logged at debug level: the test reached no log line")
	}
	if bad := logmarker.Leaks(log, token); len(bad) > 0 {
		t.Errorf("%d log lines hold client input, e.g.:\n%q", len(bad), bad[0])
	}
}
