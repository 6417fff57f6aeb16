package client

// Hellos: each member tells the others, in a blob sealed under the room's
// signal key, its display name and the KID its frames carry. A receiver
// decrypts only KIDs some hello announced.

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
	KID  string `json:"kid"` // 12 lowercase hex digits
}

// sendHello sends the client's hello to one member, or with to == "" to
// every other member.
func (c *Client) sendHello(to string) error {
	pt, err := json.Marshal(hello{Name: c.cfg.Name, KID: e2ee.FormatKID(c.snd.KID())})
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

// openBlob reads a relayed blob: a hello or a re-key (rekey.go). Anything
// that does not open under the signal key, or is neither, is ignored.
func (c *Client) openBlob(m *inMsg) (Event, bool) {
	pt, err := e2ee.OpenBlob(c.keys.Signal[:], m.Data)
	if err != nil {
		return Event{}, false
	}
	if ev, ok, isRekey := c.openRekey(m.From, pt); isRekey {
		return ev, ok
	}
	return c.openHello(m, pt)
}

// openHello registers the sender's KID with the receiver.
func (c *Client) openHello(m *inMsg, pt []byte) (Event, bool) {
	var h hello
	if json.Unmarshal(pt, &h) != nil {
		return Event{}, false
	}
	kid, err := e2ee.ParseKID(h.KID)
	if err != nil {
		return Event{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mem := c.members[m.From]
	if mem == nil {
		return Event{}, false // it left already
	}
	if mem.hasKID && mem.kid != kid {
		c.rcv.RemoveSender(mem.kid) // a new sender session
	}
	if c.rcv.AddSender(kid) != nil {
		return Event{}, false
	}
	mem.kid, mem.hasKID, mem.name = kid, true, h.Name
	return Event{Type: "hello", Member: m.From, KID: kid, Name: h.Name}, true
}
