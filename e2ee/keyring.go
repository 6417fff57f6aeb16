package e2ee

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"sync"
	"time"
)

// The timings and bounds of v2 media keys (docs/keys.md, "Limits and
// constants"); static/js/e2ee/keyring.js has the same names.
const (
	// RotationInterval: a member rotates its sender key on this timer too,
	// which bounds what one captured sender key decrypts.
	RotationInterval = 10 * time.Minute
	// KeySwitchDelay: a sender keeps encrypting under its previous key this
	// long after sending a new one. It is above a signaling round trip on a
	// bad mobile link (design.md §7), so receivers hold the new key before
	// the first frame under it arrives.
	KeySwitchDelay = 500 * time.Millisecond
	// OldKeyGrace: an epoch that stopped being current still decrypts this
	// long, for its frames still in a jitter buffer or a NACK resend.
	OldKeyGrace = 3 * time.Second
	// MaxHeldEpochs: the epochs held per sender, current included. Current
	// plus two in grace covers back-to-back rotations and bounds memory.
	MaxHeldEpochs = 3
	// MaxRingMembers caps the members a KeyRing tracks, so that every
	// member's held epochs fit in one Receiver (MaxSenders KIDs) and a
	// member flooding hellos cannot grow the ring without bound.
	MaxRingMembers = MaxSenders / MaxHeldEpochs
)

// KeySink is where a KeyRing puts the frame keys it decides on: a
// *Receiver implements it. The ring calls SetSenderKey when an epoch's key
// is accepted and RemoveSender when the epoch is erased, so the receiver
// holds exactly the epochs the ring holds.
type KeySink interface {
	SetSenderKey(kid uint64, senderKey []byte) error
	RemoveSender(kid uint64)
}

// KeyRingConfig is what a KeyRing needs of its member's session.
type KeyRingConfig struct {
	RoomID []byte   // RoomKeys.RoomID: binds every wrap to this room
	Self   uint32   // our own sid (NewSID)
	Pair   *KeyPair // our ephemeral key pair; the ring erases it on Close
	Sink   KeySink  // usually the Receiver that decrypts the room's frames
}

// KeyRing holds, for one membership, the other members' public keys (from
// their hellos) and the epochs of their sender keys, and applies the rules
// of docs/keys.md ("Receiving a key blob") in the same order as the
// JavaScript twin. It does no I/O and reads no clock: the caller passes the
// time, and calls Expire when NextExpiry says.
//
// It never keeps a sender key: an accepted key goes to the sink, and the
// ring keeps only a SHA-256 digest of each sender's current key, to tell a
// resend (same key) from a replay (another key for the same epoch).
//
// It is safe for concurrent use.
type KeyRing struct {
	mu      sync.Mutex
	room    [RoomIDSize]byte
	self    uint32
	pair    *KeyPair
	sink    KeySink
	members map[uint32]*ringMember
	closed  bool
}

// ringMember is one remote member: its public key and the epochs held.
type ringMember struct {
	public [PublicKeySize]byte
	// held: oldest first; the last one is current once hasKey is set.
	held    []heldEpoch
	hasKey  bool
	current [sha256.Size]byte // digest of the current epoch's sender key
}

type heldEpoch struct {
	epoch      uint16
	graceUntil time.Time // zero while current
}

// Accepted says what a key did to the ring.
type Accepted struct {
	From  uint32
	Epoch uint16
	// New: the epoch is now the sender's current one (its first key, or a
	// newer epoch). False: a resend of the current key; nothing changed.
	New bool
}

// NewKeyRing makes an empty ring.
func NewKeyRing(c KeyRingConfig) (*KeyRing, error) {
	if len(c.RoomID) != RoomIDSize || c.Pair == nil || c.Sink == nil {
		return nil, ErrBadKey
	}
	r := &KeyRing{self: c.Self, pair: c.Pair, sink: c.Sink, members: make(map[uint32]*ringMember)}
	copy(r.room[:], c.RoomID)
	return r, nil
}

