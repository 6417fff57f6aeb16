package sfu

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestSplitICETCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web, ice := SplitICETCP(ln, 200*time.Millisecond, nil)

	// A web server on one half.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "web")
	})}
	go srv.Serve(web)
	defer srv.Close()

	// An echo server on the other: ICE-TCP frames start with a 0x00 length byte.
	go func() {
		for {
			c, err := ice.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()

	res, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "web" {
		t.Fatalf("HTTP reached %q", body)
	}

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	frame := []byte{0x00, 0x04, 0x00, 0x01, 0x00, 0x00} // length 4, STUN-like start
	c.Write(frame)
	got := make([]byte, len(frame))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(frame) {
		t.Fatalf("ICE-TCP side echoed %x, %v; the first byte must be handed back", got, err)
	}
	c.Close()

	// A client that says nothing is closed after the peek timeout.
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(silent).ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("a silent connection was not closed: %v", err)
	}
	silent.Close()

	// Closing one half closes the port for both.
	ice.Close()
	if _, err := web.Accept(); err == nil {
		t.Fatal("web listener still accepting after close")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("the port still accepts connections")
	}
}

// failingListener's Accept fails with err the first n times, as accept(2)
// does while the process is out of descriptors, then accepts for real.
type failingListener struct {
	net.Listener
	mu  sync.Mutex
	n   int
	err error
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.n > 0 {
		l.n--
		l.mu.Unlock()
		return nil, l.err
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// Out of descriptors, accept fails with EMFILE until connections close. The
// demux must wait and try again (5 ms, 10 ms, ... as net/http does), not
// close the port that carries the app, /ws and ICE-TCP for good.
func TestSplitICETCPSurvivesEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Addr: ln.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	const failures = 6
	fl := &failingListener{Listener: ln, n: failures, err: emfile}
	var mu sync.Mutex
	var retried []error
	start := time.Now()
	web, ice := SplitICETCP(fl, time.Second, func(err error) {
		mu.Lock()
		retried = append(retried, err)
		mu.Unlock()
	})
	defer ice.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "web")
	})}
	go srv.Serve(web)
	defer srv.Close()

	hc := &http.Client{Timeout: 5 * time.Second}
	res, err := hc.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("after %d EMFILE errors the port no longer serves: %v", failures, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "web" {
		t.Fatalf("HTTP reached %q", body)
	}
	// 5+10+20+40+80+160 ms of pauses: it did not spin.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("served after %v: the demux retried without pausing", d)
	}
	mu.Lock()
	n := len(retried)
	mu.Unlock()
	if n != failures || !errors.Is(retried[0], syscall.EMFILE) {
		t.Fatalf("onRetry saw %d errors (%v), want %d EMFILE", n, retried, failures)
	}

	// Closed while it waits between tries, the demux stops trying.
	fl.mu.Lock()
	fl.n = 1 << 30
	fl.mu.Unlock()
	// Let the current Accept return: one more connection, then EMFILE on.
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	ice.Close()
	if _, err := web.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("web.Accept after Close: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a try under way when Close came
	fl.mu.Lock()
	left := fl.n
	fl.mu.Unlock()
	time.Sleep(1500 * time.Millisecond) // longer than the longest pause
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.n != left {
		t.Fatalf("the demux went on accepting after Close (%d more tries)", left-fl.n)
	}
}

// An Accept error that does not pass (the listener is broken) still closes
// both halves with that error.
func TestSplitICETCPClosesOnPermanentError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	broken := &net.OpError{Op: "accept", Net: "tcp", Addr: ln.Addr(), Err: os.NewSyscallError("accept4", syscall.EINVAL)}
	web, ice := SplitICETCP(&failingListener{Listener: ln, n: 1, err: broken}, time.Second, nil)
	done := make(chan error, 1)
	go func() { _, err := web.Accept(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("web.Accept: %v, want the listener's EINVAL", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a broken listener left the demux accepting")
	}
	if _, err := ice.Accept(); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("ice.Accept: %v", err)
	}
}
