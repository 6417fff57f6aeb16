package pake

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gtank/ristretto255"

	"sotto/internal/testutil"
	"sotto/internal/vectorfile"
	"sotto/pake/cpace"
)

// vectorsFile is written by cmd/pake-vectors.
const vectorsFile = "testdata/vectors.json"

// fixed is a reader of the given hex bytes, then EOF.
func fixed(t testing.TB, hexes ...string) *bytes.Reader {
	return bytes.NewReader(testutil.Unhex(t, strings.Join(hexes, "")))
}

func eqHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s: got %x, want %s", what, got, want)
	}
}

func TestDraftStringVectors(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.PAKE](t, vectorsFile)
	s := v.Strings
	if !strings.Contains(s.Source, "draft-irtf-cfrg-cpace-21") || len(s.PrependLen) != 4 {
		t.Fatalf("unexpected source or count: %q, %d", s.Source, len(s.PrependLen))
	}
	for _, c := range s.PrependLen {
		eqHex(t, "prepend_len", cpace.PrependLen(testutil.Unhex(t, c.Input)), c.Output)
	}
	var parts [][]byte
	for _, p := range s.LVCat.Inputs {
		parts = append(parts, testutil.Unhex(t, p))
	}
	eqHex(t, "lv_cat", cpace.LVCat(parts...), s.LVCat.Output)
	for _, c := range s.Larger {
		if cpace.LexicographicallyLarger(testutil.Unhex(t, c.A), testutil.Unhex(t, c.B)) != c.Larger {
			t.Errorf("lexiographically_larger(%s, %s) != %v", c.A, c.B, c.Larger)
		}
	}
	for _, c := range s.OCat {
		eqHex(t, "o_cat", cpace.OCat(testutil.Unhex(t, c.A), testutil.Unhex(t, c.B)), c.Output)
	}
	for _, c := range s.TranscriptIR {
		ya, ada, yb, adb := testutil.Unhex(t, c.Ya), testutil.Unhex(t, c.ADa), testutil.Unhex(t, c.Yb), testutil.Unhex(t, c.ADb)
		eqHex(t, "transcript_ir", cpace.TranscriptIR(ya, ada, yb, adb), c.Output)
	}
	for _, c := range s.TranscriptOC {
		ya, ada, yb, adb := testutil.Unhex(t, c.Ya), testutil.Unhex(t, c.ADa), testutil.Unhex(t, c.Yb), testutil.Unhex(t, c.ADb)
		eqHex(t, "transcript_oc", cpace.TranscriptOC(ya, ada, yb, adb), c.Output)
	}
}

// TestDraftRistretto255Vectors: the draft's Appendix B.3 run, byte for
// byte, from the generator string to ISK in both transcript settings.
func TestDraftRistretto255Vectors(t *testing.T) {
	r := testutil.ReadJSON[vectorfile.PAKE](t, vectorsFile).Ristretto
	if !strings.Contains(r.Source, "draft-irtf-cfrg-cpace-21, Appendix B.3") {
		t.Fatalf("source %q", r.Source)
	}
	prs, ci, sid := testutil.Unhex(t, r.PRS), testutil.Unhex(t, r.CI), testutil.Unhex(t, r.SID)
	ada, adb := testutil.Unhex(t, r.ADa), testutil.Unhex(t, r.ADb)
	eqHex(t, "DSI", []byte(cpace.DSI), r.DSI)
	gs := cpace.GeneratorString([]byte(cpace.DSI), prs, ci, sid, 128)
	eqHex(t, "generator_string", gs, r.GeneratorString)
	if want := 1 + len(cpace.DSI) + 1 + len(prs) + 1 + r.ZPadLen + 1 + len(ci) + 1 + len(sid); len(gs) != want {
		t.Errorf("generator string is %d bytes, want %d (zpad %d)", len(gs), want, r.ZPadLen)
	}
	eqHex(t, "generator hash", cpace.GeneratorHash(prs, ci, sid), r.GeneratorHash)
	g := cpace.CalculateGenerator(prs, ci, sid)
	eqHex(t, "g", g.Bytes(), r.G)
	ya, err := cpace.ScalarFromBytes(testutil.Unhex(t, r.YaScalar))
	if err != nil {
		t.Fatal(err)
	}
	yb, err := cpace.ScalarFromBytes(testutil.Unhex(t, r.YbScalar))
	if err != nil {
		t.Fatal(err)
	}
	yaPub, ybPub := cpace.ScalarMult(ya, g), cpace.ScalarMult(yb, g)
	eqHex(t, "Ya", yaPub, r.Ya)
	eqHex(t, "Yb", ybPub, r.Yb)
	eqHex(t, "K (A)", cpace.ScalarMultVfy(ya, ybPub), r.K)
	eqHex(t, "K (B)", cpace.ScalarMultVfy(yb, yaPub), r.K)
	k := testutil.Unhex(t, r.K)
	tir, toc := cpace.TranscriptIR(yaPub, ada, ybPub, adb), cpace.TranscriptOC(yaPub, ada, ybPub, adb)
	eqHex(t, "transcript_ir", tir, r.TranscriptIR)
	eqHex(t, "transcript_oc", toc, r.TranscriptOC)
	eqHex(t, "DSI_ISK", []byte(cpace.DSI+"_ISK"), r.ISKDSI)
	eqHex(t, "ISK input ir", cpace.ISKInput(sid, k, tir), r.ISKInputIR)
	eqHex(t, "ISK input oc", cpace.ISKInput(sid, k, toc), r.ISKInputOC)
	eqHex(t, "ISK_IR", cpace.ISK(sid, k, tir), r.ISKIR)
	eqHex(t, "ISK_SY", cpace.ISK(sid, k, toc), r.ISKOC)
	eqHex(t, "sid_output_ir", cpace.SidOutput(tir), r.SIDOutputIR)
	eqHex(t, "sid_output_oc", cpace.SidOutput(toc), r.SIDOutputOC)
}

