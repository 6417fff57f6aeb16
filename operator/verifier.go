package operator

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
	"time"

	"sotto/room"
)

// Verifier checks tokens and makes each one single-use. It is safe for
// concurrent use.
//
// Used tokens are remembered in memory, keyed by their MAC, until their
// expiry; after that Check refuses them as expired anyway, so forgetting them
// is safe. The cache holds at most MaxUsedTokens; a restart empties it, which
// lets a token used before the restart be used once more before it expires
// (tokens are short-lived: docs/tokens.md).
type Verifier struct {
	// Now reads the clock; nil means time.Now. Set it before the first Check.
	Now func() time.Time

	secret []byte

	mu sync.Mutex
	// latest is the latest second Check has seen. Expiry is judged against
	// it, not against each reading of Now, so a clock stepped backwards
	// cannot revive a token whose cache entry was already dropped. (The
	// price: after a clock stepped forward by mistake and back, tokens look
	// that much older until the clock catches up.)
	latest int64
	used   usedSet
	// maxUsed is MaxUsedTokens; tests lower it.
	maxUsed int
}

// NewVerifier returns a Verifier for tokens signed with secret. It panics if
// CheckSecret refuses the secret: main checks it first and exits with the
// error, so a weak key can never be in use.
func NewVerifier(secret []byte) *Verifier {
	if err := CheckSecret(secret); err != nil {
		panic("operator.NewVerifier: " + err.Error())
	}
	return &Verifier{
		secret:  append([]byte(nil), secret...),
		used:    usedSet{index: make(map[[sha256.Size]byte]int)},
		maxUsed: MaxUsedTokens,
	}
}

// Check verifies a token presented to create or join the room want, and on
// success records it as used. It rejects, in this order: no token
// (ErrTokenMissing); one that is too long or not exactly the format
// (ErrTokenMalformed); a MAC that does not match (ErrTokenSignature); a token
// for another room (ErrTokenWrongRoom); an expiry at or before now
// (ErrTokenExpired) or more than MaxTokenLifetime ahead (ErrTokenLifetime);
// a token already used (ErrTokenReplayed); and, with the replay cache full
// of unexpired tokens, any new one (ErrBusy).
//
// The MAC is checked, in constant time, before anything the token claims is
// looked at: a forged or altered token learns only that it is not genuine,
// never whether its room or expiry would have passed. Syntax comes first
// because the format is public: checking it tells nothing about the secret.
//
// If the create or join then fails without admitting anyone, the caller
// gives the token back with Release.
func (v *Verifier) Check(token string, want room.ID) (Claims, error) {
	if token == "" {
		return Claims{}, ErrTokenMissing
	}
	p, ok := parseToken(token)
	if !ok {
		return Claims{}, ErrTokenMalformed
	}
	mac := macOf(v.secret, p.body)
	if !hmac.Equal(mac[:], p.mac[:]) {
		return Claims{}, ErrTokenSignature
	}
	if p.room != want {
		return Claims{}, ErrTokenWrongRoom
	}

	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if now > v.latest {
		v.latest = now
	}
	now = v.latest
	v.used.prune(now)
	if p.exp <= now {
		return Claims{}, ErrTokenExpired
	}
	if p.exp > now+int64(MaxTokenLifetime/time.Second) {
		return Claims{}, ErrTokenLifetime
	}
	if v.used.has(p.mac) {
		return Claims{}, ErrTokenReplayed
	}
	if v.used.len() >= v.maxUsed {
		return Claims{}, ErrBusy
	}
	v.used.add(p.mac, p.exp)
	return Claims{Room: p.room, User: p.user, Role: p.role, Expiry: time.Unix(p.exp, 0), Nonce: p.nonce, mac: p.mac}, nil
}

// Release forgets that the token behind c (as returned by Check) was used,
// so it can be presented again. The signaling layer calls it when the create
// or join the token was checked for fails without admitting anyone
// (no_such_room, room_exists, room_full, ...): clients answer no_such_room by
// creating the room, with the same token. A token that got a member into a
// room must never be released. Releasing twice, or claims not from Check,
// does nothing.
func (v *Verifier) Release(c Claims) {
	if c.mac == ([sha256.Size]byte{}) {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.used.remove(c.mac)
}

// UsedTokens returns how many used, unexpired tokens the Verifier remembers
// (for a metric).
func (v *Verifier) UsedTokens() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.used.len()
}

func (v *Verifier) now() int64 {
	if v.Now != nil {
		return v.Now().Unix()
	}
	return time.Now().Unix()
}

// usedSet is the replay cache: a set of MACs with a min-heap on expiry, so
// that dropping expired entries costs O(log n) each, paid once per entry,
// and removing one (Release) leaves nothing behind. Not safe for concurrent
// use; the Verifier's mutex guards it.
type usedSet struct {
	heap  []usedEntry               // min-heap on exp
	index map[[sha256.Size]byte]int // mac -> position in heap
}

type usedEntry struct {
	mac [sha256.Size]byte
	exp int64
}

func (s *usedSet) len() int { return len(s.heap) }

func (s *usedSet) has(mac [sha256.Size]byte) bool {
	_, ok := s.index[mac]
	return ok
}

func (s *usedSet) add(mac [sha256.Size]byte, exp int64) {
	s.heap = append(s.heap, usedEntry{mac, exp})
	s.index[mac] = len(s.heap) - 1
	s.up(len(s.heap) - 1)
}

// prune drops every entry that expires at or before now.
func (s *usedSet) prune(now int64) {
	for len(s.heap) > 0 && s.heap[0].exp <= now {
		s.removeAt(0)
	}
	if len(s.heap) == 0 && cap(s.heap) > 1024 {
		// A burst is over: give its memory back. (A Go map never shrinks,
		// so the index is replaced too.)
		s.heap = nil
		s.index = make(map[[sha256.Size]byte]int)
	}
}

func (s *usedSet) remove(mac [sha256.Size]byte) {
	if i, ok := s.index[mac]; ok {
		s.removeAt(i)
	}
}

func (s *usedSet) removeAt(i int) {
	last := len(s.heap) - 1
	delete(s.index, s.heap[i].mac)
	if i != last {
		s.heap[i] = s.heap[last]
		s.index[s.heap[i].mac] = i
	}
	s.heap = s.heap[:last]
	if i != last {
		s.down(i)
		s.up(i)
	}
}

func (s *usedSet) less(i, j int) bool { return s.heap[i].exp < s.heap[j].exp }

func (s *usedSet) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.index[s.heap[i].mac] = i
	s.index[s.heap[j].mac] = j
}

func (s *usedSet) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			return
		}
		s.swap(i, parent)
		i = parent
	}
}

func (s *usedSet) down(i int) {
	n := len(s.heap)
	for {
		small := i
		if l := 2*i + 1; l < n && s.less(l, small) {
			small = l
		}
		if r := 2*i + 2; r < n && s.less(r, small) {
			small = r
		}
		if small == i {
			return
		}
		s.swap(i, small)
		i = small
	}
}
