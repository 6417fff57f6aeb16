package e2ee

import "math/bits"

// MaxHeaderSize is the longest SFrame header: a config byte, an 8-byte KID
// and an 8-byte CTR (RFC 9605 §4.3).
const MaxHeaderSize = 1 + 8 + 8

// AppendHeader appends the SFrame header for (kid, ctr) to dst, RFC 9605
// §4.3: a config byte |X|K K K|Y|C C C|, then the KID and the CTR in the
// fewest big-endian bytes. A value 0-7 lives in the config byte itself.
func AppendHeader(dst []byte, kid, ctr uint64) []byte {
	kidLen, ctrLen := valueLen(kid), valueLen(ctr)
	var config byte
	if kidLen == 0 {
		config = byte(kid) << 4
	} else {
		config = 0x80 | byte(kidLen-1)<<4
	}
	if ctrLen == 0 {
		config |= byte(ctr)
	} else {
		config |= 0x08 | byte(ctrLen-1)
	}
	dst = append(dst, config)
	dst = appendBigEndian(dst, kid, kidLen)
	return appendBigEndian(dst, ctr, ctrLen)
}

// ParseHeader reads an SFrame header from the start of b and returns the
// KID, the CTR and the header's length. It rejects a header that is cut
// short (ErrTruncated) and one whose values are not in their shortest form
// (ErrBadHeader): the RFC requires the shortest form, and accepting exactly
// one encoding per (KID, CTR) keeps the authenticated header canonical.
func ParseHeader(b []byte) (kid, ctr uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, ErrTruncated
	}
	config := b[0]
	n = 1
	kid, n, err = readValue(b, n, config&0x80 != 0, config>>4&0x07)
	if err != nil {
		return 0, 0, 0, err
	}
	ctr, n, err = readValue(b, n, config&0x08 != 0, config&0x07)
	if err != nil {
		return 0, 0, 0, err
	}
	return kid, ctr, n, nil
}

// readValue reads one header field: the 3-bit value itself when extended is
// false, else a (field+1)-byte big-endian integer starting at b[off].
func readValue(b []byte, off int, extended bool, field byte) (uint64, int, error) {
	if !extended {
		return uint64(field), off, nil
	}
	size := int(field) + 1
	if len(b)-off < size {
		return 0, 0, ErrTruncated
	}
	var v uint64
	for _, c := range b[off : off+size] {
		v = v<<8 | uint64(c)
	}
	if valueLen(v) != size {
		return 0, 0, ErrBadHeader
	}
	return v, off + size, nil
}

// valueLen is the number of bytes a header value takes after the config
// byte: 0 for 0-7, else the fewest bytes that hold it.
func valueLen(v uint64) int {
	if v < 8 {
		return 0
	}
	return (bits.Len64(v) + 7) / 8
}

func appendBigEndian(dst []byte, v uint64, size int) []byte {
	for i := size - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}