// Self returns our own sid.
func (r *KeyRing) Self() uint32 { return r.self }

// AddMember records a member's hello: its sid and X25519 public key. The
// same sid with the same key again (a resume) does nothing; with another
// key, or our own sid, it is refused (ErrDuplicateSID). A malformed or
// low-order key is refused (ErrBadPublicKey) before it is ever used.
func (r *KeyRing) AddMember(sid uint32, public []byte) error {
	shared, err := r.pair.Agree(public) // refuses low-order keys now, not at the first blob
	if err != nil {
		return err
	}
	clear(shared)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrKeyPairErased
	}
	if sid == r.self {
		return ErrDuplicateSID
	}
	if m, ok := r.members[sid]; ok {
		if subtle.ConstantTimeCompare(m.public[:], public) == 1 {
			return nil
		}
		return ErrDuplicateSID
	}
	if len(r.members) >= MaxRingMembers {
		return fmt.Errorf("%w (limit %d members)", ErrTooManySenders, MaxRingMembers)
	}
	m := &ringMember{}
	copy(m.public[:], public)
	r.members[sid] = m
	return nil
}

// RemoveMember forgets a member that left: its public key and every epoch
// held, erased at once (no grace: it is no longer in the room).
func (r *KeyRing) RemoveMember(sid uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.members[sid]; ok {
		r.eraseAll(sid, m)
		delete(r.members, sid)
	}
}

// Members returns the sids of the live members whose hellos we hold, in
// increasing order: who gets a key blob when we rotate.
func (r *KeyRing) Members() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]uint32, 0, len(r.members))
	for sid := range r.members {
		out = append(out, sid)
	}
	slices.Sort(out)
	return out
}

// SealFor wraps our sender key of epoch for the member to, as a 71-byte
// key blob (to send base64url-encoded inside a SealBlob). A sid whose hello
// we do not hold is refused (ErrUnknownSender).
func (r *KeyRing) SealFor(to uint32, epoch uint16, senderKey []byte) ([]byte, error) {
	r.mu.Lock()
	m, ok := r.members[to]
	var pub [PublicKeySize]byte
	if ok {
		pub = m.public
	}
	r.mu.Unlock()
	if !ok {
		return nil, ErrUnknownSender
	}
	return SealKeyBlob(r.pair, pub[:], r.room[:], KeyBlobHeader{From: r.self, To: to, Epoch: epoch}, senderKey)
}

// AcceptBlob takes a key blob (already out of its signal-key seal: rule 1
// is the caller's) and applies rules 2 to 5 of docs/keys.md in order:
// version and length (ErrKeyBlobFormat, ErrKeyBlobVersion), addressed to us
// (ErrKeyNotForUs), from a live member (ErrUnknownSender), unwraps under the
// pair's key (ErrKeyUnwrap), epoch (ErrStaleEpoch, see Accept). The sender
// key it unwraps is zeroed before it returns.
func (r *KeyRing) AcceptBlob(blob []byte, now time.Time) (Accepted, error) {
	h, err := ParseKeyBlobHeader(blob)
	if err != nil {
		return Accepted{}, err
	}
	if h.To != r.self {
		return Accepted{}, ErrKeyNotForUs
	}
	r.mu.Lock()
	m, ok := r.members[h.From]
	var pub [PublicKeySize]byte
	if ok {
		pub = m.public
	}
	r.mu.Unlock()
	if !ok {
		return Accepted{}, ErrUnknownSender
	}
	_, key, err := OpenKeyBlob(r.pair, pub[:], r.room[:], blob)
	if err != nil {
		return Accepted{}, err
	}
	defer clear(key)
	return r.Accept(h.From, h.Epoch, key, now)
}

