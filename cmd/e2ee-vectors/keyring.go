package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"time"

	"sotto/e2ee"
	"sotto/internal/vectorfile"
)

// ringStep is one step of a key ring case as written here: what to do and
// the error code it must give. The codes are written by hand, not read from
// the code under test: generate fails if the e2ee package disagrees.
type ringStep struct {
	op     string
	sid    uint32
	public []byte
	blob   []byte
	frame  []byte
	nowMS  int64
	err    string
	isNew  bool // for a successful accept
	// held, when not nil, is what the ring must hold after the step
	// (sid -> epochs, oldest first); it is also checked by generate.
	held map[uint32][]uint16
}

// ringKit makes the blobs and frames of the key ring cases. The ring is
// Bob's; Alice and Carol are members, Mallory never is.
type ringKit struct {
	room  []byte
	nonce byte // each blob gets its own nonce
}

func (k *ringKit) blob(fromPriv []byte, from uint32, toPriv []byte, to uint32, epoch uint16, senderKey []byte) []byte {
	k.nonce++
	return keyBlob(fromPriv, publicOf(toPriv), k.room, from, to, epoch, seq(k.nonce, 12), senderKey)
}

// aliceKey is Alice's sender key for an epoch (and variant: another key
// for the same epoch).
func aliceKey(epoch uint16, variant byte) []byte {
	b := seq(byte(epoch)*7+variant*31, 32)
	b[0] = byte(epoch >> 8)
	return b
}

// frameOf is an 80-byte frame from Alice's epoch, under its key.
func frameOf(epoch uint16) []byte {
	snd, err := e2ee.NewEpochSender(aliceKey(epoch, 0), e2ee.EpochKID(sidAlice, epoch))
	if err != nil {
		panic(err)
	}
	f, _ := snd.Encrypt(nil, opusLike(80))
	return f
}

func keyRingCases(v *vectorfile.E2EE) error {
	kA, _ := e2ee.DeriveRoomKeys(secretA)
	kit := &ringKit{room: kA.RoomID[:]}
	fromAlice := func(epoch uint16, variant byte) []byte {
		return kit.blob(privAlice, sidAlice, privBob, sidBob, epoch, aliceKey(epoch, variant))
	}
	addAlice := ringStep{op: "add-member", sid: sidAlice, public: publicOf(privAlice)}
	addCarol := ringStep{op: "add-member", sid: sidCarol, public: publicOf(privCarol)}
	accept := func(blob []byte, nowMS int64, err string, isNew bool, held map[uint32][]uint16) ringStep {
		return ringStep{op: "accept", blob: blob, nowMS: nowMS, err: err, isNew: isNew, held: held}
	}
	decrypt := func(f []byte, err string) ringStep { return ringStep{op: "decrypt", frame: f, err: err} }
	expire := func(nowMS int64, held map[uint32][]uint16) ringStep {
		return ringStep{op: "expire", nowMS: nowMS, held: held}
	}
	alice := func(epochs ...uint16) map[uint32][]uint16 { return map[uint32][]uint16{sidAlice: epochs} }
	none := map[uint32][]uint16{}

	e0 := fromAlice(0, 0)
	e1 := fromAlice(1, 0)
	good := e0
	truncated := good[:70]
	v1 := bytes.Clone(good)
	v1[0] = 1
	edited := bytes.Clone(e1)
	edited[10] ^= 0x03 // epoch 1 -> 2 in the header only

	cases := []struct {
		name  string
		steps []ringStep
	}{
		{"first-key-resend-and-frames", []ringStep{
			addAlice,
			decrypt(frameOf(0), "unknown-kid"),
			accept(e0, 0, "", true, alice(0)),
			decrypt(frameOf(0), ""),
			accept(e0, 10, "", false, alice(0)), // a resend after a resume: no-op
		}},
		{"first-key-at-any-epoch", []ringStep{
			addAlice,
			accept(fromAlice(40000, 0), 0, "", true, alice(40000)),
		}},
		{"replayed-older-epoch", []ringStep{
			addAlice,
			accept(e0, 0, "", true, alice(0)),
			accept(e1, 100, "", true, alice(0, 1)),
			accept(e0, 200, "stale-epoch", false, alice(0, 1)),
		}},
		{"same-epoch-other-key", []ringStep{
			addAlice,
			accept(e1, 0, "", true, alice(1)),
			accept(fromAlice(1, 1), 100, "stale-epoch", false, alice(1)),
			accept(e1, 200, "", false, alice(1)),
		}},
		{"grace-then-erased", []ringStep{
			addAlice,
			accept(e0, 0, "", true, alice(0)),
			accept(e1, 1000, "", true, alice(0, 1)),
			decrypt(frameOf(0), ""),
			expire(3999, alice(0, 1)),
			decrypt(frameOf(0), "replay"), // still held: the same frame again is a replay
			expire(4000, alice(1)),
			decrypt(frameOf(0), "unknown-kid"),
			decrypt(frameOf(1), ""),
		}},
		{"at-most-three-epochs", []ringStep{
			addAlice,
			accept(fromAlice(0, 0), 0, "", true, alice(0)),
			accept(fromAlice(1, 0), 0, "", true, alice(0, 1)),
			accept(fromAlice(2, 0), 0, "", true, alice(0, 1, 2)),
			accept(fromAlice(3, 0), 0, "", true, alice(1, 2, 3)),
			decrypt(frameOf(0), "unknown-kid"),
			decrypt(frameOf(1), ""),
		}},
		{"epoch-wraps", []ringStep{
			addAlice,
			accept(fromAlice(0xffff, 0), 0, "", true, alice(0xffff)),
			accept(fromAlice(0, 0), 0, "", true, alice(0xffff, 0)),
			accept(fromAlice(0xffff, 0), 0, "stale-epoch", false, alice(0xffff, 0)),
		}},
		{"key-from-non-member", []ringStep{
			addAlice,
			accept(kit.blob(privMallory, sidMallory, privBob, sidBob, 0, seq(1, 32)), 0, "unknown-sender", false, none),
			// Carol's key before her hello.
			accept(kit.blob(privCarol, sidCarol, privBob, sidBob, 0, seq(2, 32)), 0, "unknown-sender", false, none),
		}},
		{"key-from-member-that-left", []ringStep{
			addAlice,
			accept(e0, 0, "", true, alice(0)),
			{op: "remove-member", sid: sidAlice, held: none},
			decrypt(frameOf(0), "unknown-kid"),
			accept(e1, 0, "unknown-sender", false, none),
		}},
		{"wrong-pair", []ringStep{
			addAlice,
			// Mallory claims Alice's sid: her pair is not Alice's.
			accept(kit.blob(privMallory, sidAlice, privBob, sidBob, 0, seq(3, 32)), 0, "key-unwrap", false, none),
		}},
		{"wrong-epoch-header-edited", []ringStep{
			addAlice,
			accept(edited, 0, "key-unwrap", false, none),
		}},
		{"not-for-us", []ringStep{
			addAlice, addCarol,
			accept(kit.blob(privAlice, sidAlice, privCarol, sidCarol, 0, aliceKey(0, 0)), 0, "key-not-for-us", false, none),
		}},
		{"malformed-blobs", []ringStep{
			addAlice,
			accept(truncated, 0, "key-blob-format", false, none),
			accept(v1, 0, "key-blob-version", false, none),
		}},
		{"hellos", []ringStep{
			addAlice,
			{op: "add-member", sid: sidAlice, public: publicOf(privAlice)}, // a resume: the same hello
			{op: "add-member", sid: sidAlice, public: publicOf(privCarol), err: "duplicate-sid"},
			{op: "add-member", sid: sidBob, public: publicOf(privCarol), err: "duplicate-sid"}, // our own sid
			{op: "add-member", sid: sidMallory, public: unhex(lowOrder[2]), err: "bad-public-key"},
			{op: "add-member", sid: sidMallory, public: unhex(lowOrder[0]), err: "bad-public-key"},
			accept(kit.blob(privMallory, sidMallory, privBob, sidBob, 0, seq(1, 32)), 0, "unknown-sender", false, none),
		}},
	}
	for _, c := range cases {
		rc, err := runRingCase(kit.room, c.name, c.steps)
		if err != nil {
			return err
		}
		v.KeyRingCases = append(v.KeyRingCases, rc)
	}
	return nil
}

