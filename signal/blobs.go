package signal

// The blobs batch: one message carrying a blob for each of several
// members, which the server splits into ordinary blob messages. A key
// rotation sends every other member its own key blob (docs/keys.md); as
// single blobs that is 49 messages in a room of 50, over the per-connection
// burst (DefaultMessageBurst), so the member would be rate limited and
// closed. As one batch it is one message against the message rate, while
// each item costs what the same blob sent alone would against the
// address's blob budget (BlobFanoutRate): the batch saves messages, not
// relaying.

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"sotto/internal/b64url"
	"sotto/room"
)

// blobItem is one item of a blobs message: data for one member.
type blobItem struct {
	To   uuid.UUID
	Data string // base64url as received: relayed, never decoded
}

var errItemsShape = badMessage(fmt.Sprintf(`field "items" must be an array of 1 to %d objects {"to", "data"}`, MaxBlobsItems))

// decodeBlobItems parses the items of a blobs message as strictly as
// decodeMessage parses a message: each item an object with exactly "to"
// (a member id) and "data" (a blob's data), no key repeated, no other
// key, no null, and no two items to the same member. r is valid JSON (the
// message's decoder read it).
func decodeBlobItems(r json.RawMessage) ([]blobItem, *protoError) {
	if r[0] != '[' {
		return nil, errItemsShape
	}
	dec := json.NewDecoder(bytes.NewReader(r))
	if _, err := dec.Token(); err != nil {
		return nil, badMessage("malformed JSON") // unreachable: r is valid JSON
	}
	var items []blobItem
	for dec.More() {
		if len(items) == MaxBlobsItems {
			return nil, badMessage(fmt.Sprintf(`field "items" has more than %d items`, MaxBlobsItems))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badMessage("malformed JSON")
		}
		it, err := decodeBlobItem(v, len(items))
		if err != nil {
			return nil, err
		}
		for _, prev := range items {
			if prev.To == it.To {
				return nil, badMessage(fmt.Sprintf(`item %d: "to" names the same member as an earlier item`, len(items)))
			}
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, errItemsShape
	}
	return items, nil
}

// decodeBlobItem parses item i (counted from 0, for the error message).
func decodeBlobItem(r json.RawMessage, i int) (blobItem, *protoError) {
	var it blobItem
	if r[0] != '{' {
		return it, badMessage(fmt.Sprintf(`item %d: must be an object {"to", "data"}`, i))
	}
	dec := json.NewDecoder(bytes.NewReader(r))
	if _, err := dec.Token(); err != nil {
		return it, badMessage("malformed JSON") // unreachable: r is valid JSON
	}
	var to, data json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return it, badMessage("malformed JSON")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return it, badMessage("malformed JSON")
		}
		var slot *json.RawMessage
		switch tok {
		case "to":
			slot = &to
		case "data":
			slot = &data
		default:
			return it, badMessage(fmt.Sprintf(`item %d: only "to" and "data" are allowed`, i))
		}
		if *slot != nil {
			return it, badMessage(fmt.Sprintf(`item %d: %q appears twice`, i, tok))
		}
		*slot = v
	}
	if to == nil || data == nil {
		return it, badMessage(fmt.Sprintf(`item %d: "to" and "data" are both required`, i))
	}
	s, ok := jsonString(to)
	if !ok {
		return it, badMessage(fmt.Sprintf(`item %d: "to" must be a member id`, i))
	}
	id, err := uuid.Parse(s)
	if err != nil || id.String() != s {
		return it, badMessage(fmt.Sprintf(`item %d: "to" must be a member id`, i))
	}
	d, ok := jsonString(data)
	if !ok || d == "" || len(d) > MaxBlobChars || !b64url.Valid(d) {
		return it, badMessage(fmt.Sprintf(`item %d: "data" must be 1 to %d characters of unpadded base64url`, i, MaxBlobChars))
	}
	it.To, it.Data = id, d
	return it, nil
}

// relayEach passes each item of a blobs message on to its member as an
// ordinary blob, in item order, unread. All or nothing against the
// address's blob budget: each delivered item costs its data plus
// blobOverhead, once (it has one recipient), and if the sum is over the
// budget the whole batch is refused with too_many_blobs. Items to ids that
// are not (or no longer) members are skipped silently: a member that left
// as the batch was sent is a race, not the sender's mistake, and costs
// nothing. A blobs message has no reply unless it fails.
func (c *conn) relayEach(m *inMsg) {
	if !c.inRoom {
		c.fail(m.ID, notInRoom)
		return
	}
	parcels := make([]room.Parcel, len(m.Items))
	for i, it := range m.Items {
		if it.To == c.self {
			c.fail(m.ID, badMessage(fmt.Sprintf(`item %d: "to" is the sender itself`, i)))
			return
		}
		parcels[i] = room.Parcel{To: it.To, Data: []byte(it.Data)}
	}
	allow := func(deliver []room.Parcel) bool {
		n := 0
		for _, p := range deliver {
			n += len(p.Data) + blobOverhead
		}
		return c.s.blobs.takeBytes(c.ipKey, n)
	}
	if err := c.s.reg.RelayEach(c.roomID, c.self, parcels, allow); err != nil {
		c.fail(m.ID, c.registryError(err))
	}
}
