package e2ee

import (
	"fmt"
	"sync"
)

// MaxSenders caps the KIDs one Receiver tracks. Each costs about a kilobyte
// (AES-GCM state and a replay window); members that leave should be removed,
// so the cap only stops a misbehaving peer from growing the table forever.
const MaxSenders = 256

// Receiver decrypts frames from the senders registered with AddSender. It is
// safe for concurrent use (signaling adds senders while media decrypts).
type Receiver struct {
	mu      sync.Mutex
	media   [MediaKeySize]byte
	senders map[uint64]*remoteSender
	s       scratch
	// noMedia: made by NewEpochReceiver (v2), whose keys come only from
	// SetSenderKey; AddSender would derive from an all-zero media key.
	noMedia bool
}

type remoteSender struct {
	key    *frameKey
	window replayWindow
}

// NewReceiver makes a receiver for the room's media key.
func NewReceiver(media []byte) (*Receiver, error) {
	if len(media) != MediaKeySize {
		return nil, ErrBadKey
	}
	r := &Receiver{senders: make(map[uint64]*remoteSender)}
	copy(r.media[:], media)
	return r, nil
}

// AddSender registers a KID announced in a member's sealed hello. Adding a
// KID that is already registered does nothing: resetting its replay window
// would let old frames play again.
func (r *Receiver) AddSender(kid uint64) error {
	if kid > MaxKID {
		return ErrBadKID
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.noMedia {
		return ErrBadKey
	}
	if _, ok := r.senders[kid]; ok {
		return nil
	}
	if len(r.senders) >= MaxSenders {
		return fmt.Errorf("%w (limit %d)", ErrTooManySenders, MaxSenders)
	}
	base, err := SenderBaseKey(r.media[:], kid)
	if err != nil {
		return err
	}
	key, err := newFrameKey(base, kid)
	if err != nil {
		return err
	}
	r.senders[kid] = &remoteSender{key: key}
	return nil
}

// RemoveSender forgets a KID (the member left or restarted its sender).
func (r *Receiver) RemoveSender(kid uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.senders, kid)
}

// Senders returns how many KIDs are registered.
func (r *Receiver) Senders() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.senders)
}

// Decrypt checks and decrypts one frame and appends the plain frame (TOC
// byte, then the audio) to dst. An empty frame is passed through unchanged.
// On any failure it returns an error and no plaintext; the caller must drop
// the frame. dst must not overlap frame. The cheap checks (shape, KID, replay window) come before any
// crypto, and the replay window only moves once the frame authenticates.
func (r *Receiver) Decrypt(dst, frame []byte) ([]byte, error) {
	if len(frame) == 0 {
		return dst, nil
	}
	toc, rest := frame[:1], frame[1:]
	kid, ctr, n, err := ParseHeader(rest)
	if err != nil {
		return nil, err
	}
	header, ciphertext := rest[:n], rest[n:]
	if len(ciphertext) < TagSize {
		return nil, ErrTruncated
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	snd, ok := r.senders[kid]
	if !ok {
		return nil, ErrUnknownKID
	}
	if err := snd.window.check(ctr); err != nil {
		return nil, err
	}
	out, err := snd.key.open(append(dst, toc[0]), header, ctr, toc, ciphertext, &r.s)
	if err != nil {
		return nil, err
	}
	snd.window.accept(ctr)
	return out, nil
}
