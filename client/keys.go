package client

// Media keys, v2 (docs/keys.md): per membership a sid, an ephemeral X25519
// pair and a key ring that feeds the epoch receiver; our own sender key per
// epoch, wrapped for each member whose hello we hold and sent as one blobs
// batch; the other members' key blobs accepted by the ring's rules; old
// epochs erased when their grace ends. Everything here is guarded by c.mu
// (the schedule in rotate.go says when to rotate).

import (
	"encoding/json"
	"time"

	"sotto/e2ee"
)

// firstKeyWait: the hellos of the members already in the room arrive
// together when we join, each to be answered with our first key. Gathered
// this long, the answers go as one blobs batch rather than up to 49 blob
// messages, over the server's message burst (docs/protocol.md, Limits); the
// wait is short beside the KeySwitchDelay the others' own rotations take.
const firstKeyWait = 50 * time.Millisecond

// keyMsg is the sealed payload of a key blob: {"key": base64url(71 bytes)}.
type keyMsg struct {
	Key string `json:"key"`
}

// ownKey is one epoch of our own sender key. The key bytes are kept only to
// wrap the same key again for a member that resumes; they are zeroed when
// the epoch is replaced and on erase.
type ownKey struct {
	epoch uint16
	key   []byte
	snd   *e2ee.Sender
}

func (k *ownKey) erase() {
	clear(k.key)
	k.key, k.snd = nil, nil
}

// keys is one membership's key state.
type keys struct {
	sid  uint32
	pair *e2ee.KeyPair
	rcv  *e2ee.Receiver
	ring *e2ee.KeyRing

	cur    ownKey  // what our frames go out under
	next   *ownKey // sent to the others, switched to KeySwitchDelay later
	sched  schedule
	clock  clock
	expiry stopper // the ring's next grace end
	erased bool

	firstTo []uint32 // earlier members whose hello came: our keys go to them together
	firstT  stopper  // firstKeyWait, while firstTo gathers
}

// mirrorSink gives the ring's frame keys to the receiver and, for tests,
// to Config.MirrorKeys too.
type mirrorSink struct{ a, b e2ee.KeySink }

func (m mirrorSink) SetSenderKey(kid uint64, key []byte) error {
	if err := m.a.SetSenderKey(kid, key); err != nil {
		return err
	}
	return m.b.SetSenderKey(kid, key)
}

func (m mirrorSink) RemoveSender(kid uint64) {
	m.a.RemoveSender(kid)
	m.b.RemoveSender(kid)
}

// newKeys makes a membership's keys: a fresh sid and pair (cfg.KeyPair in
// tests), an empty ring, and our epoch 0 sender key, in use from the start
// (nobody has it yet: it goes to each member whose hello we read).
func newKeys(cfg Config, roomID []byte) (*keys, error) {
	k := &keys{sid: e2ee.NewSID(), pair: cfg.KeyPair, rcv: e2ee.NewEpochReceiver(), clock: cfg.clock}
	if k.clock == nil {
		k.clock = realClock{}
	}
	if k.pair == nil {
		p, err := e2ee.NewKeyPair()
		if err != nil {
			return nil, err
		}
		k.pair = p
	}
	var sink e2ee.KeySink = k.rcv
	if cfg.MirrorKeys != nil {
		sink = mirrorSink{k.rcv, cfg.MirrorKeys}
	}
	ring, err := e2ee.NewKeyRing(e2ee.KeyRingConfig{RoomID: roomID, Self: k.sid, Pair: k.pair, Sink: sink})
	if err != nil {
		return nil, err
	}
	k.ring = ring
	first, err := newOwnKey(k.sid, 0)
	if err != nil {
		return nil, err
	}
	k.cur = first
	return k, nil
}

func newOwnKey(sid uint32, epoch uint16) (ownKey, error) {
	key := e2ee.NewSenderKey()
	snd, err := e2ee.NewEpochSender(key, e2ee.EpochKID(sid, epoch))
	if err != nil {
		clear(key)
		return ownKey{}, err
	}
	return ownKey{epoch: epoch, key: key, snd: snd}, nil
}

// keyItemsLocked wraps own for each of the members (sids) and seals each
// wrap under the signal key, addressed to the member id that sid belongs
// to. A sid that is no longer a member is skipped.
func (c *Client) keyItemsLocked(own *ownKey, sids []uint32) []blobItem {
	ids := make(map[uint32]string, len(c.members))
	for id, m := range c.members {
		if m.hasHello {
			ids[m.sid] = id
		}
	}
	items := make([]blobItem, 0, len(sids))
	for _, sid := range sids {
		id, ok := ids[sid]
		if !ok {
			continue
		}
		wrapped, err := c.k.ring.SealFor(sid, own.epoch, own.key)
		if err != nil {
			continue
		}
		pt, err := json.Marshal(keyMsg{Key: b64.EncodeToString(wrapped)})
		if err != nil {
			continue
		}
		blob, err := e2ee.SealBlob(c.keys.Signal[:], pt)
		if err != nil {
			continue
		}
		items = append(items, blobItem{To: id, Data: blob})
	}
	return items
}

