package room

// Relay: the opaque, end-to-end encrypted data members send one another
// (the protocol's blobs: display names, hellos, re-keys). The registry only
// delivers it, in order with the room's other events, within the sender's
// budget, and keeps none of it.

import "github.com/google/uuid"

// RelayIf delivers an opaque payload from one member to another (to !=
// uuid.Nil) or to every other member of the room (to == uuid.Nil). The
// registry never looks inside data: it is end-to-end encrypted by the
// clients. allow, if not nil, is asked first with the number of members the
// data would go to: if it says no, nothing is delivered and the error is
// ErrRelayRefused. allow runs under the registry's lock and must not call
// back into the Registry.
func (r *Registry) RelayIf(id ID, from, to uuid.UUID, data []byte, allow func(recipients int) bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, from)
	if err != nil {
		return err
	}
	e := Event{Kind: Message, Member: m.Member, Data: data}
	if to == uuid.Nil {
		if allow != nil && !allow(len(rm.members)-1) {
			return ErrRelayRefused
		}
		rm.broadcast(from, e)
		return nil
	}
	target, ok := rm.members[to]
	if !ok || to == from {
		return ErrNoSuchMember
	}
	if allow != nil && !allow(1) {
		return ErrRelayRefused
	}
	target.sink.Deliver(e)
	return nil
}
