// Package termqr draws a QR code in a terminal, so a phone can open the
// address a LAN server prints. It encodes bytes only, at error correction
// level M, in versions 1 to 10 (up to 213 bytes): enough for any URL Sotto
// prints, in a few hundred lines and no dependency.
//
// The encoder follows ISO/IEC 18004 the way Project Nayuki's reference
// implementation lays it out; TestDecodes checks the result with a real
// decoder (zbarimg) where one is installed.
package termqr

import (
	"errors"
	"strings"
)

const (
	maxVersion = 10
	quietZone  = 4 // light modules around the symbol, as the standard asks
)

// blockSpec is one version's level-M error correction layout.
type blockSpec struct {
	ecPerBlock     int
	blocks1, data1 int // blocks of the first group and their data codewords
	blocks2, data2 int // the second group (one more data codeword each)
}

// levelM is ISO/IEC 18004 table 9, level M, versions 1 to 10.
var levelM = [maxVersion + 1]blockSpec{
	1:  {10, 1, 16, 0, 0},
	2:  {16, 1, 28, 0, 0},
	3:  {26, 1, 44, 0, 0},
	4:  {18, 2, 32, 0, 0},
	5:  {24, 2, 43, 0, 0},
	6:  {16, 4, 27, 0, 0},
	7:  {18, 4, 31, 0, 0},
	8:  {22, 2, 38, 2, 39},
	9:  {22, 3, 36, 2, 37},
	10: {26, 4, 43, 1, 44},
}

// alignment are the centre coordinates of alignment patterns per version.
var alignment = [maxVersion + 1][]int{
	2: {6, 18}, 3: {6, 22}, 4: {6, 26}, 5: {6, 30}, 6: {6, 34},
	7: {6, 22, 38}, 8: {6, 24, 42}, 9: {6, 26, 46}, 10: {6, 28, 50},
}

const formatBitsM = 0 // level M's two format bits

// ErrTooLong is returned for text that does not fit version 10.
var ErrTooLong = errors.New("termqr: text too long")

// Code is an encoded symbol: Size×Size modules, without the quiet zone.
type Code struct {
	Size     int
	Version  int
	Mask     int
	modules  [][]bool
	function [][]bool
}

// Dark reports whether the module at column x, row y is dark.
func (c *Code) Dark(x, y int) bool { return c.modules[y][x] }

// Encode makes the smallest level-M symbol holding text in byte mode.
func Encode(text string) (*Code, error) { return encode(text, -1) }

// encode is Encode with the mask forced when mask >= 0 (for tests).
func encode(text string, mask int) (*Code, error) {
	data := []byte(text)
	version := 0
	for v := 1; v <= maxVersion; v++ {
		if 4+countBits(v)+8*len(data) <= 8*dataCodewords(v) {
			version = v
			break
		}
	}
	if version == 0 {
		return nil, ErrTooLong
	}
	// Bit stream: mode 0100 (bytes), count, the bytes, a terminator, then
	// pad bytes up to the capacity.
	var bits bitBuffer
	bits.append(0b0100, 4)
	bits.append(len(data), countBits(version))
	for _, b := range data {
		bits.append(int(b), 8)
	}
	capacity := 8 * dataCodewords(version)
	bits.append(0, min(4, capacity-len(bits)))
	bits.append(0, (8-len(bits)%8)%8)
	for pad := 0xEC; len(bits) < capacity; pad ^= 0xEC ^ 0x11 {
		bits.append(pad, 8)
	}
	codewords := make([]byte, len(bits)/8)
	for i, b := range bits {
		if b {
			codewords[i/8] |= 1 << (7 - i%8)
		}
	}

	c := newCode(version)
	c.drawFunctionPatterns()
	c.drawCodewords(addECAndInterleave(codewords, version))
	// Choose the mask with the lowest penalty, as the standard does.
	best, bestPenalty := 0, -1
	for m := range 8 {
		c.applyMask(m)
		c.drawFormatBits(m)
		if p := c.penalty(); bestPenalty < 0 || p < bestPenalty {
			best, bestPenalty = m, p
		}
		c.applyMask(m) // undo
	}
	if mask >= 0 {
		best = mask
	}
	c.Mask = best
	c.applyMask(best)
	c.drawFormatBits(best)
	return c, nil
}