// sendOwnKeysLocked sends one member (sid) the keys it should hold of ours:
// the current one and, while a rotation waits for its switch, the next one
// too, so that it decrypts us after the switch as well. Sent when a member
// resumes (the same keys again: no new epoch).
func (c *Client) sendOwnKeysLocked(sid uint32) {
	if c.k.erased {
		return
	}
	items := c.keyItemsLocked(&c.k.cur, []uint32{sid})
	if c.k.next != nil {
		items = append(items, c.keyItemsLocked(c.k.next, []uint32{sid})...)
	}
	// Two items to one member go as two messages: a blobs batch carries at
	// most one per member (docs/protocol.md).
	for _, it := range items {
		_ = c.sendBlob(it.To, it.Data, 0)
	}
}

// queueFirstKeyLocked answers an earlier member's hello with our keys,
// gathered with the other answers for firstKeyWait into one batch.
func (c *Client) queueFirstKeyLocked(sid uint32) {
	c.k.firstTo = append(c.k.firstTo, sid)
	if c.k.firstT == nil {
		c.k.firstT = c.k.clock.AfterFunc(firstKeyWait, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.k.firstT = nil
			to := c.k.firstTo
			c.k.firstTo = nil
			if c.k.erased {
				return
			}
			_ = c.sendBlobs(c.keyItemsLocked(&c.k.cur, to))
			if c.k.next != nil { // a batch holds one item per member: the next key in another
				_ = c.sendBlobs(c.keyItemsLocked(c.k.next, to))
			}
		})
	}
}

// startRotationLocked is the schedule's start: a new key for the next
// epoch, wrapped for every member whose hello we hold, sent as one blobs
// batch (the leaver, gone from the ring, gets none; a joiner gets only
// this one). Frames stay under the current key until switchKeyLocked.
func (c *Client) startRotationLocked(reason string) {
	next, err := newOwnKey(c.k.sid, c.k.cur.epoch+1)
	if err != nil {
		return // crypto/rand does not fail; nothing to send without a key
	}
	c.k.next = &next
	items := c.keyItemsLocked(&next, c.k.ring.Members())
	_ = c.sendBlobs(items)
	c.queueEventLocked(Event{Type: "rotate", Reason: reason, SID: c.k.sid, Epoch: next.epoch,
		KID: e2ee.EpochKID(c.k.sid, next.epoch), Members: len(items)})
}

// switchKeyLocked is the schedule's switch: frames go out under the new
// key from now on, and the previous key's bytes are zeroed.
func (c *Client) switchKeyLocked() {
	if c.k.next == nil {
		return
	}
	c.k.cur.erase()
	c.k.cur, c.k.next = *c.k.next, nil
	c.sending.Store(c.k.cur.snd)
	c.queueEventLocked(Event{Type: "switch", SID: c.k.sid, Epoch: c.k.cur.epoch, KID: e2ee.EpochKID(c.k.sid, c.k.cur.epoch)})
}

// acceptKeyLocked applies a key blob from member from (the outer seal
// already opened) by the ring's rules. A new epoch is told as a "key"
// event, the current one again as "key_again", a refused blob as a
// "key_refused" event with its e2ee code.
func (c *Client) acceptKeyLocked(from string, msg keyMsg) (Event, bool) {
	if c.k.erased {
		return Event{}, false
	}
	raw, err := b64.DecodeString(msg.Key)
	if err != nil {
		return Event{Type: "key_refused", Member: from, Code: e2ee.Code(e2ee.ErrKeyBlobFormat)}, true
	}
	acc, err := c.k.ring.AcceptBlob(raw, c.k.clock.Now())
	if err != nil {
		return Event{Type: "key_refused", Member: from, Code: e2ee.Code(err)}, true
	}
	if !acc.New {
		// The current key again (a resend after a resume): nothing changed.
		return Event{Type: "key_again", Member: from, SID: acc.From, Epoch: acc.Epoch, KID: e2ee.EpochKID(acc.From, acc.Epoch)}, true
	}
	c.armExpiryLocked()
	return Event{Type: "key", Member: from, SID: acc.From, Epoch: acc.Epoch, KID: e2ee.EpochKID(acc.From, acc.Epoch)}, true
}

// armExpiryLocked sets the timer for the ring's next grace end, when the
// epochs that stopped being current are erased.
func (c *Client) armExpiryLocked() {
	if c.k.expiry != nil {
		c.k.expiry.Stop()
		c.k.expiry = nil
	}
	at, ok := c.k.ring.NextExpiry()
	if !ok || c.k.erased {
		return
	}
	c.k.expiry = c.k.clock.AfterFunc(max(0, at.Sub(c.k.clock.Now())), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.k.erased {
			return
		}
		c.k.ring.Expire(c.k.clock.Now())
		c.armExpiryLocked()
	})
}

// eraseKeysLocked ends the membership's keys (Leave, removed, Close):
// timers stopped, every held epoch out of the receiver, our pair and our
// own keys gone. Frames neither go out nor decrypt afterwards.
func (c *Client) eraseKeysLocked() {
	if c.k.erased {
		return
	}
	c.k.erased = true
	c.k.sched.close()
	if c.k.firstT != nil {
		c.k.firstT.Stop()
		c.k.firstT, c.k.firstTo = nil, nil
	}
	if c.k.expiry != nil {
		c.k.expiry.Stop()
		c.k.expiry = nil
	}
	c.k.ring.Close() // erases the pair too
	c.k.cur.erase()
	if c.k.next != nil {
		c.k.next.erase()
		c.k.next = nil
	}
	c.sending.Store(nil)
}
