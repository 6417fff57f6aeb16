package pake

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gtank/ristretto255"

	"sotto/pake/cpace"
)

// The shape of testdata/vectors.json (written by cmd/pake-vectors). It is
// declared again here, not imported, so the tests read the file as any
// other implementation would.
type testVectors struct {
	Strings struct {
		Source     string                           `json:"source"`
		PrependLen []struct{ Input, Output string } `json:"prepend_len"`
		LVCat      struct {
			Inputs []string `json:"inputs"`
			Output string   `json:"output"`
		} `json:"lv_cat"`
		Larger []struct {
			A, B   string
			Larger bool
		} `json:"lexiographically_larger"`
		OCat         []struct{ A, B, Output string }             `json:"o_cat"`
		TranscriptIR []struct{ Ya, ADa, Yb, ADb, Output string } `json:"transcript_ir"`
		TranscriptOC []struct{ Ya, ADa, Yb, ADb, Output string } `json:"transcript_oc"`
	} `json:"cpace_strings"`
	Ristretto struct {
		Source          string `json:"source"`
		DSI             string `json:"dsi"`
		PRS             string `json:"prs"`
		CI              string `json:"ci"`
		SID             string `json:"sid"`
		ZPadLen         int    `json:"zpad_len"`
		GeneratorString string `json:"generator_string"`
		GeneratorHash   string `json:"generator_hash"`
		G               string `json:"g"`
		YaScalar        string `json:"ya"`
		ADa             string `json:"ADa"`
		Ya              string `json:"Ya"`
		YbScalar        string `json:"yb"`
		ADb             string `json:"ADb"`
		Yb              string `json:"Yb"`
		K               string `json:"K"`
		TranscriptIR    string `json:"transcript_ir"`
		ISKDSI          string `json:"isk_dsi"`
		ISKInputIR      string `json:"isk_input_ir"`
		ISKIR           string `json:"isk_ir"`
		TranscriptOC    string `json:"transcript_oc"`
		ISKInputOC      string `json:"isk_input_oc"`
		ISKOC           string `json:"isk_oc"`
		SIDOutputIR     string `json:"sid_output_ir"`
		SIDOutputOC     string `json:"sid_output_oc"`
	} `json:"cpace_ristretto255"`
	ScalarMult struct {
		Source        string   `json:"source"`
		S             string   `json:"s"`
		X             string   `json:"X"`
		ScalarMult    string   `json:"scalar_mult"`
		ScalarMultVfy string   `json:"scalar_mult_vfy"`
		Invalid       []string `json:"invalid"`
		Identity      string   `json:"identity"`
	} `json:"cpace_scalar_mult"`
	Codes []struct {
		Secret    string `json:"secret"`
		Nameplate string `json:"nameplate"`
		Info      string `json:"hkdf_info"`
		HKDF      string `json:"hkdf_output"`
		Password  string `json:"password"`
		Code      string `json:"code"`
	} `json:"codes"`
	CodeParses []struct{ Input, Nameplate, Password string } `json:"code_parses"`
	CodeErrors []struct{ Name, Input, Error string }         `json:"code_errors"`
	Exchanges  []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		Nameplate string `json:"nameplate"`
		Password  string `json:"password"`
		Code      string `json:"code"`
		CI        string `json:"ci"`
		SID       string `json:"sid"`
		YaRandom  string `json:"ya_random"`
		YaScalar  string `json:"ya"`
		YbRandom  string `json:"yb_random"`
		YbScalar  string `json:"yb"`
		Nonce     string `json:"nonce"`
		G         string `json:"g"`
		Ya        string `json:"Ya"`
		Yb        string `json:"Yb"`
		K         string `json:"K"`
		ISK       string `json:"isk"`
		TH        string `json:"transcript_hash"`
		KCMember  string `json:"kc_member"`
		KCJoiner  string `json:"kc_joiner"`
		SealKey   string `json:"seal_key"`
		TagM      string `json:"tag_m"`
		TagJ      string `json:"tag_j"`
		Msg1      string `json:"msg1"`
		Msg2      string `json:"msg2"`
		Msg3      string `json:"msg3"`
		Msg4      string `json:"msg4"`
	} `json:"exchanges"`
	WrongCode struct {
		Secret         string `json:"secret"`
		Nameplate      string `json:"nameplate"`
		MemberPassword string `json:"member_password"`
		JoinerPassword string `json:"joiner_password"`
		SID            string `json:"sid"`
		YaRandom       string `json:"ya_random"`
		YbRandom       string `json:"yb_random"`
		Msg1           string `json:"msg1"`
		Msg2           string `json:"msg2"`
		JoinerError    string `json:"joiner_error"`
		ForgedMsg3     string `json:"forged_msg3"`
		MemberError    string `json:"member_error"`
		AbortError     string `json:"abort_error"`
	} `json:"wrong_code"`
	MessageErrors []struct{ Name, Step, Input, Error string } `json:"message_errors"`
}

