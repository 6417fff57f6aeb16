package pake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The interop tests run one side in Go and the other in Node with the
// browser module (static/js/pake), through jstest/interop.mjs. Messages
// cross as base64url lines on stdin and stdout; both sides use real
// randomness. Without node they fail rather than skip: CI installs node, and
// a skipped interop test would hide a broken browser module.

// nodeSide is a running jstest/interop.mjs.
type nodeSide struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *bytes.Buffer
	cancel context.CancelFunc
}

func startNode(t *testing.T, args ...string) *nodeSide {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found in PATH: this test needs Node 20+ to run the browser module")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, node, append([]string{"jstest/interop.mjs"}, args...)...)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	n := &nodeSide{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out), stderr: new(bytes.Buffer), cancel: cancel}
	cmd.Stderr = n.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(n.close)
	return n
}

func (n *nodeSide) close() {
	n.in.Close()
	n.cmd.Wait()
	n.cancel()
}

func (n *nodeSide) send(line string) {
	n.t.Helper()
	if _, err := fmt.Fprintln(n.in, line); err != nil {
		n.t.Fatalf("writing to node: %v\n%s", err, n.stderr)
	}
}

func (n *nodeSide) sendMsg(msg []byte) { n.send("msg " + base64.RawURLEncoding.EncodeToString(msg)) }

// recv returns the next line's kind ("msg", "secret", "error", "ok") and
// its value (decoded for "msg").
func (n *nodeSide) recv() (kind string, value []byte) {
	n.t.Helper()
	if !n.out.Scan() {
		n.t.Fatalf("node ended: %v\n%s", n.out.Err(), n.stderr)
	}
	kind, rest, _ := strings.Cut(n.out.Text(), " ")
	if kind == "msg" {
		b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
		if err != nil {
			n.t.Fatalf("bad base64url from node: %q", rest)
		}
		return kind, b
	}
	return kind, []byte(rest)
}

func (n *nodeSide) recvMsg() []byte {
	n.t.Helper()
	kind, v := n.recv()
	if kind != "msg" {
		n.t.Fatalf("node: %s %s, want a message\n%s", kind, v, n.stderr)
	}
	return v
}

func TestInteropGoJoinerNodeMember(t *testing.T) {
	for i, np := range []string{"482", "0007", "123456789012"} {
		secret := newSecret()
		n := startNode(t, "member", hex.EncodeToString(secret), np)
		pw, _ := CodePassword(secret, np)
		code, _ := FormatCode(np, pw)
		gotNP, gotPW, err := ParseCode(code)
		if err != nil {
			t.Fatal(err)
		}
		j, msg1, err := NewJoiner(gotNP, gotPW)
		if err != nil {
			t.Fatal(err)
		}
		n.sendMsg(msg1)
		msg3, err := j.Confirm(n.recvMsg())
		if err != nil {
			t.Fatalf("exchange %d: Confirm of the Node member's msg2: %v", i, err)
		}
		n.sendMsg(msg3)
		got, err := j.Open(n.recvMsg())
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("exchange %d: Open: %x, %v; want %x", i, got, err, secret)
		}
	}
}

func TestInteropNodeJoinerGoMember(t *testing.T) {
	for i, np := range []string{"482", "0007", "123456789012"} {
		secret := newSecret()
		pw, _ := CodePassword(secret, np)
		code, _ := FormatCode(np, pw)
		// The typed code, as a person might type it.
		typed := strings.ReplaceAll(code, "-", []string{" ", ".", "\u2013"}[i])
		n := startNode(t, "joiner", typed)
		m, err := NewMember(secret, np)
		if err != nil {
			t.Fatal(err)
		}
		msg2, err := m.Respond(n.recvMsg())
		if err != nil {
			t.Fatalf("exchange %d: Respond to the Node joiner's msg1: %v", i, err)
		}
		n.sendMsg(msg2)
		msg4, err := m.Finish(n.recvMsg())
		if err != nil {
			t.Fatalf("exchange %d: Finish with the Node joiner's msg3: %v", i, err)
		}
		n.sendMsg(msg4)
		kind, v := n.recv()
		if kind != "secret" || string(v) != hex.EncodeToString(secret) {
			t.Fatalf("exchange %d: node joiner ended with %s %s, want secret %x", i, kind, v, secret)
		}
	}
}

func TestInteropWrongCode(t *testing.T) {
	secret := newSecret()
	const np = "482"
	pw, _ := CodePassword(secret, np)
	wrong := otherPassword(pw, 3)

	t.Run("go joiner, node member", func(t *testing.T) {
		for _, how := range []string{"abort", "forged msg3"} {
			n := startNode(t, "member", hex.EncodeToString(secret), np)
			j, msg1, _ := NewJoiner(np, wrong)
			n.sendMsg(msg1)
			msg3, err := j.Confirm(n.recvMsg())
			if msg3 != nil || !errors.Is(err, ErrWrongCode) {
				t.Fatalf("Confirm with a wrong code: %x, %v", msg3, err)
			}
			want := "abandoned"
			if how == "abort" {
				n.send("abort") // the joiner sends nothing; the member gives up
			} else {
				n.sendMsg(append([]byte{typeProof}, make([]byte, TagSize)...)) // a relay's forgery
				want = "bad-confirm"
			}
			if kind, v := n.recv(); kind != "error" || string(v) != want {
				t.Errorf("%s: node member ended with %s %s, want error %s", how, kind, v, want)
			}
		}
	})

	t.Run("node joiner, go member", func(t *testing.T) {
		code, _ := FormatCode(np, wrong)
		n := startNode(t, "joiner", code)
		m, _ := NewMember(secret, np)
		msg2, err := m.Respond(n.recvMsg())
		if err != nil {
			t.Fatal(err)
		}
		n.sendMsg(msg2)
		if kind, v := n.recv(); kind != "error" || string(v) != "wrong-code" {
			t.Fatalf("node joiner: %s %s, want error wrong-code", kind, v)
		}
		if err := m.Abort(); !errors.Is(err, ErrAbandoned) {
			t.Errorf("Go member: %v, want ErrAbandoned", err)
		}
	})

	t.Run("node joiner, typo in the code", func(t *testing.T) {
		n := startNode(t, "joiner", "48-719-352")
		if kind, v := n.recv(); kind != "error" || string(v) != "bad-code" {
			t.Fatalf("node joiner: %s %s, want error bad-code", kind, v)
		}
	})
}
