package client

// Hellos: each member tells the others, in a blob sealed under the room's
// signal key, its display name, its sid and its ephemeral X25519 public key
// (docs/keys.md, "Hello"). The key ring accepts key blobs only from sids
// whose hello it holds; a v1 hello (a "kid", no "sid") is ignored.

import (
	"encoding/json"
	"time"

	"sotto/e2ee"
)

// A hello over the client address's blob relay budget is refused with
// too_many_blobs and goes to nobody (docs/protocol.md): its receivers
// could then never decrypt this client's audio. It is sent again after
// each of helloRetry, then given up. A blob that is not refused within
// blobRefusalWait (an error comes back in one round trip) was sent.
var helloRetry = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

const blobRefusalWait = 10 * time.Second

type hello struct {
	Name string `json:"name"`
	SID  string `json:"sid"` // 8 lowercase hex digits
	DH   string `json:"dh"`  // base64url of the 32-byte X25519 public key
}

// sendHello sends the client's hello to one member, or with to == "" to
// every other member.
func (c *Client) sendHello(to string) error {
	pt, err := json.Marshal(hello{Name: c.cfg.Name, SID: e2ee.FormatSID(c.k.sid), DH: b64.EncodeToString(c.k.pair.Public())})
	if err != nil {
		return err
	}
	blob, err := e2ee.SealBlob(c.keys.Signal[:], pt)
	if err != nil {
		return err
	}
	return c.sendBlob(to, blob, 0)
}

// sendBlob sends a blob with an id, so that a refusal names it, and sends it
// again (helloRetry) if the server refuses it with too_many_blobs.
func (c *Client) sendBlob(to, blob string, tries int) error {
	return c.sendRetrying(outMsg{Type: "blob", To: to, Data: blob}, tries)
}

// maxBlobsItems is the most items one blobs message may carry
// (docs/protocol.md: one per other member of a room of 50).
const maxBlobsItems = 49

// sendBlobs sends each item's data to its member alone, as one blobs
// message rather than a blob each: a rotation's 49 key blobs one by one
// would be over the server's message burst (docs/keys.md). A batch the
// server refuses with too_many_blobs was sent to nobody, and is sent again
// whole, as sendBlob does; more items than a batch holds (a room larger
// than 50) go in more batches.
func (c *Client) sendBlobs(items []blobItem) error {
	for len(items) > 0 {
		n := min(len(items), maxBlobsItems)
		if err := c.sendRetrying(outMsg{Type: "blobs", Items: items[:n:n]}, 0); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// sendRetrying sends a blob or blobs message with a fresh id and, if the
// server refuses it with too_many_blobs, again after helloRetry[tries].
func (c *Client) sendRetrying(m outMsg, tries int) error {
	s := c.sig
	ch, err := s.start(&m)
	if err != nil {
		return err
	}
	go func() {
		t := time.NewTimer(blobRefusalWait)
		defer t.Stop()
		select {
		case r := <-ch:
			if r.Type != "error" || r.Code != "too_many_blobs" || tries >= len(helloRetry) {
				return
			}
		case <-t.C:
			s.forget(m.ID)
			return
		case <-s.done():
			return
		}
		t.Reset(helloRetry[tries])
		select {
		case <-t.C:
			_ = c.sendRetrying(m, tries+1) // start gives it a new id
		case <-s.done():
		}
	}()
	return nil
}

// openBlob reads a relayed blob: a re-key (rekey.go), a key blob (keys.go)
// or a hello. Anything that does not open under the signal key, or is none
// of these, is ignored.
func (c *Client) openBlob(m *inMsg) (Event, bool) {
	pt, err := e2ee.OpenBlob(c.keys.Signal[:], m.Data)
	if err != nil {
		return Event{}, false
	}
	if ev, ok, isRekey := c.openRekey(m.From, pt); isRekey {
		return ev, ok
	}
	var km keyMsg
	if json.Unmarshal(pt, &km) == nil && km.Key != "" {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.members[m.From] == nil {
			return Event{}, false // it left already
		}
		return c.acceptKeyLocked(m.From, km)
	}
	return c.openHello(m, pt)
}

// openHello registers the sender's sid and public key with the key ring.
// A new hello from a member that joined after us starts a rotation (the
// joiner gets only the new key); a member that was there before us gets
// our current key (gathered with the others' in one batch: keys.go). The same hello again (a resume) changes nothing.
func (c *Client) openHello(m *inMsg, pt []byte) (Event, bool) {
	var h hello
	if json.Unmarshal(pt, &h) != nil || h.SID == "" {
		return Event{}, false // not a v2 hello
	}
	sid, err := e2ee.ParseSID(h.SID)
	if err != nil {
		return Event{}, false
	}
	dh, err := b64.DecodeString(h.DH)
	if err != nil || len(dh) != e2ee.PublicKeySize {
		return Event{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mem := c.members[m.From]
	if mem == nil || c.k.erased {
		return Event{}, false // it left already, or we did
	}
	if mem.hasHello && mem.sid == sid {
		return Event{}, false // a resume: the hello again (another key for it would be refused)
	}
	if mem.hasHello {
		c.k.ring.RemoveMember(mem.sid) // a new membership behind the same id
		mem.hasHello = false
	}
	if c.k.ring.AddMember(sid, dh) != nil {
		return Event{}, false // duplicate sid, or a bad public key
	}
	mem.sid, mem.hasHello, mem.name = sid, true, h.Name
	c.queueEventLocked(Event{Type: "hello", Member: m.From, SID: sid, Name: h.Name})
	if mem.later {
		c.k.sched.trigger(rotateJoin)
	} else {
		c.queueFirstKeyLocked(sid)
	}
	return Event{}, false // queued already, before the rotation's
}
