package signal

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sotto/internal/b64url"
)

// encodeClient is a reference client encoder: it writes m the way
// docs/protocol.md says a client should.
func encodeClient(m inMsg) []byte {
	obj := map[string]any{"type": m.Type}
	if m.has.has(fID) {
		obj["id"] = m.ID
	}
	if m.has.has(fRoom) {
		obj["room"] = b64.EncodeToString(m.Room[:])
	}
	if m.has.has(fVerifier) {
		obj["verifier"] = b64.EncodeToString(m.Verifier[:])
	}
	if m.has.has(fAuth) {
		obj["auth"] = b64.EncodeToString(m.Auth[:])
	}
	if m.has.has(fRole) {
		obj["role"] = m.Role.String()
	}
	if m.has.has(fTo) {
		obj["to"] = m.To.String()
	}
	if m.has.has(fData) {
		obj["data"] = m.Data
	}
	if m.has.has(fSDP) {
		obj["sdp"] = m.SDP
	}
	if m.has.has(fCandidate) {
		obj["candidate"] = m.Candidate
	}
	if m.has.has(fToken) {
		obj["token"] = m.Token
	}
	if m.has.has(fNameplate) {
		obj["nameplate"] = m.Nameplate
	}
	if m.has.has(fKnock) {
		obj["knock"] = m.Knock
	}
	if m.has.has(fResume) {
		obj["resume"] = b64.EncodeToString(m.Resume[:])
	}
	if m.has.has(fItems) {
		items := make([]map[string]any, len(m.Items))
		for i, it := range m.Items {
			items[i] = map[string]any{"to": it.To.String(), "data": it.Data}
		}
		obj["items"] = items
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// FuzzDecode checks that decoding never panics, that every error has a known
// code, and that every accepted message is within the protocol's limits and
// re-encodes to itself. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var m inMsg
		perr := decodeMessage(data, &m)
		if perr != nil {
			if !slices.Contains(errorCodes, perr.code) || perr.msg == "" {
				t.Fatalf("error %q %q", perr.code, perr.msg)
			}
			return
		}
		spec, ok := specs[m.Type]
		if !ok {
			t.Fatalf("accepted unknown type %q", m.Type)
		}
		if m.has&spec.required != spec.required || m.has&^(spec.allowed|fields(fType, fID)) != 0 {
			t.Fatalf("accepted %q with fields %b", m.Type, m.has)
		}
		if len(m.Data) > MaxBlobChars || len(m.SDP) > MaxSDPBytes || len(m.Candidate) > MaxCandidateBytes ||
			len(m.Token) > MaxTokenBytes || (m.Type != typeBlob && len(m.Data) > MaxKnockDataChars) {
			t.Fatalf("accepted an oversized field")
		}
		if m.has.has(fCandidate) && (!json.Valid(m.Candidate) || m.Candidate[0] != '{') {
			t.Fatalf("accepted candidate %q", m.Candidate)
		}
		if m.has.has(fItems) != (len(m.Items) > 0) || len(m.Items) > MaxBlobsItems {
			t.Fatalf("accepted %d items", len(m.Items))
		}
		for i, it := range m.Items {
			if it.Data == "" || len(it.Data) > MaxBlobChars || !b64url.Valid(it.Data) {
				t.Fatalf("accepted item %d data %q", i, it.Data)
			}
			for _, prev := range m.Items[:i] {
				if prev.To == it.To {
					t.Fatalf("accepted two items to %s", it.To)
				}
			}
		}
		var again inMsg
		if perr := decodeMessage(encodeClient(m), &again); perr != nil {
			t.Fatalf("re-encoded %q fails: %v", encodeClient(m), perr)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, again)
		}
	})
}

// TestFuzzSeeds keeps the seed corpus honest: the bad_ seeds are refused and
// the others accepted, so fuzzing starts from both sides of the line.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutPrefix(strings.TrimSpace(string(raw)), "go test fuzz v1\n[]byte(")
		if !ok || !strings.HasSuffix(body, ")") {
			t.Fatalf("%s: not a []byte seed", e.Name())
		}
		data, err := strconv.Unquote(strings.TrimSuffix(body, ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		var m inMsg
		perr := decodeMessage([]byte(data), &m)
		if bad := strings.HasPrefix(e.Name(), "bad_"); bad != (perr != nil) {
			t.Errorf("%s: error %v", e.Name(), perr)
		}
		types[m.Type] = true
	}
	for _, typ := range clientTypes {
		if !types[typ] {
			t.Errorf("no seed of type %q", typ)
		}
	}
}
