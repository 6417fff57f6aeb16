package e2ee

import "sync"

// MaxCTR is the last frame counter a sender will use. A (KID, CTR) pair must
// never repeat, so past it the sender refuses to encrypt and the app must
// start a new sender (new KID). 2^32 frames is 2.7 years of talk at 50
// frames/s, and it keeps the CTR in at most 4 header bytes and exact in a
// JavaScript number.
const MaxCTR = 1<<32 - 1

// Sender encrypts one sender session's frames. It is safe for concurrent
// use; each call takes the next CTR.
//
// A Sotto frame is
//
//	Opus TOC byte (clear) || SFrame header || AES-256-GCM(rest of the frame) || 16-byte tag
//
// with AAD = SFrame header || TOC byte, so the TOC (codec mode, frame
// duration) stays readable to the browser's audio pipeline, as in Jitsi and
// LiveKit, but cannot be altered.
type Sender struct {
	mu  sync.Mutex
	kid uint64
	ctr uint64 // next CTR to use; starts at 0
	key *frameKey
	s   scratch
}

// NewSender prepares a sender for the session id kid (from NewKID) under
// the room's media key.
func NewSender(media []byte, kid uint64) (*Sender, error) {
	base, err := SenderBaseKey(media, kid)
	if err != nil {
		return nil, err
	}
	key, err := newFrameKey(base, kid)
	if err != nil {
		return nil, err
	}
	return &Sender{kid: kid, key: key}, nil
}

// KID returns the sender's session id, to announce in a sealed hello.
func (s *Sender) KID() uint64 { return s.kid }

// Encrypt appends the encrypted frame to dst and returns it. An empty frame
// (Opus DTX) is passed through unchanged: it carries no audio and uses no
// CTR. A 1-byte frame (TOC only) is encrypted with an empty plaintext and
// still carries a tag. dst must not overlap frame.
func (s *Sender) Encrypt(dst, frame []byte) ([]byte, error) {
	if len(frame) == 0 {
		return dst, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctr > MaxCTR {
		return nil, ErrCTRExhausted
	}
	ctr := s.ctr
	s.ctr++
	toc := frame[:1]
	dst = append(dst, toc[0])
	return s.key.seal(dst, s.kid, ctr, toc, frame[1:], &s.s), nil
}
