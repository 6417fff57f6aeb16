package sfu

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

// candidateInjector is the SFU as a hostile member's signaling reaches it:
// it adds candidates of the member's choosing to every offer's SDP and
// trickles more after it, and keeps what the server trickles back.
type candidateInjector struct {
	s        *SFU
	inOffer  []string // a=candidate values appended to the offer
	trickled []string // candidate strings trickled after the answer

	mu      sync.Mutex
	answer  string
	fromSrv []string
}

func (c *candidateInjector) Offer(ctx context.Context, roomID [16]byte, member uuid.UUID, role Role, sdp string,
	sendCandidate func([]byte),
) (string, error) {
	sdp = strings.TrimRight(sdp, "\r\n") + "\r\n"
	for _, cand := range c.inOffer {
		sdp += "a=" + cand + "\r\n"
	}
	answer, err := c.s.Offer(ctx, roomID, member, role, sdp, func(b []byte) {
		c.mu.Lock()
		c.fromSrv = append(c.fromSrv, string(b))
		c.mu.Unlock()
		sendCandidate(b)
	})
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.answer = answer
	c.mu.Unlock()
	for _, cand := range c.trickled {
		if err := c.s.AddCandidate(roomID, member, []byte(fmt.Sprintf(`{"candidate":%q,"sdpMid":"0"}`, cand))); err != nil {
			return "", fmt.Errorf("trickled %q: %w", cand, err)
		}
	}
	return answer, nil
}

func (c *candidateInjector) AddCandidate(roomID [16]byte, member uuid.UUID, candidateJSON []byte) error {
	return c.s.AddCandidate(roomID, member, candidateJSON)
}

// A member that names a TCP address in a passive (or simultaneous-open)
// ICE-TCP candidate must not make the server connect to it: pion's active
// ICE-TCP would dial every such host:port from every local interface, which
// lets any member make the server probe (and hold sockets open towards) any
// TCP service it likes. The victim here is a loopback listener the test
// owns; it must see no connection while the member's media is up, and the
// server must not offer tcptype active candidates of its own. Fix:
// SettingEngine.DisableActiveTCP, and passive/so TCP candidates are dropped
// from offers and trickle before pion sees them.
func TestICETCPNeverDialsOut(t *testing.T) {
	testutil.LeakCheck(t)
	victim, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	var dialled atomic.Int64
	go func() {
		for {
			c, err := victim.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			c.Close()
		}
	}()
	port := victim.Addr().(*net.TCPAddr).Port

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newSFU(t, Config{TCPListener: ln})
	inj := &candidateInjector{s: s}
	for i, typ := range []string{"passive", "so"} {
		inj.inOffer = append(inj.inOffer,
			fmt.Sprintf("candidate:%d 1 tcp 1518280447 127.0.0.1 %d typ host tcptype %s", 100+i, port, typ))
		inj.trickled = append(inj.trickled,
			fmt.Sprintf("candidate:%d 1 tcp 1518214911 127.0.0.1 %d typ host tcptype %s", 200+i, port, typ))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sfutest.Join(ctx, clientAPI(t, false), inj, [16]byte{0x2c}, sfutest.Options{Role: Talk, Tag: 'A'})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // pion dials at once; give it ample time
	if n := dialled.Load(); n > 0 {
		t.Errorf("the server made %d TCP connections to an address only the member's candidates named", n)
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	for _, cand := range append([]string{inj.answer}, inj.fromSrv...) {
		if strings.Contains(cand, "tcptype active") {
			t.Errorf("the server advertises an active ICE-TCP candidate:\n%s", cand)
		}
	}
}
