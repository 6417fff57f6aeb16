package operator

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sotto/room"
)

// testSecret is a secret CheckSecret accepts (base64 of 32 bytes).
var testSecret = []byte("c290dG8gb3BlcmF0b3IgdGVzdCBzZWNyZXQgISEhISE=")

// t0 is the tests' "now".
var t0 = time.Unix(1_800_000_000, 0)

var (
	roomA = room.ID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	roomB = room.ID{16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
)

// clock is a settable time for Verifier.Now.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.t.Store(t.UnixNano()) }
func (c *clock) now() time.Time   { return time.Unix(0, c.t.Load()) }

func newTestVerifier(t time.Time) (*Verifier, *clock) {
	c := newClock(t)
	v := NewVerifier(testSecret)
	v.Now = c.now
	return v, c
}

func claims(id room.ID, exp time.Time) Claims {
	return Claims{Room: id, User: "user_42", Role: room.RoleTalk, Expiry: exp}
}

func mustSign(t testing.TB, c Claims) string {
	t.Helper()
	tok, err := Sign(testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// resign returns the token with its signed part's parts replaced by parts
// (all 6 of them) and a MAC that is right for the new text: a token only
// the syntax can refuse.
func resign(parts []string) string {
	body := strings.Join(parts, ".")
	mac := macOf(testSecret, body)
	return body + "." + b64.EncodeToString(mac[:])
}

// splitTok splits a well-formed token into its 7 parts.
func splitTok(t *testing.T, tok string) []string {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 7 {
		t.Fatalf("token has %d parts", len(p))
	}
	return p
}

func checkErr(t *testing.T, v *Verifier, tok string, id room.ID, want error) {
	t.Helper()
	_, err := v.Check(tok, id)
	// Identity, not errors.Is: Check returns the sentinels themselves, so
	// the text a client could be shown is always the fixed one.
	if err != want {
		t.Fatalf("Check = %v, want %v", err, want)
	}
}

func TestSignCheckRoundTrip(t *testing.T) {
	v, _ := newTestVerifier(t0)
	for _, c := range []Claims{
		{Room: roomA, User: "u", Role: room.RoleTalk, Expiry: t0.Add(time.Second)},
		{Room: roomB, User: strings.Repeat("Z", MaxUserBytes), Role: room.RoleListen, Expiry: t0.Add(MaxTokenLifetime), Nonce: bytes.Repeat([]byte{0xff}, MaxNonceBytes)},
		{Room: roomA, User: "A-z_0-9", Role: room.RoleListen, Expiry: t0.Add(5 * time.Minute).Add(999 * time.Millisecond), Nonce: make([]byte, MinNonceBytes)},
		{Room: roomB, User: "dispatch", Role: room.RolePriority, Expiry: t0.Add(time.Minute)}, // issue 17
	} {
		tok := mustSign(t, c)
		got, err := v.Check(tok, c.Room)
		if err != nil {
			t.Fatalf("Check(%q) = %v", tok, err)
		}
		want := c
		want.Expiry = time.Unix(c.Expiry.Unix(), 0) // second resolution
		if got.Room != want.Room || got.User != want.User || got.Role != want.Role || !got.Expiry.Equal(want.Expiry) {
			t.Fatalf("claims %+v, want %+v", got, want)
		}
		if want.Nonce != nil && !bytes.Equal(got.Nonce, want.Nonce) {
			t.Fatalf("nonce %x, want %x", got.Nonce, want.Nonce)
		}
		if len(got.Nonce) < MinNonceBytes {
			t.Fatalf("nonce of %d bytes", len(got.Nonce))
		}
		// The claims Check returns sign to the very same token.
		if again := mustSign(t, got); again != tok {
			t.Fatalf("re-signed %q, want %q", again, tok)
		}
	}
}

func TestSignRandomNonce(t *testing.T) {
	c := claims(roomA, t0.Add(time.Minute))
	seen := map[string]bool{}
	for range 100 {
		tok := mustSign(t, c)
		if seen[tok] {
			t.Fatal("two tokens alike: the nonce is not random")
		}
		seen[tok] = true
		p, ok := parseToken(tok)
		if !ok || len(p.nonce) != DefaultNonceBytes {
			t.Fatalf("token %q: nonce of %d bytes", tok, len(p.nonce))
		}
	}
}

func TestSignRefuses(t *testing.T) {
	ok := claims(roomA, t0.Add(time.Minute))
	for name, tc := range map[string]struct {
		secret []byte
		edit   func(*Claims)
	}{
		"short secret":  {testSecret[:MinSecretBytes-1], func(*Claims) {}},
		"empty user":    {testSecret, func(c *Claims) { c.User = "" }},
		"long user":     {testSecret, func(c *Claims) { c.User = strings.Repeat("a", MaxUserBytes+1) }},
		"dot in user":   {testSecret, func(c *Claims) { c.User = "a.b" }},
		"no role":       {testSecret, func(c *Claims) { c.Role = 0 }},
		"bad role":      {testSecret, func(c *Claims) { c.Role = 4 }},
		"zero expiry":   {testSecret, func(c *Claims) { c.Expiry = time.Time{} }},
		"epoch expiry":  {testSecret, func(c *Claims) { c.Expiry = time.Unix(0, 0) }},
		"short nonce":   {testSecret, func(c *Claims) { c.Nonce = make([]byte, MinNonceBytes-1) }},
		"long nonce":    {testSecret, func(c *Claims) { c.Nonce = make([]byte, MaxNonceBytes+1) }},
		"empty nonce":   {testSecret, func(c *Claims) { c.Nonce = []byte{} }},
		"negative time": {testSecret, func(c *Claims) { c.Expiry = time.Unix(-5, 0) }},
	} {
		c := ok
		tc.edit(&c)
		if tok, err := Sign(tc.secret, c); err == nil {
			t.Errorf("%s: Sign = %q, want an error", name, tok)
		}
	}
}

func TestCheckMissing(t *testing.T) {
	v, _ := newTestVerifier(t0)
	checkErr(t, v, "", roomA, ErrTokenMissing)
}

func TestCheckTooLong(t *testing.T) {
	v, _ := newTestVerifier(t0)
	// The longest well-formed token fits with room to spare...
	longest := Claims{Room: roomA, User: strings.Repeat("u", MaxUserBytes), Role: room.RoleListen,
		Expiry: time.Unix(9_000_000_000_000_000_000, 0), Nonce: make([]byte, MaxNonceBytes)}
	tok := mustSign(t, longest)
	if len(tok) != 205 || len(tok) > MaxTokenBytes {
		t.Fatalf("longest token is %d bytes", len(tok))
	}
	if _, ok := parseToken(tok); !ok {
		t.Fatal("longest token does not parse")
	}
	// ...and anything over MaxTokenBytes is refused unread, even if it would
	// otherwise parse (a long run of '.'-free padding in the user part).
	checkErr(t, v, tok+strings.Repeat("A", MaxTokenBytes-len(tok)+1), roomA, ErrTokenMalformed)
	checkErr(t, v, strings.Repeat("v1.", 1000), roomA, ErrTokenMalformed)
}

func TestCheckMalformed(t *testing.T) {
	good := mustSign(t, Claims{Room: roomA, User: "user_42", Role: room.RoleTalk, Expiry: t0.Add(time.Minute), Nonce: []byte("12345678abcdefgh")})
	parts := splitTok(t, good)
	with := func(i int, s string) []string {
		p := append([]string(nil), parts[:6]...)
		p[i] = s
		return p
	}
	nonCanonical := func(s string) string { // flip an unused trailing bit
		last := strings.IndexByte(b64Alphabet, s[len(s)-1])
		return s[:len(s)-1] + string(b64Alphabet[last^1])
	}
	// Each part broken in each way, and the token then signed correctly:
	// the syntax alone must refuse it.
	cases := map[string][]string{
		"version v2":            with(0, "v2"),
		"version V1":            with(0, "V1"),
		"version empty":         with(0, ""),
		"room short":            with(1, parts[1][:21]),
		"room long":             with(1, parts[1]+"A"),
		"room padded":           with(1, parts[1]+"=="),
		"room bad char":         with(1, "+"+parts[1][1:]),
		"room non-canonical":    with(1, nonCanonical(parts[1])),
		"room newline":          with(1, parts[1][:10]+"\n"+parts[1][10:21]),
		"room empty":            with(1, ""),
		"user empty":            with(2, ""),
		"user too long":         with(2, strings.Repeat("u", MaxUserBytes+1)),
		"user space":            with(2, "user 42"),
		"user plus":             with(2, "user+42"),
		"user slash":            with(2, "user/42"),
		"user unicode":          with(2, "usér"),
		"user percent":          with(2, "user%2E"),
		"role Talk":             with(3, "Talk"),
		"role speak":            with(3, "speak"),
		"role Priority":         with(3, "Priority"),
		"role empty":            with(3, ""),
		"exp empty":             with(4, ""),
		"exp zero":              with(4, "0"),
		"exp leading zero":      with(4, "0"+parts[4]),
		"exp plus":              with(4, "+"+parts[4]),
		"exp minus":             with(4, "-"+parts[4]),
		"exp letter":            with(4, parts[4]+"a"),
		"exp fraction":          with(4, parts[4]+",5"),
		"exp overflow":          with(4, "9223372036854775808"),
		"exp huge":              with(4, strings.Repeat("9", 40)),
		"exp hex":               with(4, "0x6B49D200"),
		"nonce 7 bytes":         with(5, b64.EncodeToString(make([]byte, 7))),
		"nonce 33 bytes":        with(5, b64.EncodeToString(make([]byte, 33))),
		"nonce empty":           with(5, ""),
		"nonce bad length":      with(5, parts[5][:21]),
		"nonce padded":          with(5, b64.EncodeToString(make([]byte, 16))+"=="),
		"nonce non-canonical":   with(5, nonCanonical(parts[5])),
		"nonce std alphabet":    with(5, "+/"+parts[5][2:]),
		"nonce carriage return": with(5, parts[5][:8]+"\r"+parts[5][8:]),
		"version missing":       parts[1:6],
	}
	v, _ := newTestVerifier(t0)
	for name, p := range cases {
		t.Run(name, func(t *testing.T) { checkErr(t, v, resign(p), roomA, ErrTokenMalformed) })
	}

	// The MAC part, and the token's shape as a whole.
	body := strings.Join(parts[:6], ".")
	for name, tok := range map[string]string{
		"mac short":         body + "." + parts[6][:42],
		"mac long":          body + "." + parts[6] + "A",
		"mac padded":        body + "." + parts[6] + "=",
		"mac empty":         body + ".",
		"mac missing":       body,
		"mac bad char":      body + "." + "*" + parts[6][1:],
		"mac non-canonical": body + "." + nonCanonical(parts[6]),
		"mac std alphabet":  body + "." + "/" + parts[6][1:],
		"eight parts":       good + ".x",
		"trailing dot":      good + ".",
		"leading dot":       "." + good,
		"double dot":        strings.Replace(good, ".", "..", 1),
		"trailing newline":  good + "\n",
		"leading space":     " " + good,
		"no dots":           strings.ReplaceAll(good, ".", ""),
		"one part":          "v1",
		"NUL":               good[:20] + "\x00" + good[21:],
	} {
		t.Run(name, func(t *testing.T) { checkErr(t, v, tok, roomA, ErrTokenMalformed) })
	}
	if v.UsedTokens() != 0 {
		t.Fatal("a refused token was recorded")
	}
	// The untouched token is fine.
	checkErr(t, v, good, roomA, nil)
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestCheckAltered(t *testing.T) {
	good := mustSign(t, claims(roomA, t0.Add(time.Minute)))
	parts := splitTok(t, good)
	alter := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, ".")
	}
	mac, _ := b64.DecodeString(parts[6])
	mac[0] ^= 0x80
	otherSecret := []byte(strings.Repeat("x", MinSecretBytes))
	forged, err := Sign(otherSecret, claims(roomA, t0.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	// Every alteration is still well formed, so only the MAC can tell.
	for name, tok := range map[string]string{
		"room":         alter(1, FormatRoomID(roomB)),
		"user":         alter(2, "user_43"),
		"role":         alter(3, "listen"),
		"exp later":    alter(4, fmt.Sprint(t0.Add(time.Minute).Unix()+1)),
		"exp earlier":  alter(4, fmt.Sprint(t0.Add(time.Minute).Unix()-1)),
		"nonce":        alter(5, b64.EncodeToString([]byte("another nonce"))),
		"mac":          alter(6, b64.EncodeToString(mac)),
		"other secret": forged,
	} {
		t.Run(name, func(t *testing.T) {
			v, _ := newTestVerifier(t0)
			// The altered room is checked against its own room: the
			// signature is refused before the room is looked at.
			want := roomA
			if name == "room" {
				want = roomB
			}
			checkErr(t, v, tok, want, ErrTokenSignature)
			checkErr(t, v, tok, roomA, ErrTokenSignature)
		})
	}
	// A forged token for another room and an expired time learns only
	// "signature": nothing of what would have failed next.
	v, _ := newTestVerifier(t0)
	checkErr(t, v, alter(4, "1"), roomB, ErrTokenSignature)
}

func TestCheckWrongRoom(t *testing.T) {
	v, _ := newTestVerifier(t0)
	tok := mustSign(t, claims(roomA, t0.Add(time.Minute)))
	checkErr(t, v, tok, roomB, ErrTokenWrongRoom)
	checkErr(t, v, tok, room.ID{}, ErrTokenWrongRoom)
	// Not used up: it still works for its own room.
	checkErr(t, v, tok, roomA, nil)
	// Once used, a wrong room still says wrong room (the MAC is right).
	checkErr(t, v, tok, roomB, ErrTokenWrongRoom)
}

func TestCheckExpiry(t *testing.T) {
	v, c := newTestVerifier(t0)
	past := mustSign(t, claims(roomA, t0.Add(-time.Second)))
	atNow := mustSign(t, claims(roomA, t0))
	justAfter := mustSign(t, claims(roomA, t0.Add(time.Second)))
	old := mustSign(t, claims(roomA, time.Unix(1, 0)))

	checkErr(t, v, past, roomA, ErrTokenExpired)
	checkErr(t, v, old, roomA, ErrTokenExpired)
	checkErr(t, v, atNow, roomA, ErrTokenExpired) // exp == now: expired
	// Within the last second before exp, still valid.
	c.set(t0.Add(999 * time.Millisecond))
	checkErr(t, v, justAfter, roomA, nil)
	// Expired tokens are not recorded.
	if n := v.UsedTokens(); n != 1 {
		t.Fatalf("%d used tokens, want 1", n)
	}
}

func TestCheckLifetime(t *testing.T) {
	v, c := newTestVerifier(t0)
	longest := mustSign(t, claims(roomA, t0.Add(MaxTokenLifetime)))
	tooLong := mustSign(t, claims(roomA, t0.Add(MaxTokenLifetime+time.Second)))
	far := mustSign(t, claims(roomA, time.Unix(1<<62, 0)))
	checkErr(t, v, tooLong, roomA, ErrTokenLifetime)
	checkErr(t, v, far, roomA, ErrTokenLifetime)
	checkErr(t, v, longest, roomA, nil)
	// Refused for lifetime, not used up: valid a second later.
	c.set(t0.Add(time.Second))
	checkErr(t, v, tooLong, roomA, nil)
}

func TestCheckReplayed(t *testing.T) {
	v, c := newTestVerifier(t0)
	tok := mustSign(t, claims(roomA, t0.Add(time.Minute)))
	checkErr(t, v, tok, roomA, nil)
	checkErr(t, v, tok, roomA, ErrTokenReplayed)
	c.set(t0.Add(59 * time.Second))
	checkErr(t, v, tok, roomA, ErrTokenReplayed)
	// Once it expires it is forgotten, and refused as expired instead.
	c.set(t0.Add(time.Minute))
	checkErr(t, v, tok, roomA, ErrTokenExpired)
	if n := v.UsedTokens(); n != 0 {
		t.Fatalf("%d used tokens after expiry, want 0", n)
	}
}

// TestReplayAfterPrune: dropping expired entries must not drop live ones.
func TestReplayAfterPrune(t *testing.T) {
	v, c := newTestVerifier(t0)
	keep := mustSign(t, claims(roomA, t0.Add(10*time.Minute)))
	checkErr(t, v, keep, roomA, nil)
	var short []string
	for i := range 500 {
		tok := mustSign(t, claims(roomA, t0.Add(time.Duration(1+i%60)*time.Second)))
		checkErr(t, v, tok, roomA, nil)
		short = append(short, tok)
	}
	if n := v.UsedTokens(); n != 501 {
		t.Fatalf("%d used tokens, want 501", n)
	}
	c.set(t0.Add(2 * time.Minute))
	// The next Check prunes all 500 short ones...
	fresh := mustSign(t, claims(roomA, t0.Add(5*time.Minute)))
	checkErr(t, v, fresh, roomA, nil)
	if n := v.UsedTokens(); n != 2 {
		t.Fatalf("%d used tokens after pruning, want 2", n)
	}
	// ...and the long-lived ones are still remembered.
	checkErr(t, v, keep, roomA, ErrTokenReplayed)
	checkErr(t, v, fresh, roomA, ErrTokenReplayed)
	for _, tok := range short[:5] {
		checkErr(t, v, tok, roomA, ErrTokenExpired)
	}
}

// TestClockBackwards: a clock stepped back must not revive a token whose
// entry was dropped as expired.
func TestClockBackwards(t *testing.T) {
	v, c := newTestVerifier(t0)
	tok := mustSign(t, claims(roomA, t0.Add(10*time.Second)))
	checkErr(t, v, tok, roomA, nil)
	c.set(t0.Add(20 * time.Second))
	checkErr(t, v, mustSign(t, claims(roomA, t0.Add(time.Minute))), roomA, nil) // prunes tok
	c.set(t0.Add(5 * time.Second))
	checkErr(t, v, tok, roomA, ErrTokenExpired)
}

func TestCacheFull(t *testing.T) {
	v, c := newTestVerifier(t0)
	v.maxUsed = 3
	var toks []string
	for i := range 3 {
		tok := mustSign(t, claims(roomA, t0.Add(time.Duration(10*(i+1))*time.Second)))
		checkErr(t, v, tok, roomA, nil)
		toks = append(toks, tok)
	}
	next := mustSign(t, claims(roomA, t0.Add(time.Minute)))
	checkErr(t, v, next, roomA, ErrBusy)
	// Busy is not used up, and a replay is still a replay.
	checkErr(t, v, toks[2], roomA, ErrTokenReplayed)
	// Once one entry expires there is room again.
	c.set(t0.Add(10 * time.Second))
	checkErr(t, v, next, roomA, nil)
	checkErr(t, v, mustSign(t, claims(roomA, t0.Add(time.Minute))), roomA, ErrBusy)
}

// TestCacheFullAtMaxUsedTokens: the real bound is in force.
func TestCacheFullAtMaxUsedTokens(t *testing.T) {
	v, c := newTestVerifier(t0)
	exp := t0.Add(time.Minute).Unix()
	for i := range MaxUsedTokens {
		var mac [sha256.Size]byte
		mac[0], mac[1], mac[2], mac[3] = byte(i), byte(i>>8), byte(i>>16), 0xee
		v.used.add(mac, exp)
	}
	checkErr(t, v, mustSign(t, claims(roomA, t0.Add(30*time.Second))), roomA, ErrBusy)
	c.set(t0.Add(time.Minute))
	checkErr(t, v, mustSign(t, claims(roomA, t0.Add(90*time.Second))), roomA, nil)
	if n := v.UsedTokens(); n != 1 {
		t.Fatalf("%d used tokens, want 1", n)
	}
}

func TestRelease(t *testing.T) {
	v, _ := newTestVerifier(t0)
	tok := mustSign(t, claims(roomA, t0.Add(time.Minute)))
	c, err := v.Check(tok, roomA)
	if err != nil {
		t.Fatal(err)
	}
	// The join it was checked for failed (say, no_such_room): give it back,
	// and the client's create can use it.
	v.Release(c)
	if n := v.UsedTokens(); n != 0 {
		t.Fatalf("%d used tokens after Release", n)
	}
	c2, err := v.Check(tok, roomA)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	checkErr(t, v, tok, roomA, ErrTokenReplayed)
	// Claims not from Check, and a second Release, do nothing.
	v.Release(Claims{})
	v.Release(claims(roomA, t0.Add(time.Minute)))
	if n := v.UsedTokens(); n != 1 {
		t.Fatalf("%d used tokens, want 1", n)
	}
	v.Release(c2)
	v.Release(c2)
	if n := v.UsedTokens(); n != 0 {
		t.Fatalf("%d used tokens, want 0", n)
	}
}

// TestUsedSet drives the replay cache's heap with random operations against
// a plain map.
func TestUsedSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := usedSet{index: map[[sha256.Size]byte]int{}}
	ref := map[[sha256.Size]byte]int64{}
	now := int64(0)
	for step := range 20000 {
		switch op := r.IntN(10); {
		case op < 5:
			var mac [sha256.Size]byte
			mac[0], mac[1] = byte(r.IntN(64)), byte(r.IntN(64))
			if !s.has(mac) {
				exp := now + 1 + int64(r.IntN(100))
				s.add(mac, exp)
				ref[mac] = exp
			}
		case op < 8:
			for mac := range ref { // a random present entry
				s.remove(mac)
				delete(ref, mac)
				break
			}
		default:
			now += int64(r.IntN(5))
			s.prune(now)
			for mac, exp := range ref {
				if exp <= now {
					delete(ref, mac)
				}
			}
		}
		if s.len() != len(ref) || len(s.index) != len(ref) {
			t.Fatalf("step %d: %d entries (%d indexed), want %d", step, s.len(), len(s.index), len(ref))
		}
		for i, e := range s.heap {
			if s.index[e.mac] != i || ref[e.mac] != e.exp {
				t.Fatalf("step %d: entry %d inconsistent", step, i)
			}
			if i > 0 && s.heap[(i-1)/2].exp > e.exp {
				t.Fatalf("step %d: heap order broken at %d", step, i)
			}
		}
	}
}

// TestCheckConcurrent: many goroutines presenting the same tokens at once;
// each token admits exactly one of them. Run with -race.
func TestCheckConcurrent(t *testing.T) {
	v, _ := newTestVerifier(t0)
	const tokens, workers = 200, 8
	var toks []string
	for i := range tokens {
		toks = append(toks, mustSign(t, claims(roomA, t0.Add(time.Duration(1+i)*time.Second))))
	}
	var wins [tokens]atomic.Int32
	var other atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range toks {
				j := (i + w*tokens/workers) % tokens
				_, err := v.Check(toks[j], roomA)
				switch {
				case err == nil:
					wins[j].Add(1)
				case !errors.Is(err, ErrTokenReplayed):
					other.Add(1)
				}
				if i%50 == 0 {
					_ = v.UsedTokens()
				}
			}
		}()
	}
	wg.Wait()
	for i := range wins {
		if n := wins[i].Load(); n != 1 {
			t.Fatalf("token %d admitted %d times", i, n)
		}
	}
	if n := other.Load(); n != 0 {
		t.Fatalf("%d unexpected errors", n)
	}
}

func TestErrorsCarryNothing(t *testing.T) {
	tok := mustSign(t, claims(roomA, t0.Add(time.Minute)))
	for _, err := range []error{ErrTokenMissing, ErrTokenMalformed, ErrTokenSignature, ErrTokenWrongRoom,
		ErrTokenExpired, ErrTokenLifetime, ErrTokenReplayed, ErrBusy} {
		for _, part := range splitTok(t, tok)[1:] {
			if strings.Contains(err.Error(), part) {
				t.Errorf("%q contains token text", err)
			}
		}
	}
}

func TestRoomIDText(t *testing.T) {
	s := FormatRoomID(roomA)
	if len(s) != 22 {
		t.Fatalf("room id %q", s)
	}
	if id, ok := ParseRoomID(s); !ok || id != roomA {
		t.Fatalf("ParseRoomID(%q) = %x, %v", s, id, ok)
	}
	for _, bad := range []string{"", s[:21], s + "A", s + "==", "+" + s[1:], s[:21] + "B", s[:10] + "\n" + s[10:21]} {
		if _, ok := ParseRoomID(bad); ok {
			t.Errorf("ParseRoomID(%q) accepted", bad)
		}
	}
}

func TestNewVerifierPanicsOnWeakSecret(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		if strings.Contains(fmt.Sprint(r), "short") {
			t.Fatal("panic message contains the secret")
		}
	}()
	NewVerifier([]byte("short"))
}
