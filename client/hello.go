package client

// Hellos: each member tells the others, in a blob sealed under the room's
// signal key, its display name and the KID its frames carry. A receiver
// decrypts only KIDs some hello announced.

import (
	"encoding/json"

	"sotto/e2ee"
)

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
	return c.sig.send(&outMsg{Type: "blob", To: to, Data: blob})
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
