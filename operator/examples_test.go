package operator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sotto/room"
)

// repoRoot is where docs/ is, seen from this package's directory.
const repoRoot = ".."

// TestSignExamples runs the three signing examples of docs/tokens.md (bash
// with openssl, Go, Node) and checks that the Verifier accepts each token
// for its room, with the claims asked for and the lifetime asked for. Like
// the e2ee interop test it fails, rather than skips, when a tool is missing:
// a skipped test would let a broken example ship.
func TestSignExamples(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "node", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found in PATH: this test runs the signing examples with it", tool)
		}
	}
	roomText := "q6Uj3K0Hk1hT0k8c9Lr8Ew"
	id, ok := ParseRoomID(roomText)
	if !ok {
		t.Fatal("bad room id")
	}
	const ttl = 300
	for _, ex := range []struct {
		name string
		cmd  []string
		role room.Role
		user string
	}{
		{"shell", []string{"bash", "docs/examples/signtoken.sh"}, room.RoleTalk, "user_42"},
		{"go", []string{"go", "run", "./docs/examples/signtoken"}, room.RoleListen, "A-Z_a-z_0-9"},
		{"node", []string{"node", "docs/examples/signtoken.mjs"}, room.RoleTalk, strings.Repeat("n", MaxUserBytes)},
	} {
		t.Run(ex.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			run := func(args ...string) (string, error) {
				cmd := exec.CommandContext(ctx, ex.cmd[0], append(ex.cmd[1:], args...)...)
				cmd.Dir = repoRoot
				cmd.Env = append(os.Environ(), "SOTTO_SECRET="+string(testSecret))
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					return "", &exampleError{err, stderr.String()}
				}
				return string(out), nil
			}
			before := time.Now().Unix()
			out, err := run(roomText, ex.user, ex.role.String(), "300")
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now().Unix()
			tok := strings.TrimSuffix(out, "\n")
			if strings.ContainsAny(tok, "\n\r ") {
				t.Fatalf("printed %q, want one token line", out)
			}
			v := NewVerifier(testSecret)
			c, err := v.Check(tok, id)
			if err != nil {
				t.Fatalf("token %q: %v", tok, err)
			}
			if c.Room != id || c.User != ex.user || c.Role != ex.role {
				t.Fatalf("claims %+v", c)
			}
			if exp := c.Expiry.Unix(); exp < before+ttl || exp > after+ttl {
				t.Fatalf("expiry %d, want %d to %d", exp, before+ttl, after+ttl)
			}
			if len(c.Nonce) != 16 {
				t.Fatalf("nonce of %d bytes", len(c.Nonce))
			}
			// Each example signs the priority role too (issue 17).
			out, err = run(roomText, ex.user, "priority", "300")
			if err != nil {
				t.Fatal(err)
			}
			if pc, err := NewVerifier(testSecret).Check(strings.TrimSuffix(out, "\n"), id); err != nil || pc.Role != room.RolePriority {
				t.Fatalf("priority token %q: %+v, %v", out, pc, err)
			}
			// A different secret's verifier refuses it.
			if _, err := NewVerifier([]byte(strings.Repeat("o", MinSecretBytes))).Check(tok, id); err != ErrTokenSignature {
				t.Fatalf("other secret: %v", err)
			}
			// Bad arguments: a usage error (status 2), no token.
			for _, bad := range [][]string{
				{},
				{roomText, ex.user, "speak", "300"},
				{roomText[:21], ex.user, "talk", "300"},
				{roomText, "user.42", "talk", "300"},
				{roomText, ex.user, "talk", "x"},
			} {
				out, err := run(bad...)
				if err == nil || out != "" {
					t.Fatalf("args %q: printed %q, err %v", bad, out, err)
				}
			}
		})
	}
}

type exampleError struct {
	err    error
	stderr string
}

func (e *exampleError) Error() string { return e.err.Error() + ": " + e.stderr }

// TestDocExamplesMatchFiles: the code docs/tokens.md shows is the example
// files' exact text, so the two cannot drift apart.
func TestDocExamplesMatchFiles(t *testing.T) {
	for _, name := range []string{"docs/tokens.md", "README.md"} {
		t.Run(name, func(t *testing.T) { checkDocExamples(t, name) })
	}
}

func checkDocExamples(t *testing.T, name string) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)<!-- file: ([^ ]+) -->\n```[a-z]*\n(.*?)```\n").FindAllStringSubmatch(string(doc), -1)
	want := []string{"docs/examples/signtoken.sh", "docs/examples/signtoken/main.go", "docs/examples/signtoken.mjs"}
	if len(blocks) != len(want) {
		t.Fatalf("%s shows %d example files, want %d", name, len(blocks), len(want))
	}
	for i, b := range blocks {
		if b[1] != want[i] {
			t.Fatalf("block %d shows %s, want %s", i, b[1], want[i])
		}
		file, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(b[1])))
		if err != nil {
			t.Fatal(err)
		}
		if b[2] != string(file) {
			t.Errorf("%s's copy of %s differs from the file", name, b[1])
		}
	}
}

// TestDocTestVector: the test vector in docs/tokens.md is what Sign makes,
// and what the Verifier accepts.
func TestDocTestVector(t *testing.T) {
	secret := []byte("bm90LWEtcmVhbC1zZWNyZXQtanVzdC1hbi1leGFtcGxl")
	id, _ := ParseRoomID("q6Uj3K0Hk1hT0k8c9Lr8Ew")
	nonce := make([]byte, 16)
	for i := range nonce {
		nonce[i] = byte(i)
	}
	tok, err := Sign(secret, Claims{Room: id, User: "user_42", Role: room.RoleListen, Expiry: time.Unix(1800000000, 0), Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	const want = "v1.q6Uj3K0Hk1hT0k8c9Lr8Ew.user_42.listen.1800000000.AAECAwQFBgcICQoLDA0ODw.XL-h37CJShJ0NtdSVQaKuoJuDFt3Why2I0K-Le-XK9o"
	if tok != want {
		t.Fatalf("Sign = %q, want %q", tok, want)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "tokens.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "\n    "+want+"\n") || !strings.Contains(string(doc), string(secret)) {
		t.Fatal("docs/tokens.md does not show the test vector")
	}
	v := NewVerifier(secret)
	v.Now = func() time.Time { return time.Unix(1800000000-60, 0) }
	if _, err := v.Check(tok, id); err != nil {
		t.Fatal(err)
	}
}