func loadVectors(t testing.TB) *testVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	v := new(testVectors)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// fixed is a reader of the given hex bytes, then EOF.
func fixed(t testing.TB, hexes ...string) *bytes.Reader {
	return bytes.NewReader(unhex(t, strings.Join(hexes, "")))
}

func eqHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s: got %x, want %s", what, got, want)
	}
}

func TestDraftStringVectors(t *testing.T) {
	v := loadVectors(t)
	s := v.Strings
	if !strings.Contains(s.Source, "draft-irtf-cfrg-cpace-21") || len(s.PrependLen) != 4 {
		t.Fatalf("unexpected source or count: %q, %d", s.Source, len(s.PrependLen))
	}
	for _, c := range s.PrependLen {
		eqHex(t, "prepend_len", cpace.PrependLen(unhex(t, c.Input)), c.Output)
	}
	var parts [][]byte
	for _, p := range s.LVCat.Inputs {
		parts = append(parts, unhex(t, p))
	}
	eqHex(t, "lv_cat", cpace.LVCat(parts...), s.LVCat.Output)
	for _, c := range s.Larger {
		if cpace.LexicographicallyLarger(unhex(t, c.A), unhex(t, c.B)) != c.Larger {
			t.Errorf("lexiographically_larger(%s, %s) != %v", c.A, c.B, c.Larger)
		}
	}
	for _, c := range s.OCat {
		eqHex(t, "o_cat", cpace.OCat(unhex(t, c.A), unhex(t, c.B)), c.Output)
	}
	for _, c := range s.TranscriptIR {
		eqHex(t, "transcript_ir", cpace.TranscriptIR(unhex(t, c.Ya), unhex(t, c.ADa), unhex(t, c.Yb), unhex(t, c.ADb)), c.Output)
	}
	for _, c := range s.TranscriptOC {
		eqHex(t, "transcript_oc", cpace.TranscriptOC(unhex(t, c.Ya), unhex(t, c.ADa), unhex(t, c.Yb), unhex(t, c.ADb)), c.Output)
	}
}

// TestDraftRistretto255Vectors: the draft's Appendix B.3 run, byte for
// byte, from the generator string to ISK in both transcript settings.
func TestDraftRistretto255Vectors(t *testing.T) {
	r := loadVectors(t).Ristretto
	if !strings.Contains(r.Source, "draft-irtf-cfrg-cpace-21, Appendix B.3") {
		t.Fatalf("source %q", r.Source)
	}
	prs, ci, sid, ada, adb := unhex(t, r.PRS), unhex(t, r.CI), unhex(t, r.SID), unhex(t, r.ADa), unhex(t, r.ADb)
	eqHex(t, "DSI", []byte(cpace.DSI), r.DSI)
	gs := cpace.GeneratorString([]byte(cpace.DSI), prs, ci, sid, 128)
	eqHex(t, "generator_string", gs, r.GeneratorString)
	if want := 1 + len(cpace.DSI) + 1 + len(prs) + 1 + r.ZPadLen + 1 + len(ci) + 1 + len(sid); len(gs) != want {
		t.Errorf("generator string is %d bytes, want %d (zpad %d)", len(gs), want, r.ZPadLen)
	}
	eqHex(t, "generator hash", cpace.GeneratorHash(prs, ci, sid), r.GeneratorHash)
	g := cpace.CalculateGenerator(prs, ci, sid)
	eqHex(t, "g", g.Bytes(), r.G)
	ya, err := cpace.ScalarFromBytes(unhex(t, r.YaScalar))
	if err != nil {
		t.Fatal(err)
	}
	yb, err := cpace.ScalarFromBytes(unhex(t, r.YbScalar))
	if err != nil {
		t.Fatal(err)
	}
	yaPub, ybPub := cpace.ScalarMult(ya, g), cpace.ScalarMult(yb, g)
	eqHex(t, "Ya", yaPub, r.Ya)
	eqHex(t, "Yb", ybPub, r.Yb)
	eqHex(t, "K (A)", cpace.ScalarMultVfy(ya, ybPub), r.K)
	eqHex(t, "K (B)", cpace.ScalarMultVfy(yb, yaPub), r.K)
	k := unhex(t, r.K)
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
	sm := loadVectors(t).ScalarMult
	s, err := cpace.ScalarFromBytes(unhex(t, sm.S))
	if err != nil {
		t.Fatal(err)
	}
	x, err := ristretto255.NewIdentityElement().SetCanonicalBytes(unhex(t, sm.X))
	if err != nil {
		t.Fatal(err)
	}
	eqHex(t, "scalar_mult", cpace.ScalarMult(s, x), sm.ScalarMult)
	eqHex(t, "scalar_mult_vfy", cpace.ScalarMultVfy(s, unhex(t, sm.X)), sm.ScalarMultVfy)
	if len(sm.Invalid) != 2 {
		t.Fatalf("%d invalid points", len(sm.Invalid))
	}
	for _, bad := range sm.Invalid {
		k := cpace.ScalarMultVfy(s, unhex(t, bad))
		eqHex(t, "scalar_mult_vfy(invalid)", k, sm.Identity)
		if !cpace.IsIdentity(k) {
			t.Errorf("%s: not reported as the identity", bad)
		}
	}
}

func TestCodeVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Codes {
		pw, err := CodePassword(unhex(t, c.Secret), c.Nameplate)
		if err != nil || pw != c.Password {
			t.Errorf("CodePassword(%s, %s) = %q, %v; want %s", c.Secret, c.Nameplate, pw, err, c.Password)
		}
		okm, _ := hkdf.Key(sha256.New, unhex(t, c.Secret), []byte("sotto/v1"), string(unhex(t, c.Info)), 8)
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
	v := loadVectors(t)
	if len(v.Exchanges) != 3 {
		t.Fatalf("%d exchanges", len(v.Exchanges))
	}
	for _, e := range v.Exchanges {
		t.Run(e.Name, func(t *testing.T) {
			secret := unhex(t, e.Secret)
			if pw, _ := CodePassword(secret, e.Nameplate); pw != e.Password {
				t.Fatalf("password %s, want %s", pw, e.Password)
			}
			eqHex(t, "ci", []byte(ciPrefix+e.Nameplate), e.CI)
			ya, _ := cpace.SampleScalar(fixed(t, e.YaRandom))
			eqHex(t, "ya", ya, e.YaScalar)
			yb, _ := cpace.SampleScalar(fixed(t, e.YbRandom))
			eqHex(t, "yb", yb, e.YbScalar)
			eqHex(t, "g", cpace.CalculateGenerator([]byte(e.Password), unhex(t, e.CI), unhex(t, e.SID)).Bytes(), e.G)
			keys, err := deriveSession(unhex(t, e.Msg1), unhex(t, e.SID), unhex(t, e.Ya), unhex(t, e.Yb), unhex(t, e.K))
			if err != nil {
				t.Fatal(err)
			}
			eqHex(t, "kc_member", keys.confirmMember, e.KCMember)
			eqHex(t, "kc_joiner", keys.confirmJoiner, e.KCJoiner)
			eqHex(t, "seal key", keys.seal, e.SealKey)
			eqHex(t, "transcript hash", keys.th, e.TH)
			eqHex(t, "isk", cpace.ISK(unhex(t, e.SID), unhex(t, e.K), cpace.TranscriptIR(unhex(t, e.Ya), nil, unhex(t, e.Yb), nil)), e.ISK)

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
	w := loadVectors(t).WrongCode
	if w.MemberPassword == w.JoinerPassword {
		t.Fatal("the wrong-code vector uses the right code")
	}
	j, msg1, err := NewJoinerWithRand(fixed(t, w.SID, w.YaRandom), w.Nameplate, w.JoinerPassword)
	if err != nil {
		t.Fatal(err)
	}
	eqHex(t, "msg1", msg1, w.Msg1)
	m, _ := NewMemberWithRand(fixed(t, w.YbRandom), unhex(t, w.Secret), w.Nameplate)
	msg2, err := m.Respond(msg1)
	if err != nil {
		t.Fatal(err)
	}
	eqHex(t, "msg2", msg2, w.Msg2)
	if msg3, err := j.Confirm(msg2); msg3 != nil || Code(err) != w.JoinerError {
		t.Errorf("Confirm: %x, %v; want %s", msg3, err, w.JoinerError)
	}
	if msg4, err := m.Finish(unhex(t, w.ForgedMsg3)); msg4 != nil || Code(err) != w.MemberError {
		t.Errorf("Finish: %x, %v; want %s", msg4, err, w.MemberError)
	}
	m2, _ := NewMemberWithRand(fixed(t, w.YbRandom), unhex(t, w.Secret), w.Nameplate)
	if _, err := m2.Respond(msg1); err != nil {
		t.Fatal(err)
	}
	if err := m2.Abort(); Code(err) != w.AbortError {
		t.Errorf("Abort: %v, want %s", err, w.AbortError)
	}
}

func TestMessageErrorVectors(t *testing.T) {
	v := loadVectors(t)
	e := v.Exchanges[0]
	if len(v.MessageErrors) < 20 {
		t.Fatalf("only %d cases", len(v.MessageErrors))
	}
	for _, c := range v.MessageErrors {
		j, _, _ := NewJoinerWithRand(fixed(t, e.SID, e.YaRandom), e.Nameplate, e.Password)
		m, _ := NewMemberWithRand(fixed(t, e.YbRandom, e.Nonce), unhex(t, e.Secret), e.Nameplate)
		in := unhex(t, c.Input)
		var out []byte
		var err error
		switch c.Step {
		case "respond":
			out, err = m.Respond(in)
		case "confirm":
			out, err = j.Confirm(in)
		case "finish":
			if _, err := m.Respond(unhex(t, e.Msg1)); err != nil {
				t.Fatal(err)
			}
			out, err = m.Finish(in)
		case "open":
			if _, err := j.Confirm(unhex(t, e.Msg2)); err != nil {
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