func TestDraftScalarMultVectors(t *testing.T) {
	sm := testutil.ReadJSON[vectorfile.PAKE](t, vectorsFile).ScalarMult
	s, err := cpace.ScalarFromBytes(testutil.Unhex(t, sm.S))
	if err != nil {
		t.Fatal(err)
	}
	x, err := ristretto255.NewIdentityElement().SetCanonicalBytes(testutil.Unhex(t, sm.X))
	if err != nil {
		t.Fatal(err)
	}
	eqHex(t, "scalar_mult", cpace.ScalarMult(s, x), sm.ScalarMult)
	eqHex(t, "scalar_mult_vfy", cpace.ScalarMultVfy(s, testutil.Unhex(t, sm.X)), sm.ScalarMultVfy)
	if len(sm.Invalid) != 2 {
		t.Fatalf("%d invalid points", len(sm.Invalid))
	}
	for _, bad := range sm.Invalid {
		k := cpace.ScalarMultVfy(s, testutil.Unhex(t, bad))
		eqHex(t, "scalar_mult_vfy(invalid)", k, sm.Identity)
		if !cpace.IsIdentity(k) {
			t.Errorf("%s: not reported as the identity", bad)
		}
	}
}

func TestCodeVectors(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.PAKE](t, vectorsFile)
	for _, c := range v.Codes {
		pw, err := CodePassword(testutil.Unhex(t, c.Secret), c.Nameplate)
		if err != nil || pw != c.Password {
			t.Errorf("CodePassword(%s, %s) = %q, %v; want %s", c.Secret, c.Nameplate, pw, err, c.Password)
		}
		okm, _ := hkdf.Key(sha256.New, testutil.Unhex(t, c.Secret), []byte("sotto/v1"), string(testutil.Unhex(t, c.Info)), 8)
		eqHex(t, "hkdf output", okm, c.HKDF)
		code, err := FormatCode(c.Nameplate, c.Password)
		if err != nil || code != c.Code {
			t.Errorf("FormatCode: %q, %v; want %q", code, err, c.Code)
		}
	}
	for _, c := range v.CodeParses {
		np, pw, err := ParseCode(c.Input)
		if err != nil || np != c.Nameplate || pw != c.Password {
			t.Errorf("ParseCode(%q) = %q, %q, %v", c.Input, np, pw, err)
		}
	}
	for _, c := range v.CodeErrors {
		if _, _, err := ParseCode(c.Input); Code(err) != c.Error {
			t.Errorf("%s: ParseCode(%q): %v, want %s", c.Name, c.Input, err, c.Error)
		}
	}
}

