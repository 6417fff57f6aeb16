package e2ee

// EpochBits is the size of a sender's epoch: its own key counter, 0 for its
// first sender key and +1 (mod 2^16) per rotation. At one rotation per join,
// leave or RotationInterval, 2^16 epochs outlast any membership; the
// counter still wraps safely because newness is compared mod 2^16
// (EpochNewer).
const EpochBits = 16

// EpochKID is the v2 SFrame KID of a sender's epoch: sid << 16 | epoch. It
// names sender and epoch, so a receiver picks the key (or drops the frame,
// before any crypto) from the header alone. It always fits in KIDBits.
func EpochKID(sid uint32, epoch uint16) uint64 {
	return uint64(sid)<<EpochBits | uint64(epoch)
}

// SplitKID is the inverse of EpochKID. It refuses a KID wider than 48 bits
// (ErrBadKID): no v2 sender can have made it.
func SplitKID(kid uint64) (sid uint32, epoch uint16, err error) {
	if kid > MaxKID {
		return 0, 0, ErrBadKID
	}
	return uint32(kid >> EpochBits), uint16(kid), nil
}

// EpochNewer reports whether epoch b is newer than epoch a:
// 0 < (b - a) mod 2^16 < 2^15. Half the circle ahead counts as newer, so a
// counter that wraps from 65535 to 0 still moves forward, and a replayed
// older epoch never looks newer unless 32768 rotations came between.
func EpochNewer(b, a uint16) bool {
	d := b - a // uint16 arithmetic: already mod 2^16
	return d != 0 && d < 1<<(EpochBits-1)
}
