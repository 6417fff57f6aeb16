package client

// Remove and re-key: in an open room nobody is in charge, so any member may
// remove another by moving everyone else to a new room secret. The member
// who removes makes S', seals it under the room's signal key and sends it
// to each remaining member alone (the items of one blobs batch), never to
// the removed one; then everyone leaves and enters the room of S', whose room id, auth token and
// media key the removed member cannot derive. Its old link now leads to an
// empty room.
//
// What this does not stop: the removed member holds the old signal key, so
// a server that handed it the re-key blobs meant for the others (a server
// colluding with it) would give it S'. docs/security.md says so.

import (
	"encoding/json"
	"fmt"
	"slices"

	"sotto/e2ee"
)

// rekeyMsg is the sealed payload of a re-key blob.
type rekeyMsg struct {
	Rekey   string   `json:"rekey"`   // S', base64url
	Removed []string `json:"removed"` // member ids left behind
}

// RemoveAndRekey sends a new room secret to every other member except
// removed, and returns it. The caller then moves: Leave (or Close) this
// client and Connect a new one with the returned secret; the others get a
// "rekey" Event carrying the same secret and do the same.
func (c *Client) RemoveAndRekey(removed ...string) ([]byte, error) {
	c.mu.Lock()
	inside := c.state == inside
	var to []string
	for id := range c.members {
		if !slices.Contains(removed, id) {
			to = append(to, id)
		}
	}
	c.mu.Unlock()
	if !inside {
		return nil, fmt.Errorf("client: remove and re-key: %w", ErrClosed)
	}
	next := e2ee.NewSecret()
	pt, err := json.Marshal(rekeyMsg{Rekey: b64.EncodeToString(next), Removed: removed})
	if err != nil {
		return nil, err
	}
	items := make([]blobItem, 0, len(to))
	for _, id := range to {
		// Sealed once per recipient: each blob gets its own nonce.
		blob, err := e2ee.SealBlob(c.keys.Signal[:], pt)
		if err != nil {
			return nil, err
		}
		items = append(items, blobItem{To: id, Data: blob})
	}
	// One message, not one per member: in a room of 50 that many would be
	// over the server's message burst, and the last would be dropped.
	if err := c.sendBlobs(items); err != nil {
		return nil, err
	}
	return next, nil
}

// openRekey reads pt as a re-key if it is one (isRekey). A malformed one,
// or one from a non-member, is dropped; one that names this client as
// removed is reported without its secret (Reason "removed").
func (c *Client) openRekey(from string, pt []byte) (ev Event, ok, isRekey bool) {
	var r rekeyMsg
	if json.Unmarshal(pt, &r) != nil || r.Rekey == "" {
		return Event{}, false, false
	}
	secret, err := b64.DecodeString(r.Rekey)
	if err != nil || len(secret) != e2ee.SecretSize {
		return Event{}, false, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.members[from] == nil {
		return Event{}, false, true
	}
	if slices.Contains(r.Removed, c.self) {
		// A sender that follows this file never sends this; told without
		// the secret, so that tests can see a sender that did.
		return Event{Type: "rekey", Member: from, Reason: "removed"}, true, true
	}
	return Event{Type: "rekey", Member: from, Secret: secret}, true, true
}