// Accept applies rules 3 and 5 of docs/keys.md to a sender key already
// unwrapped: from must be a live member (ErrUnknownSender); its first key
// is accepted at any epoch; then a newer epoch (EpochNewer) becomes current
// and the previous one is kept OldKeyGrace; the current epoch with the same
// key is a no-op (a resend after a resume); an older epoch, or the current
// one with another key, is refused (ErrStaleEpoch: a replayed key blob).
// More than MaxHeldEpochs held: the oldest is erased at once. The ring
// does not keep senderKey; the caller may zero it.
func (r *KeyRing) Accept(from uint32, epoch uint16, senderKey []byte, now time.Time) (Accepted, error) {
	if len(senderKey) != SenderKeySize {
		return Accepted{}, ErrBadKey
	}
	digest := sha256.Sum256(senderKey)
	defer clear(digest[:])
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[from]
	if !ok || r.closed {
		return Accepted{}, ErrUnknownSender
	}
	res := Accepted{From: from, Epoch: epoch}
	if m.hasKey {
		cur := m.held[len(m.held)-1].epoch
		switch {
		case epoch == cur:
			if subtle.ConstantTimeCompare(digest[:], m.current[:]) == 1 {
				return res, nil
			}
			return Accepted{}, ErrStaleEpoch
		case !EpochNewer(epoch, cur):
			return Accepted{}, ErrStaleEpoch
		}
	}
	if err := r.sink.SetSenderKey(EpochKID(from, epoch), senderKey); err != nil {
		return Accepted{}, err
	}
	if m.hasKey {
		m.held[len(m.held)-1].graceUntil = now.Add(OldKeyGrace)
	}
	m.held = append(m.held, heldEpoch{epoch: epoch})
	m.hasKey = true
	m.current = digest
	for len(m.held) > MaxHeldEpochs {
		r.sink.RemoveSender(EpochKID(from, m.held[0].epoch))
		m.held = m.held[1:]
	}
	res.New = true
	return res, nil
}

// Expire erases every epoch whose grace ended at or before now: its frame
// key and replay window leave the sink. Call it when NextExpiry says.
func (r *KeyRing) Expire(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sid, m := range r.members {
		kept := m.held[:0]
		for _, e := range m.held {
			if !e.graceUntil.IsZero() && !e.graceUntil.After(now) {
				r.sink.RemoveSender(EpochKID(sid, e.epoch))
				continue
			}
			kept = append(kept, e)
		}
		clear(m.held[len(kept):])
		m.held = kept
	}
}

// NextExpiry returns the earliest end of a grace, if any epoch is in one:
// when the caller should call Expire next.
func (r *KeyRing) NextExpiry() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, m := range r.members {
		for _, e := range m.held {
			if !e.graceUntil.IsZero() && (next.IsZero() || e.graceUntil.Before(next)) {
				next = e.graceUntil
			}
		}
	}
	return next, !next.IsZero()
}

// Current returns a member's current epoch, if it sent us a key.
func (r *KeyRing) Current(sid uint32) (uint16, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[sid]
	if !ok || !m.hasKey {
		return 0, false
	}
	return m.held[len(m.held)-1].epoch, true
}

// Held returns the epochs held for a member, oldest first (the last is
// current): what its frames may use right now.
func (r *KeyRing) Held(sid uint32) []uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[sid]
	if !ok {
		return nil
	}
	out := make([]uint16, len(m.held))
	for i, e := range m.held {
		out[i] = e.epoch
	}
	return out
}

// Close ends the membership (Leave, re-key): every held epoch leaves the
// sink, the members are forgotten and our key pair is erased. The ring
// accepts nothing afterwards.
func (r *KeyRing) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sid, m := range r.members {
		r.eraseAll(sid, m)
	}
	clear(r.members)
	r.pair.Erase()
	r.closed = true
}

// eraseAll removes every epoch of m from the sink. Call with r.mu held.
func (r *KeyRing) eraseAll(sid uint32, m *ringMember) {
	for _, e := range m.held {
		r.sink.RemoveSender(EpochKID(sid, e.epoch))
	}
	m.held = nil
	m.hasKey = false
	clear(m.current[:])
}
