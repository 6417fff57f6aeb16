package e2etest

// Issue 18's "Must show" for the Go client, through the real server: media
// keys that move on (docs/keys.md). A member that left, kept as a copy of
// its keys at the leave, decrypts nothing said after the rotation; a late
// joiner decrypts nothing said before it came. "Frames" here are the raw
// SFrame payloads as the SFU forwarded them (client.Config.OnFrame), byte
// for byte what the server sees.

import (
	"sync"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
)

// keyCopy is a copy of a member's keys: a receiver that is given every
// frame key the member's ring gives its own (client.Config.MirrorKeys),
// until frozen, when it keeps what it holds: the member's memory, copied
// at that moment.
type keyCopy struct {
	mu     sync.Mutex
	rcv    *e2ee.Receiver
	frozen bool
}

func newKeyCopy() *keyCopy { return &keyCopy{rcv: e2ee.NewEpochReceiver()} }

func (k *keyCopy) SetSenderKey(kid uint64, key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.frozen {
		return nil
	}
	return k.rcv.SetSenderKey(kid, key)
}

func (k *keyCopy) RemoveSender(kid uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.frozen {
		k.rcv.RemoveSender(kid)
	}
}

func (k *keyCopy) freeze() {
	k.mu.Lock()
	k.frozen = true
	k.mu.Unlock()
}

// frameLog keeps copies of raw frames, as a server recording them would.
type frameLog struct {
	mu     sync.Mutex
	frames [][]byte
}

func (l *frameLog) add(f []byte) {
	l.mu.Lock()
	l.frames = append(l.frames, append([]byte(nil), f...))
	l.mu.Unlock()
}

// take returns what was logged and starts a new log.
func (l *frameLog) take() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.frames
	l.frames = nil
	return out
}

// decryptAll decrypts frames with rcv: how many decrypted, and the error
// codes of the others.
func decryptAll(rcv *e2ee.Receiver, frames [][]byte) (ok int, codes map[string]int) {
	codes = map[string]int{}
	for _, f := range frames {
		if _, err := rcv.Decrypt(nil, f); err != nil {
			codes[e2ee.Code(err)]++
		} else {
			ok++
		}
	}
	return ok, codes
}

// waitSwitched waits until c's frames go out under a KID other than old
// and every one of the others holds it, with no rotation pending anywhere.
func waitSwitched(t *testing.T, c *client.Client, old uint64, others ...*client.Client) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "the talker's switch to a new epoch", func() bool {
		if c.KID() == old || c.Rotating() {
			return false
		}
		for _, o := range others {
			if !o.CanDecrypt(c.KID()) {
				return false
			}
		}
		return true
	})
}

// talkFrames has talker send until every listener heard n more frames, and
// releases the floor.
func talkFrames(t *testing.T, talker *client.Client, n uint32, listeners ...*client.Client) {
	t.Helper()
	from := uint32(talker.Sent())
	takeFloor(t, talker)
	heard(t, talker, from+n, listeners...)
	release(t, talker)
	testutil.WaitFor(t, 5*time.Second, "the talker to stop", func() bool { return !talker.Talking() })
}

// TestLeaverCopyDecryptsNothingAfterRotation: C leaves; a copy of C's keys
// as they were at the leave, fed the raw frames the server forwarded after
// the others' rotation, decrypts none of them (unknown KID: the epoch is
// new), while the frames before the leave decrypt under the same copy.
func TestLeaverCopyDecryptsNothingAfterRotation(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	raw := &frameLog{}
	leaver := newKeyCopy()
	a := srv.member(t, secret, "A")
	b := srv.member(t, secret, "B", func(c *client.Config) { c.OnFrame = raw.add })
	c := srv.member(t, secret, "C", func(c *client.Config) { c.MirrorKeys = leaver })
	knowEachOther(t, a, b, c)

	talkFrames(t, a, 50, b, c)
	before := raw.take()
	oldKID := a.KID()

	leaver.freeze() // C's memory, as it leaves
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitSwitched(t, a, oldKID, b)
	raw.take() // nothing was said in between
	talkFrames(t, a, 50, b)
	after := raw.take()

	if ok, codes := decryptAll(leaver.rcv, before); ok != len(before) || len(before) < 50 {
		t.Fatalf("control: the leaver's copy decrypted %d of %d frames from before the leave (%v)", ok, len(before), codes)
	}
	ok, codes := decryptAll(leaver.rcv, after)
	if ok != 0 || len(after) < 50 {
		t.Fatalf("the leaver's copy decrypted %d of %d frames sent after the rotation", ok, len(after))
	}
	for code := range codes {
		if code != e2ee.Code(e2ee.ErrUnknownKID) && code != e2ee.Code(e2ee.ErrAuth) {
			t.Fatalf("frames after the rotation failed with %v, want unknown-kid or auth", codes)
		}
	}
	if s := b.From(a.SID()); s.Failed != 0 || s.Corrupt != 0 {
		t.Errorf("B, who stayed: %+v", s)
	}
	t.Logf("A's epoch %x → %x; the leaver's copy: %d/%d frames before the leave, 0/%d after (%v)",
		oldKID&0xffff, a.KID()&0xffff, len(before), len(before), len(after), codes)
}

// TestLateJoinerDecryptsNothingFromBefore: D joins after A spoke; with
// every key D ever held (a copy that follows its ring), the raw frames
// from before it came decrypt not at all, those after do.
func TestLateJoinerDecryptsNothingFromBefore(t *testing.T) {
	srv := startServer(t)
	secret := e2ee.NewSecret()
	raw := &frameLog{}
	a := srv.member(t, secret, "A")
	b := srv.member(t, secret, "B", func(c *client.Config) { c.OnFrame = raw.add })
	knowEachOther(t, a, b)
	talkFrames(t, a, 50, b)
	before := raw.take()

	joiner := newKeyCopy()
	d := srv.member(t, secret, "D", func(c *client.Config) { c.MirrorKeys = joiner })
	knowEachOther(t, a, b, d)
	raw.take()
	talkFrames(t, a, 50, b, d)
	after := raw.take()

	if ok, codes := decryptAll(joiner.rcv, before); ok != 0 || len(before) < 50 || codes[e2ee.Code(e2ee.ErrUnknownKID)] != len(before) {
		t.Fatalf("the late joiner's keys decrypted %d of %d frames from before it came (%v), want none, all unknown KIDs", ok, len(before), codes)
	}
	if ok, codes := decryptAll(joiner.rcv, after); ok != len(after) || len(after) < 50 {
		t.Fatalf("control: the joiner's keys decrypted %d of %d frames after it came (%v)", ok, len(after), codes)
	}
	if s := d.From(a.SID()); s.Decrypted == 0 || s.Corrupt != 0 {
		t.Errorf("D heard: %+v", s)
	}
	t.Logf("late joiner: 0/%d frames from before it came, %d/%d after", len(before), len(after), len(after))
}