// runRingCase runs steps on a fresh ring for Bob and records them.
func runRingCase(room []byte, name string, steps []ringStep) (vectorfile.KeyRingCase, error) {
	pair, _ := e2ee.KeyPairFromPrivate(privBob)
	rcv := e2ee.NewEpochReceiver()
	ring, err := e2ee.NewKeyRing(e2ee.KeyRingConfig{RoomID: room, Self: sidBob, Pair: pair, Sink: rcv})
	if err != nil {
		return vectorfile.KeyRingCase{}, err
	}
	rc := vectorfile.KeyRingCase{Name: name, RoomID: h(room), Self: dec(uint64(sidBob)), SelfPrivate: h(privBob)}
	sids := map[uint32]bool{}
	for i, s := range steps {
		st := vectorfile.KeyRingStep{Op: s.op}
		var err error
		switch s.op {
		case "add-member":
			st.SID, st.Public = dec(uint64(s.sid)), h(s.public)
			err = ring.AddMember(s.sid, s.public)
			sids[s.sid] = true
		case "remove-member":
			st.SID = dec(uint64(s.sid))
			ring.RemoveMember(s.sid)
		case "accept":
			st.Blob, st.NowMS = h(s.blob), strconv.FormatInt(s.nowMS, 10)
			var a e2ee.Accepted
			a, err = ring.AcceptBlob(s.blob, time.UnixMilli(s.nowMS))
			if err == nil {
				if a.New != s.isNew {
					return rc, fmt.Errorf("ring case %s step %d: New = %v, want %v", name, i, a.New, s.isNew)
				}
				st.New, st.From, st.Epoch = a.New, dec(uint64(a.From)), dec(uint64(a.Epoch))
			}
		case "expire":
			st.NowMS = strconv.FormatInt(s.nowMS, 10)
			ring.Expire(time.UnixMilli(s.nowMS))
		case "decrypt":
			st.Frame = h(s.frame)
			var pt []byte
			pt, err = rcv.Decrypt(nil, s.frame)
			if err == nil {
				st.Plaintext = h(pt)
			}
		default:
			return rc, fmt.Errorf("ring case %s: unknown op %q", name, s.op)
		}
		if got := e2ee.Code(err); got != s.err {
			return rc, fmt.Errorf("ring case %s step %d (%s): got error %q, want %q", name, i, s.op, got, s.err)
		}
		st.Error = s.err
		st.Held = map[string][]string{}
		got := map[uint32][]uint16{}
		for sid := range sids {
			if held := ring.Held(sid); len(held) > 0 {
				got[sid] = held
				for _, e := range held {
					st.Held[dec(uint64(sid))] = append(st.Held[dec(uint64(sid))], dec(uint64(e)))
				}
			}
		}
		if s.held != nil && !sameHeld(got, s.held) {
			return rc, fmt.Errorf("ring case %s step %d (%s): holds %v, want %v", name, i, s.op, got, s.held)
		}
		rc.Steps = append(rc.Steps, st)
	}
	return rc, nil
}

func sameHeld(a, b map[uint32][]uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
