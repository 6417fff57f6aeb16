package room

// Nameplates and knocks: the short number in a room code, and joining by
// code. A knock is a code exchange the signaling layer runs between a
// newcomer and a member the registry picks; failed knocks retire the
// nameplate before a guesser's odds grow.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"github.com/google/uuid"
)

const (
	// MinNameplateDigits is the shortest nameplate handed out. Nameplates grow a
	// digit whenever live rooms would fill more than 1/NameplateSparsity of the
	// space, so a random pick almost always succeeds on the first try and a
	// mistyped nameplate rarely lands on another live room.
	MinNameplateDigits = 3
	// MaxNameplateDigits is the longest: the code a member reads out is
	// this plus 7 password digits, and clients (pake.MaxNameplateDigits,
	// static/js/pake/code.js) parse no more. 10^12 nameplates at sparsity 10
	// is far beyond any MaxRooms; past it, creating a room fails cleanly.
	MaxNameplateDigits = 12
	NameplateSparsity  = 10
	// maxNameplateTries bounds the random search at one length before growing.
	maxNameplateTries = 32

	// DefaultMaxKnockFailures is how many failed code exchanges (knocks) a
	// room's nameplate survives: at this many the nameplate, and with it the
	// room code, is retired and a new one given out. With a 7-digit
	// password part, a guesser's odds per code are 5 in 10^7.
	DefaultMaxKnockFailures = 5
)

// KnockTarget finds the room a nameplate names and the member who answers
// its next knock (members take turns, so one broken client cannot stop
// everyone joining by code). ErrNoSuchRoom if no live room has it.
func (r *Registry) KnockTarget(nameplate string) (ID, uuid.UUID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.nameplates[nameplate]
	if !ok {
		return ID{}, uuid.Nil, ErrNoSuchRoom
	}
	rm := r.rooms[string(id[:])]
	// A detached member cannot answer: skip it.
	for range rm.order {
		rm.knockNext = (rm.knockNext + 1) % len(rm.order)
		if m := rm.members[rm.order[rm.knockNext]]; !m.detached {
			return id, m.ID, nil
		}
	}
	return ID{}, uuid.Nil, ErrNoSuchRoom // nobody here to answer
}

// Notify hands a member an event from the signaling layer (Kind Signal),
// in order with the room's other events.
func (r *Registry) Notify(id ID, to uuid.UUID, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, m, err := r.find(id, to)
	if err != nil {
		return err
	}
	m.sink.Deliver(e)
	return nil
}

// KnockFailed counts a failed code exchange: everyone is told someone
// tried a wrong code, and at MaxKnockFailures the nameplate is retired and
// everyone gets the new one. It reports whether it retired the nameplate.
// A room that is gone is no error: there is nothing left to protect.
func (r *Registry) KnockFailed(id ID) (retired bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[string(id[:])]
	if !ok {
		return false, nil
	}
	rm.knockFailures++
	rm.broadcast(uuid.Nil, Event{Kind: KnockFailed})
	if rm.knockFailures < r.cfg.MaxKnockFailures {
		return false, nil
	}
	plate, err := r.newNameplate()
	if err != nil {
		return false, err
	}
	delete(r.nameplates, rm.nameplate)
	rm.nameplate = plate
	r.nameplates[plate] = id
	rm.knockFailures = 0
	rm.broadcast(uuid.Nil, Event{Kind: NameplateChanged, Nameplate: plate})
	return true, nil
}

// MaxNodePrefixDigits bounds a node's nameplate prefix: three digits name
// up to a thousand nodes, and every digit of prefix is a digit more for
// members to read aloud.
const MaxNodePrefixDigits = 3

// ValidNodePrefix reports why s cannot be a node's nameplate prefix: it is
// "" (no prefix) or 1 to MaxNodePrefixDigits ASCII digits.
func ValidNodePrefix(s string) error {
	if len(s) > MaxNodePrefixDigits {
		return fmt.Errorf("node prefix %q: at most %d digits", s, MaxNodePrefixDigits)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return fmt.Errorf("node prefix %q: digits only", s)
		}
	}
	return nil
}

// newNameplate picks a random, unused, all-digit nameplate: the node's
// prefix, then random digits. The random part alone keeps today's sparsity
// rule (it grows a digit as live rooms fill the space), so a prefix
// lengthens codes by its own digits and changes nothing else: every
// nameplate of this node shares the prefix, so only the random part tells
// them apart. Caller holds r.mu.
func (r *Registry) newNameplate() (string, error) {
	prefix := r.cfg.NodePrefix
	digits := MinNameplateDigits
	for pow10(digits) < int64(NameplateSparsity)*int64(len(r.rooms)+1) {
		digits++
	}
	for ; len(prefix)+digits <= MaxNameplateDigits; digits++ {
		space := big.NewInt(pow10(digits))
		for try := 0; try < maxNameplateTries; try++ {
			n, err := rand.Int(rand.Reader, space)
			if err != nil {
				return "", fmt.Errorf("nameplate: %w", err)
			}
			plate := fmt.Sprintf("%s%0*d", prefix, digits, n.Int64())
			if _, used := r.nameplates[plate]; !used {
				return plate, nil
			}
		}
	}
	return "", errors.New("nameplate: no free nameplate")
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
