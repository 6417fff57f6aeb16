package signal

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/procstat"
	"sotto/room"
)

// The memory benchmark measures the server alone, so the server runs in a
// child process: this test binary, re-executed with serverEnv set, which
// TestMain turns into a bare signaling server driven through stdin.
const serverEnv = "SOTTO_SIGNAL_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		benchServer()
		return
	}
	os.Exit(m.Run())
}

// childStats is what the child reports about itself.
type childStats struct {
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Conns      int64  `json:"conns"`
}

// benchServer serves /ws on a loopback port, prints the address, then obeys
// commands on stdin: "stats" prints childStats as JSON, "gc" collects and
// returns freed memory to the OS first. It exits when stdin closes.
func benchServer() {
	reg := room.NewRegistry(room.Config{})
	s := NewServer(Config{Registry: reg, MaxConnsPerIP: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	go http.Serve(ln, mux)
	fmt.Println(ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "gc" {
			runtime.GC()
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b, _ := json.Marshal(childStats{runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse, s.m.open.Value()})
		fmt.Println(string(b))
	}
	os.Exit(0)
}

// idleConns is how many connections BenchmarkIdleConnMemory holds open.
const idleConns = 5000

// BenchmarkIdleConnMemory reports the server's resident memory per idle
// WebSocket connection, each joined to a room (idleConns connections in
// rooms of 5), from the child server's VmRSS before and after.
// Run it with -benchtime=1x: one iteration takes several seconds.
func BenchmarkIdleConnMemory(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < idleConns+200 {
		b.Skipf("open-file limit %d is below %d (Go raises the soft limit to the hard one)", lim.Cur, idleConns+200)
	}
	var perConn, perConnGC, stackPerConn, heapPerConn float64
	for b.Loop() {
		perConn, perConnGC, stackPerConn, heapPerConn = measureIdleConns(b)
	}
	b.ReportMetric(perConn, "KB/conn")
	b.ReportMetric(perConnGC, "KB/conn-after-GC")
	b.ReportMetric(stackPerConn, "stack-KB/conn")
	b.ReportMetric(heapPerConn, "heap-KB/conn")
}

func measureIdleConns(b *testing.B) (perConn, perConnGC, stackPerConn, heapPerConn float64) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	stdout := bufio.NewScanner(stdoutPipe)
	if !stdout.Scan() {
		b.Fatal("the server child printed no address")
	}
	url := "ws://" + stdout.Text() + "/ws"
	stats := func(cmd string) childStats {
		b.Helper()
		io.WriteString(stdin, cmd+"\n")
		if !stdout.Scan() {
			b.Fatal("the server child died")
		}
		var st childStats
		if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
			b.Fatal(err)
		}
		return st
	}
	rss := func() float64 { // KB
		b.Helper()
		kb, err := procstat.RSSKB(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		return float64(kb)
	}

	// Warm up: the first connections bring in code pages, pools and the
	// HTTP server's own state, which are not per-connection costs.
	warm := openIdle(b, url, 100)
	closeAll(warm)
	waitConns(b, stats, 0)
	stats("gc")
	time.Sleep(500 * time.Millisecond)
	before := rss()
	st0 := stats("stats")

	conns := openIdle(b, url, idleConns)
	defer closeAll(conns)
	waitConns(b, stats, idleConns)
	time.Sleep(2 * time.Second) // let the connections go idle as they would
	after := rss()
	st1 := stats("stats")
	stats("gc")
	time.Sleep(500 * time.Millisecond)
	afterGC := rss()
	b.Logf("VmRSS %.0f KB before, %.0f KB with %d idle connections, %.0f KB after a GC; goroutines %d -> %d; stacks %d -> %d KB; heap %d -> %d KB",
		before, after, idleConns, afterGC, st0.Goroutines, st1.Goroutines, st0.StackInuse>>10, st1.StackInuse>>10, st0.HeapInuse>>10, st1.HeapInuse>>10)
	n := float64(idleConns)
	return (after - before) / n, (afterGC - before) / n,
		float64(st1.StackInuse-st0.StackInuse) / 1024 / n, float64(st1.HeapInuse-st0.HeapInuse) / 1024 / n
}

// waitConns waits until the child has exactly n connections open.
func waitConns(b *testing.B, stats func(string) childStats, n int64) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for stats("stats").Conns != n {
		if time.Now().After(deadline) {
			b.Fatalf("the server never reached %d open connections", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openIdle opens n connections in rooms of five and waits until each is in
// its room. Each then only answers pings, as an idle phone does.
func openIdle(b *testing.B, url string, n int) []*websocket.Conn {
	const roomSize = 5
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range work { // one room: the creator, then the joiners
				s := newSecrets()
				for i := first; i < min(first+roomSize, n); i++ {
					ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Sec-Websocket-Protocol": {Subprotocol}})
					if err != nil {
						errs <- err
						return
					}
					msg := `{"type":"join","room":"` + s.room + `","auth":"` + s.auth + `"}`
					if i == first {
						msg = `{"type":"create","room":"` + s.room + `","verifier":"` + s.verifier + `"}`
					}
					ws.WriteMessage(websocket.TextMessage, []byte(msg))
					ws.SetReadDeadline(time.Now().Add(10 * time.Second))
					if _, reply, err := ws.ReadMessage(); err != nil || !strings.Contains(string(reply), `"joined"`) {
						errs <- fmt.Errorf("join: %s %v", reply, err)
						return
					}
					ws.SetReadDeadline(time.Time{})
					conns[i] = ws
					go func() { // answers pings; ends when the connection does
						for {
							if _, _, err := ws.ReadMessage(); err != nil {
								return
							}
						}
					}()
				}
			}
		}()
	}
	for first := 0; first < n; first += roomSize {
		work <- first
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		closeAll(conns)
		b.Fatal(err)
	}
	return conns
}

func closeAll(conns []*websocket.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
