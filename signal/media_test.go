package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"sotto/room"
)

// fakeMedia stands in for the SFU.
type fakeMedia struct {
	mu     sync.Mutex
	send   map[uuid.UUID]func(json.RawMessage)
	cands  []string
	left   []uuid.UUID
	leftCh chan uuid.UUID
}

func newFakeMedia() *fakeMedia {
	return &fakeMedia{send: make(map[uuid.UUID]func(json.RawMessage)), leftCh: make(chan uuid.UUID, 10)}
}

func (f *fakeMedia) Offer(ctx context.Context, _ room.ID, m room.Member, sdp string, send func(json.RawMessage)) (string, error) {
	switch sdp {
	case "bad":
		return "", fmt.Errorf("parsing: %w", ErrBadMedia)
	case "boom":
		return "", errors.New("ICE failed on 192.0.2.1") // must not reach the client or the log
	}
	f.mu.Lock()
	f.send[m.ID] = send
	f.mu.Unlock()
	send(json.RawMessage(`{"candidate":"candidate:1 1 udp 1 192.0.2.1 3478 typ host","sdpMid":"0"}`))
	return "answer to " + sdp, nil
}

func (f *fakeMedia) Candidate(_ context.Context, _ room.ID, _ uuid.UUID, c json.RawMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cands = append(f.cands, string(c))
	return nil
}

func (f *fakeMedia) Leave(_ room.ID, member uuid.UUID) {
	f.mu.Lock()
	f.left = append(f.left, member)
	f.mu.Unlock()
	f.leftCh <- member
}

func TestMedia(t *testing.T) {
	fm := newFakeMedia()
	ts := startServer(t, Config{Media: fm}, room.Config{})
	s := newSecrets()
	a := ts.dial(t)
	a.send(map[string]any{"type": "offer", "id": 1, "sdp": "v=0"})
	a.expectError(codeNotInRoom, 1)
	self := a.create(s, 2).Self

	a.send(map[string]any{"type": "offer", "id": 3, "sdp": "v=0\r\n"})
	// The SFU's candidate may overtake the answer; both must come.
	var gotAnswer, gotIce bool
	for !gotAnswer || !gotIce {
		m := a.read()
		switch m.Type {
		case typeAnswer:
			if m.ID != 3 || m.SDP != "answer to v=0\r\n" {
				t.Fatalf("answer: %+v", m)
			}
			gotAnswer = true
		case typeIce:
			if string(m.Candidate) != `{"candidate":"candidate:1 1 udp 1 192.0.2.1 3478 typ host","sdpMid":"0"}` {
				t.Fatalf("ice: %s", m.Candidate)
			}
			gotIce = true
		default:
			t.Fatalf("unexpected %+v", m)
		}
	}
	a.sendRaw(`{"type":"ice","candidate":{ "candidate" : "candidate:2", "sdpMLineIndex": 0 }}`)
	a.ping(4)
	fm.mu.Lock()
	if len(fm.cands) != 1 || fm.cands[0] != `{"candidate":"candidate:2","sdpMLineIndex":0}` {
		t.Errorf("SFU got candidates %q", fm.cands)
	}
	fm.mu.Unlock()

	a.send(map[string]any{"type": "offer", "id": 5, "sdp": "bad"})
	a.expectError(codeBadMessage, 5)
	a.send(map[string]any{"type": "offer", "id": 6, "sdp": "boom"})
	if m := a.expectError(codeInternal, 6); m.Message != "media failed on the server" {
		t.Errorf("internal error message %q", m.Message)
	}

	// Leaving ends the media session; the SFU's old sender goes quiet.
	fm.mu.Lock()
	stale := fm.send[uuid.MustParse(self)]
	fm.mu.Unlock()
	a.send(map[string]any{"type": "leave"})
	a.expect(typeLeft)
	if got := <-fm.leftCh; got.String() != self {
		t.Fatalf("Leave for %v, want %v", got, self)
	}
	a.create(newSecrets(), 7)
	stale(json.RawMessage(`{"candidate":"stale"}`))
	a.ping(8) // the next message is the pong, not the stale candidate

	// So does disconnecting, once the member has used media.
	a.send(map[string]any{"type": "ice", "candidate": map[string]any{"candidate": "x"}})
	a.ping(9)
	a.ws.Close()
	select {
	case <-fm.leftCh:
	case <-time.After(5 * time.Second):
		t.Fatal("no Leave after a disconnect")
	}
}

// panicMedia panics in Offer, as a buggy SFU might.
type panicMedia struct{ fakeMedia }

func (p *panicMedia) Offer(context.Context, room.ID, room.Member, string, func(json.RawMessage)) (string, error) {
	panic("boom")
}

// A panic while handling one message closes that connection with 1011; the
// member leaves its room and the server carries on.
func TestPanicCloses1011(t *testing.T) {
	pm := &panicMedia{*newFakeMedia()}
	ts := startServer(t, Config{Media: pm}, room.Config{})
	s := newSecrets()
	a, b := ts.dial(t), ts.dial(t)
	a.create(s, 1)
	jb := b.join(s, 2)
	a.expect(typeMemberJoined)
	b.send(map[string]any{"type": "offer", "sdp": "v=0"})
	b.expectClose(websocket.CloseInternalServerErr)
	if m := a.expect(typeMemberLeft); m.memberID() != jb.Self {
		t.Fatalf("member_left: %+v", m)
	}
	if got := <-pm.leftCh; got.String() != jb.Self {
		t.Fatalf("Leave for %v", got)
	}
	a.ping(3)
}
