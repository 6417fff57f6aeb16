package sfu

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestSplitICETCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web, ice := SplitICETCP(ln, 200*time.Millisecond)

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
