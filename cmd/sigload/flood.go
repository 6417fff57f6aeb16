package main

// The flooder: a client that writes ping messages as fast as its socket
// takes them, is throttled and then closed by the server (1008), and
// reconnects at once to flood again, until its window ends.

import (
	"bytes"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Environment of the flooder child process (-flood-mode proc).
const (
	floodChildEnv = "SIGLOAD_FLOOD_URL"
	floodUntilEnv = "SIGLOAD_FLOOD_UNTIL" // Unix nanoseconds
	floodersEnv   = "SIGLOAD_FLOODERS"
	floodFromEnv  = "SIGLOAD_FLOOD_FROM"
)

type floodStats struct {
	Conns      int         `json:"conns"`
	Written    int         `json:"written"`
	Pongs      int         `json:"pongs"`
	Limited    int         `json:"limited"`
	Closes     map[int]int `json:"closes"` // close code (-1: none, the connection just ended) to count
	DialErrors int         `json:"dial_errors"`
	Refused429 int         `json:"refused_429"`
	// CPU is the flooder process's CPU time (-flood-mode proc only).
	CPU time.Duration `json:"cpu"`
}

func (f *floodStats) add(g floodStats) {
	f.Conns += g.Conns
	f.Written += g.Written
	f.Pongs += g.Pongs
	f.Limited += g.Limited
	f.DialErrors += g.DialErrors
	f.Refused429 += g.Refused429
	f.CPU += g.CPU
	if f.Closes == nil {
		f.Closes = map[int]int{}
	}
	for k, v := range g.Closes {
		f.Closes[k] += v
	}
}

// flood runs the flood window's flooders until the window ends, in this
// process or in a child, and returns what they did.
func flood(url string, o options, until time.Time) floodStats {
	if o.floodMode == "inproc" {
		return floodAll(url, o.floodFrom, o.flooders, until)
	}
	args := []string{os.Args[0]}
	if o.floodNice != 0 {
		args = append([]string{"nice", "-n", strconv.Itoa(o.floodNice)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), floodChildEnv+"="+url,
		floodUntilEnv+"="+strconv.FormatInt(until.UnixNano(), 10), floodersEnv+"="+strconv.Itoa(o.flooders), floodFromEnv+"="+o.floodFrom)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("flooder process: %v", err)
	}
	var st floodStats
	if err := json.Unmarshal(bytes.TrimSpace(out), &st); err != nil {
		log.Fatalf("flooder process output %q: %v", out, err)
	}
	st.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return st
}

// floodChild is the flooder process: it floods until the time in its
// environment, then prints its floodStats as JSON.
func floodChild(url string) {
	until, err := strconv.ParseInt(os.Getenv(floodUntilEnv), 10, 64)
	if err != nil {
		log.Fatal(err)
	}
	n, err := strconv.Atoi(os.Getenv(floodersEnv))
	if err != nil {
		log.Fatal(err)
	}
	st := floodAll(url, os.Getenv(floodFromEnv), n, time.Unix(0, until))
	b, _ := json.Marshal(st)
	os.Stdout.Write(append(b, '\n'))
}

func floodAll(url, from string, n int, until time.Time) floodStats {
	var mu sync.Mutex
	var total floodStats
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := floodOne(url, from, until)
			mu.Lock()
			total.add(st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// floodDialer connects from floodFrom, its own loopback address, as an
// attacker elsewhere would: what the server does to the flooder's address
// (the per-address connection cap, any penalty) then does not touch the held
// clients on 127.0.0.1.
func floodDialer(from string) *websocket.Dialer {
	d := dialer
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	d.NetDialContext = nd.DialContext
	return &d
}

// floodOne is one flooder, connection after connection, until the window
// ends.
func floodOne(url, from string, until time.Time) floodStats {
	st := floodStats{Closes: map[int]int{}}
	msg := []byte(`{"type":"ping"}`)
	d := floodDialer(from)
	for time.Now().Before(until) {
		ws, resp, err := d.Dial(url, nil)
		if err != nil {
			st.DialErrors++
			if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
				st.Refused429++
			}
			time.Sleep(time.Millisecond)
			continue
		}
		st.Conns++
		ws.SetWriteDeadline(until)
		var rs floodStats // the reader's counts
		rs.Closes = map[int]int{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				_, b, err := ws.ReadMessage()
				if err != nil {
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						rs.Closes[ce.Code]++
					} else {
						rs.Closes[-1]++
					}
					return
				}
				switch {
				case bytes.Contains(b, []byte(`"rate_limited"`)):
					rs.Limited++
				case bytes.Contains(b, []byte(`"pong"`)):
					rs.Pongs++
				}
			}
		}()
	write:
		for i := 0; ; i++ {
			select {
			case <-done:
				break write
			default:
			}
			if i%64 == 0 && !time.Now().Before(until) {
				break
			}
			if ws.WriteMessage(websocket.TextMessage, msg) != nil {
				break
			}
			st.Written++
		}
		ws.Close()
		<-done
		st.Pongs += rs.Pongs
		st.Limited += rs.Limited
		for k, v := range rs.Closes {
			st.Closes[k] += v
		}
	}
	return st
}