func countBits(version int) int {
	if version < 10 {
		return 8
	}
	return 16
}

func dataCodewords(version int) int {
	s := levelM[version]
	return s.blocks1*s.data1 + s.blocks2*s.data2
}

type bitBuffer []bool

func (b *bitBuffer) append(v, n int) {
	for i := n - 1; i >= 0; i-- {
		*b = append(*b, v>>i&1 == 1)
	}
}

func newCode(version int) *Code {
	size := 17 + 4*version
	c := &Code{Size: size, Version: version}
	c.modules = make([][]bool, size)
	c.function = make([][]bool, size)
	for i := range size {
		c.modules[i] = make([]bool, size)
		c.function[i] = make([]bool, size)
	}
	return c
}

func (c *Code) set(x, y int, dark bool) {
	c.modules[y][x] = dark
	c.function[y][x] = true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (c *Code) drawFunctionPatterns() {
	for i := range c.Size { // timing patterns
		c.set(6, i, i%2 == 0)
		c.set(i, 6, i%2 == 0)
	}
	// Finder patterns with their separators.
	for _, p := range [][2]int{{3, 3}, {c.Size - 4, 3}, {3, c.Size - 4}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := p[0]+dx, p[1]+dy
				if x >= 0 && x < c.Size && y >= 0 && y < c.Size {
					d := max(abs(dx), abs(dy))
					c.set(x, y, d != 2 && d != 4)
				}
			}
		}
	}
	pos := alignment[c.Version]
	last := len(pos) - 1
	for i, ax := range pos {
		for j, ay := range pos {
			if i == 0 && j == 0 || i == 0 && j == last || i == last && j == 0 {
				continue // these corners hold finder patterns
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					c.set(ax+dx, ay+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	c.drawFormatBits(0) // reserves the area; redrawn once the mask is chosen
	if c.Version >= 7 {
		rem := c.Version
		for range 12 {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		bits := c.Version<<12 | rem
		for i := range 18 {
			dark := bits>>i&1 == 1
			a, b := c.Size-11+i%3, i/3
			c.set(a, b, dark)
			c.set(b, a, dark)
		}
	}
}

func (c *Code) drawFormatBits(mask int) {
	data := formatBitsM<<3 | mask
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return bits>>i&1 == 1 }
	for i := range 6 {
		c.set(8, i, bit(i))
	}
	c.set(8, 7, bit(6))
	c.set(8, 8, bit(7))
	c.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		c.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		c.set(c.Size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		c.set(8, c.Size-15+i, bit(i))
	}
	c.set(8, c.Size-8, true) // the dark module
}

// drawCodewords places the bits in the two-column zigzag, skipping function
// modules; modules left over (remainder bits) stay light.
func (c *Code) drawCodewords(data []byte) {
	i := 0
	for right := c.Size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5 // the vertical timing pattern
		}
		for vert := range c.Size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = c.Size - 1 - vert // upward
				}
				if !c.function[y][x] && i < len(data)*8 {
					c.modules[y][x] = data[i/8]>>(7-i%8)&1 == 1
					i++
				}
			}
		}
	}
}

func (c *Code) applyMask(mask int) {
	for y := range c.Size {
		for x := range c.Size {
			var invert bool
			switch mask {
			case 0:
				invert = (x+y)%2 == 0
			case 1:
				invert = y%2 == 0
			case 2:
				invert = x%3 == 0
			case 3:
				invert = (x+y)%3 == 0
			case 4:
				invert = (x/3+y/2)%2 == 0
			case 5:
				invert = x*y%2+x*y%3 == 0
			case 6:
				invert = (x*y%2+x*y%3)%2 == 0
			case 7:
				invert = ((x+y)%2+x*y%3)%2 == 0
			}
			if invert && !c.function[y][x] {
				c.modules[y][x] = !c.modules[y][x]
			}
		}
	}
}