func TestExchangeVectors(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.PAKE](t, vectorsFile)
	if len(v.Exchanges) != 3 {
		t.Fatalf("%d exchanges", len(v.Exchanges))
	}
	for _, e := range v.Exchanges {
		t.Run(e.Name, func(t *testing.T) {
			secret := testutil.Unhex(t, e.Secret)
			if pw, _ := CodePassword(secret, e.Nameplate); pw != e.Password {
				t.Fatalf("password %s, want %s", pw, e.Password)
			}
			eqHex(t, "ci", []byte(ciPrefix+e.Nameplate), e.CI)
			ya, _ := cpace.SampleScalar(fixed(t, e.YaRandom))
			eqHex(t, "ya", ya, e.YaScalar)
			yb, _ := cpace.SampleScalar(fixed(t, e.YbRandom))
			eqHex(t, "yb", yb, e.YbScalar)
			sid, yaPub, ybPub, k := testutil.Unhex(t, e.SID), testutil.Unhex(t, e.Ya), testutil.Unhex(t, e.Yb), testutil.Unhex(t, e.K)
			eqHex(t, "g", cpace.CalculateGenerator([]byte(e.Password), testutil.Unhex(t, e.CI), sid).Bytes(), e.G)
			keys, err := deriveSession(testutil.Unhex(t, e.Msg1), sid, yaPub, ybPub, k)
			if err != nil {
				t.Fatal(err)
			}
			eqHex(t, "kc_member", keys.confirmMember, e.KCMember)
			eqHex(t, "kc_joiner", keys.confirmJoiner, e.KCJoiner)
			eqHex(t, "seal key", keys.seal, e.SealKey)
			eqHex(t, "transcript hash", keys.th, e.TH)
			eqHex(t, "isk", cpace.ISK(sid, k, cpace.TranscriptIR(yaPub, nil, ybPub, nil)), e.ISK)

			j, msg1, err := NewJoinerWithRand(fixed(t, e.SID, e.YaRandom), e.Nameplate, e.Password)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMemberWithRand(fixed(t, e.YbRandom, e.Nonce), secret, e.Nameplate)
			if err != nil {
				t.Fatal(err)
			}
			eqHex(t, "msg1", msg1, e.Msg1)
			msg2, err := m.Respond(msg1)
			if err != nil {
				t.Fatal(err)
			}
			eqHex(t, "msg2", msg2, e.Msg2)
			eqHex(t, "tagM", msg2[33:], e.TagM)
			msg3, err := j.Confirm(msg2)
			if err != nil {
				t.Fatal(err)
			}
			eqHex(t, "msg3", msg3, e.Msg3)
			eqHex(t, "tagJ", msg3[1:], e.TagJ)
			msg4, err := m.Finish(msg3)
			if err != nil {
				t.Fatal(err)
			}
			eqHex(t, "msg4", msg4, e.Msg4)
			got, err := j.Open(msg4)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Open: %x, %v", got, err)
			}
		})
	}
}

func TestWrongCodeVector(t *testing.T) {
	w := testutil.ReadJSON[vectorfile.PAKE](t, vectorsFile).WrongCode
	if w.MemberPassword == w.JoinerPassword {
		t.Fatal("the wrong-code vector uses the right code")
	}
	j, msg1, err := NewJoinerWithRand(fixed(t, w.SID, w.YaRandom), w.Nameplate, w.JoinerPassword)
	if err != nil {
		t.Fatal(err)
	}
	eqHex(t, "msg1", msg1, w.Msg1)
	m, _ := NewMemberWithRand(fixed(t, w.YbRandom), testutil.Unhex(t, w.Secret), w.Nameplate)
	msg2, err := m.Respond(msg1)
	if err != nil {
		t.Fatal(err)
	}
	eqHex(t, "msg2", msg2, w.Msg2)
	if msg3, err := j.Confirm(msg2); msg3 != nil || Code(err) != w.JoinerError {
		t.Errorf("Confirm: %x, %v; want %s", msg3, err, w.JoinerError)
	}
	if msg4, err := m.Finish(testutil.Unhex(t, w.ForgedMsg3)); msg4 != nil || Code(err) != w.MemberError {
		t.Errorf("Finish: %x, %v; want %s", msg4, err, w.MemberError)
	}
	m2, _ := NewMemberWithRand(fixed(t, w.YbRandom), testutil.Unhex(t, w.Secret), w.Nameplate)
	if _, err := m2.Respond(msg1); err != nil {
		t.Fatal(err)
	}
	if err := m2.Abort(); Code(err) != w.AbortError {
		t.Errorf("Abort: %v, want %s", err, w.AbortError)
	}
}

func TestMessageErrorVectors(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.PAKE](t, vectorsFile)
	e := v.Exchanges[0]
	if len(v.MessageErrors) < 20 {
		t.Fatalf("only %d cases", len(v.MessageErrors))
	}
	for _, c := range v.MessageErrors {
		j, _, _ := NewJoinerWithRand(fixed(t, e.SID, e.YaRandom), e.Nameplate, e.Password)
		m, _ := NewMemberWithRand(fixed(t, e.YbRandom, e.Nonce), testutil.Unhex(t, e.Secret), e.Nameplate)
		in := testutil.Unhex(t, c.Input)
		var out []byte
		var err error
		switch c.Step {
		case "respond":
			out, err = m.Respond(in)
		case "confirm":
			out, err = j.Confirm(in)
		case "finish":
			if _, err := m.Respond(testutil.Unhex(t, e.Msg1)); err != nil {
				t.Fatal(err)
			}
			out, err = m.Finish(in)
		case "open":
			if _, err := j.Confirm(testutil.Unhex(t, e.Msg2)); err != nil {
				t.Fatal(err)
			}
			out, err = j.Open(in)
		default:
			t.Fatalf("unknown step %q", c.Step)
		}
		if out != nil || Code(err) != c.Error {
			t.Errorf("%s: %x, %v; want %s", c.Name, out, err, c.Error)
		}
	}
}
