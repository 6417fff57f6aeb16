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

// Parcel is one item of RelayEach: data for one member.
type Parcel struct {
	To   uuid.UUID
	Data []byte
}

// RelayEach delivers each parcel to its member, in order, under one hold of
// the lock, so that every recipient sees the batch at the same point among
// the room's events (a key rotation reaches each member before or after a
// leave, never half and half). A parcel to an id that is not a member
// (one that left a moment ago: a race, not an error) or to the sender is
// skipped. allow, if not nil, is asked first with the parcels that would
// be delivered: if it says no, none is and the error is ErrRelayRefused.
// allow runs under the registry's lock and must not call back into the
// Registry.
func (r *Registry) RelayEach(id ID, from uuid.UUID, parcels []Parcel, allow func(deliver []Parcel) bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, from)
	if err != nil {
		return err
	}
	deliver := make([]Parcel, 0, len(parcels))
	for _, p := range parcels {
		if _, ok := rm.members[p.To]; ok && p.To != from {
			deliver = append(deliver, p)
		}
	}
	if allow != nil && !allow(deliver) {
		return ErrRelayRefused
	}
	for _, p := range deliver {
		rm.members[p.To].sink.Deliver(Event{Kind: Message, Member: m.Member, Data: p.Data})
	}
	return nil
}