// penalty scores the symbol by the standard's four rules (lower is better).
func (c *Code) penalty() int {
	n := c.Size
	p := 0
	at := func(x, y int, transpose bool) bool {
		if transpose {
			return c.modules[x][y]
		}
		return c.modules[y][x]
	}
	finderLike := [2][11]bool{
		{true, false, true, true, true, false, true, false, false, false, false},
		{false, false, false, false, true, false, true, true, true, false, true},
	}
	for _, tr := range []bool{false, true} {
		for y := range n {
			run := 1
			for x := 1; x <= n; x++ {
				if x < n && at(x, y, tr) == at(x-1, y, tr) {
					run++
					continue
				}
				if run >= 5 { // rule 1: runs of one colour
					p += 3 + run - 5
				}
				run = 1
			}
			for x := 0; x+11 <= n; x++ { // rule 3: finder-like patterns
				for _, pat := range finderLike {
					match := true
					for k, want := range pat {
						if at(x+k, y, tr) != want {
							match = false
							break
						}
					}
					if match {
						p += 40
					}
				}
			}
		}
	}
	dark := 0
	for y := range n {
		for x := range n {
			if c.modules[y][x] {
				dark++
			}
			if x+1 < n && y+1 < n { // rule 2: 2×2 blocks of one colour
				v := c.modules[y][x]
				if c.modules[y][x+1] == v && c.modules[y+1][x] == v && c.modules[y+1][x+1] == v {
					p += 3
				}
			}
		}
	}
	total := n * n // rule 4: balance of dark and light
	k := (abs(dark*20-total*10)+total-1)/total - 1
	return p + k*10
}

// addECAndInterleave splits data into the version's blocks, appends each
// block's Reed-Solomon codewords, and interleaves them.
func addECAndInterleave(data []byte, version int) []byte {
	s := levelM[version]
	div := rsDivisor(s.ecPerBlock)
	var blocks, ecs [][]byte
	for b := range s.blocks1 + s.blocks2 {
		n := s.data1
		if b >= s.blocks1 {
			n = s.data2
		}
		blocks = append(blocks, data[:n])
		ecs = append(ecs, rsRemainder(data[:n], div))
		data = data[n:]
	}
	var out []byte
	for i := range max(s.data1, s.data2) {
		for _, b := range blocks {
			if i < len(b) {
				out = append(out, b[i])
			}
		}
	}
	for i := range s.ecPerBlock {
		for _, e := range ecs {
			out = append(out, e[i])
		}
	}
	return out
}

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
func gfMul(x, y byte) byte {
	var z int
	for i := 7; i >= 0; i-- {
		z = z<<1 ^ (z>>7)*0x11D
		z ^= int(y>>i&1) * int(x)
	}
	return byte(z)
}

// rsDivisor is the generator polynomial of the given degree, highest
// coefficient (always 1) omitted.
func rsDivisor(degree int) []byte {
	r := make([]byte, degree)
	r[degree-1] = 1
	root := byte(1)
	for range degree {
		for j := range degree {
			r[j] = gfMul(r[j], root)
			if j+1 < degree {
				r[j] ^= r[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return r
}

func rsRemainder(data, div []byte) []byte {
	r := make([]byte, len(div))
	for _, b := range data {
		f := b ^ r[0]
		copy(r, r[1:])
		r[len(r)-1] = 0
		for i := range r {
			r[i] ^= gfMul(div[i], f)
		}
	}
	return r
}

// Render draws text's QR code with half-block characters, two module rows
// per line. With ansi it sets black on white itself, right on any terminal;
// without, light modules are drawn as ink, for the usual dark background
// (and for logs, where escape codes would be noise).
func Render(text string, ansi bool) (string, error) {
	c, err := Encode(text)
	if err != nil {
		return "", err
	}
	ink := func(x, y int) bool { // true: draw this module
		dark := x >= 0 && y >= 0 && x < c.Size && y < c.Size && c.Dark(x, y)
		return dark == ansi
	}
	var b strings.Builder
	for y := -quietZone; y < c.Size+quietZone; y += 2 {
		if ansi {
			b.WriteString("\x1b[30;47m")
		}
		for x := -quietZone; x < c.Size+quietZone; x++ {
			top, bottom := ink(x, y), y+1 < c.Size+quietZone && ink(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		if ansi {
			b.WriteString("\x1b[0m")
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
