package haproxy

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/internal/b64url"
	"sotto/room"
)

// fakeRuntime is a runtime API that answers "clear table T key K" with an
// empty answer when T is "nodes" and "No such table" otherwise, as HAProxy
// 2.6 does, and records every line it got.
type fakeRuntime struct {
	l     net.Listener
	mu    sync.Mutex
	lines []string
	hold  chan struct{} // when not nil, each connection waits for it before answering
}

func startFake(t *testing.T) *fakeRuntime {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "rt.sock"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRuntime{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return f
}

func (f *fakeRuntime) serve(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	f.mu.Lock()
	f.lines = append(f.lines, strings.TrimSuffix(line, "\n"))
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	var out strings.Builder
	for _, cmd := range strings.Split(strings.TrimSuffix(line, "\n"), ";") {
		if strings.HasPrefix(cmd, "clear table nodes key ") {
			out.WriteString("\n")
		} else {
			out.WriteString("No such table\n\n")
		}
	}
	c.Write([]byte(out.String()))
}

func (f *fakeRuntime) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

func id(b byte) room.ID {
	var r room.ID
	for i := range r {
		r[i] = b
	}
	return r
}

// results collects n done callbacks' results.
type results struct {
	mu  sync.Mutex
	got map[room.ID]string
	wg  sync.WaitGroup
}

func newResults(n int) *results {
	r := &results{got: map[room.ID]string{}}
	r.wg.Add(n)
	return r
}

func (r *results) done(id room.ID) func(string) {
	return func(result string) {
		r.mu.Lock()
		r.got[id] = result
		r.mu.Unlock()
		r.wg.Done()
	}
}

func (r *results) wait(t *testing.T) map[room.ID]string {
	t.Helper()
	ch := make(chan struct{})
	go func() { r.wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("forgets never ended")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

func TestForgetSendsClearTable(t *testing.T) {
	rt := startFake(t)
	f, err := NewForgetter("unix://"+rt.l.Addr().String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res := newResults(1)
	f.Forget(id(1), res.done(id(1)))
	if got := res.wait(t)[id(1)]; got != ResultOK {
		t.Fatalf("result %q, want ok", got)
	}
	one := id(1)
	want := "clear table nodes key " + b64url.Encoding.EncodeToString(one[:])
	if lines := rt.got(); len(lines) != 1 || lines[0] != want {
		t.Fatalf("sent %q, want %q", lines, want)
	}
	if got := f.results.With(ResultOK).Value(); got != 1 {
		t.Errorf("counted %d ok, want 1", got)
	}
}

// Forgets that queue up while one is in flight go out together, one line
// of commands, each with its own result; a table HAProxy does not have
// fails.
func TestForgetBatchesAndReportsEach(t *testing.T) {
	rt := startFake(t)
	rt.hold = make(chan struct{})
	f, err := NewForgetter(rt.l.Addr().String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res := newResults(11)
	f.Forget(id(0), res.done(id(0)))
	for len(rt.got()) == 0 { // the first is in flight
		time.Sleep(time.Millisecond)
	}
	for b := byte(1); b <= 10; b++ {
		f.Forget(id(b), res.done(id(b)))
	}
	close(rt.hold)
	got := res.wait(t)
	for b := byte(0); b <= 10; b++ {
		if got[id(b)] != ResultOK {
			t.Errorf("forget %d: %q", b, got[id(b)])
		}
	}
	if lines := rt.got(); len(lines) != 2 || strings.Count(lines[1], ";") != 9 {
		t.Errorf("sent %d lines (%q), want the first alone and then the other 10 in one", len(lines), lines)
	}

	other, err := NewForgetter(rt.l.Addr().String(), "elsewhere", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	res = newResults(1)
	other.Forget(id(1), res.done(id(1)))
	if got := res.wait(t)[id(1)]; got != ResultFailed {
		t.Errorf("a table HAProxy lacks: %q, want failed", got)
	}
}

// Nobody listening: failed, not hung; a full queue: dropped at once.
func TestForgetFailsAndDrops(t *testing.T) {
	dir := t.TempDir()
	f, err := NewForgetter(filepath.Join(dir, "none.sock"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := newResults(1)
	f.Forget(id(1), res.done(id(1)))
	if got := res.wait(t)[id(1)]; got != ResultFailed {
		t.Errorf("nobody listening: %q, want failed", got)
	}
	f.Close()

	rt := startFake(t)
	rt.hold = make(chan struct{})
	defer close(rt.hold)
	g, err := NewForgetter(rt.l.Addr().String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.Forget(id(0), nil)
	for len(rt.got()) == 0 {
		time.Sleep(time.Millisecond)
	}
	for range QueueLen {
		g.Forget(id(1), nil)
	}
	dropped := ""
	g.Forget(id(2), func(r string) { dropped = r })
	if dropped != ResultDropped {
		t.Errorf("a forget past a full queue: %q, want dropped at once", dropped)
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://10.0.0.1:9999":          "tcp 10.0.0.1:9999",
		"tcp://haproxy-runtime:9999":   "tcp haproxy-runtime:9999",
		"unix:///run/haproxy/api.sock": "unix /run/haproxy/api.sock",
		"/run/haproxy/api.sock":        "unix /run/haproxy/api.sock",
	} {
		n, a, err := ParseAddr(in)
		if err != nil || n+" "+a != want {
			t.Errorf("%q: %s %s %v, want %s", in, n, a, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.1:9999", "tcp://nohost", "unix://relative", "http://x:1"} {
		if _, _, err := ParseAddr(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := NewForgetter("/x.sock", "a;b", nil); err == nil {
		t.Error("a table name with ; accepted")
	}
}
