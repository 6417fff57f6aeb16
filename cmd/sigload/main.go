// Command sigload loads Sotto's signaling with thousands of WebSocket
// clients and measures round trips, with and without a flooding client.
//
// It builds the real server (go build of the module's main package, or
// -bin) and runs it in a child process on loopback, so the server's memory
// (VmRSS) and CPU time (/proc/<pid>/stat) are its own. From this process it
// then
//
//  1. opens -clients WebSocket connections in rooms of -room-size (the first
//     member creates, the others join), -ramp-par at a time, and times every
//     create/join to its joined reply ("ramp");
//  2. holds them all, reads the server's VmRSS, and has every client send a
//     ping message every -ping-every (random phase) while -churn members a
//     second leave their room and join it again (each join timed);
//  3. runs -rounds pairs of windows of -window each: a quiet window, then a
//     flood window in which -flooders clients flood: each writes ping
//     messages as fast as it can; the server throttles it (rate_limited),
//     then closes it (1008), and it reconnects at once and floods again.
//     The flooders run in a child process by default (-flood-mode), as an
//     attacker would run on its own machine, though here it shares the
//     machine's CPUs with everything else.
//
// Round trips are classified by the window they were sent in; the first
// -guard of each window is left out so that a flood's start and end do not
// blur the two. The ratio is the flood windows' p99 over the quiet ones'.
//
// The last line is always
//
//	sigload: clients <n> join p99 <ms> ping p99 <ms> flood p99 <ms> ratio <x>
//
// where join is the p99 of the joins made while every client was held
// (churn, quiet windows), ping the quiet windows' p99 and flood the flood
// windows' p99.
//
// It is not part of `make test`: a run takes about a minute and wants the
// machine to itself.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/procstat"
)

const subprotocol = "sotto.v1"

// requestTimeout bounds one request's wait for its reply; a request that
// times out counts as this long.
const requestTimeout = 10 * time.Second

type options struct {
	bin        string
	clients    int
	roomSize   int
	rampPar    int
	pingEvery  time.Duration
	churn      float64
	window     time.Duration
	rounds     int
	guard      time.Duration
	settle     time.Duration
	flooders   int
	floodMode  string
	floodNice  int
	floodFrom  string
	maxPerIP   int
	serverArgs string
	verbose    bool
}

func main() {
	if url := os.Getenv(floodChildEnv); url != "" {
		floodChild(url)
		return
	}
	log.SetFlags(0)
	log.SetPrefix("sigload: ")
	var o options
	flag.StringVar(&o.bin, "bin", "", "server binary to run; empty: go build the module's main package into a temporary directory")
	flag.IntVar(&o.clients, "clients", 5000, "signaling clients to open and hold")
	flag.IntVar(&o.roomSize, "room-size", 5, "members per room")
	flag.IntVar(&o.rampPar, "ramp-par", 32, "rooms being filled at once during the ramp")
	flag.DurationVar(&o.pingEvery, "ping-every", 5*time.Second, "each client's ping interval while measuring")
	flag.Float64Var(&o.churn, "churn", 20, "leave+join cycles per second while measuring (0: none)")
	flag.DurationVar(&o.window, "window", 5*time.Second, "length of each quiet and each flood window")
	flag.IntVar(&o.rounds, "rounds", 3, "quiet+flood window pairs")
	flag.DurationVar(&o.guard, "guard", 500*time.Millisecond, "start of each window left out of its figures")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "pinging before the first window, left out")
	flag.IntVar(&o.flooders, "flooders", 1, "clients flooding at once in a flood window")
	flag.StringVar(&o.floodMode, "flood-mode", "proc", "proc: flooders in a child process; inproc: in this one")
	flag.IntVar(&o.floodNice, "flood-nice", 0, "with -flood-mode proc, run the flooder under nice -n this")
	flag.StringVar(&o.floodFrom, "flood-from", "127.0.0.2", "loopback address the flooders connect from (the held clients use 127.0.0.1)")
	flag.IntVar(&o.maxPerIP, "max-conns-per-ip", 0, "the server's --max-conns-per-ip; 0: clients + 1000")
	flag.StringVar(&o.serverArgs, "server-args", "", "more server flags, space-separated")
	flag.BoolVar(&o.verbose, "v", false, "say when each window starts")
	flag.Parse()
	if o.clients < o.roomSize || o.roomSize < 2 {
		log.Fatal("-clients must be at least -room-size, which must be at least 2")
	}
	if o.maxPerIP == 0 {
		o.maxPerIP = o.clients + 1000
	}
	raiseFileLimit(o.clients + 500)
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// raiseFileLimit raises the soft open-file limit to the hard one (Go does
// this itself at start since 1.19; this checks it is enough).
func raiseFileLimit(need int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Cur < uint64(need) {
		log.Fatalf("open-file limit %d is below the %d needed: raise it (ulimit -n)", lim.Cur, need)
	}
}

// server is the sotto binary running in a child process.
type server struct {
	cmd     *exec.Cmd
	ws      string // ws://127.0.0.1:port/ws
	metrics string // http://127.0.0.1:port/metrics
}

func buildServer() (string, func(), error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	dir, err := os.MkdirTemp("", "sigload-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "sotto")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building the server: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

func startServer(bin string, o options) (*server, error) {
	args := []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn",
		"--max-conns-per-ip", strconv.Itoa(o.maxPerIP)}
	args = append(args, strings.Fields(o.serverArgs)...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	// The server dies with this process, however it ends (log.Fatal, ^C).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	appRE := regexp.MustCompile(`Open http://([0-9.:]+)/`)
	metricsRE := regexp.MustCompile(`Metrics at (http://[0-9.:]+/metrics)`)
	lines := bufio.NewScanner(stdout)
	for (s.ws == "" || s.metrics == "") && lines.Scan() {
		if m := appRE.FindStringSubmatch(lines.Text()); m != nil {
			s.ws = "ws://" + m[1] + "/ws"
		}
		if m := metricsRE.FindStringSubmatch(lines.Text()); m != nil {
			s.metrics = m[1]
		}
	}
	if s.ws == "" || s.metrics == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("the server did not print its addresses")
	}
	go io.Copy(io.Discard, stdout)
	return s, nil
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// rssKB is the server's resident set size.
func (s *server) rssKB() float64 {
	kb, err := procstat.RSSKB(s.cmd.Process.Pid)
	if err != nil {
		log.Fatal(err)
	}
	return float64(kb)
}

// cpu is the server's user+system CPU time so far.
func (s *server) cpu() time.Duration { return procCPU(strconv.Itoa(s.cmd.Process.Pid)) }

// procCPU is a process's user+system CPU time so far ("self" for this one).
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3; utime and stime are fields 14 and 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// machineBusy is the CPU time all CPUs have spent not idle, and the wall
// time all CPUs have had, from /proc/stat.
func machineBusy() (busy, all time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)[1:] // user nice system idle iowait irq softirq steal ...
	var sum, idle int64
	for i, v := range f {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already counted in user
			break
		}
		sum += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return time.Duration(sum-idle) * time.Second / 100, time.Duration(sum) * time.Second / 100
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// metric reads one unlabelled value from /metrics.
func (s *server) metric(name string) (int64, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := hc.Get(s.metrics)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

func (s *server) waitMetric(name string, want int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		v, err := s.metric(name)
		if err == nil && v == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is %d (%v), want %d", name, v, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// roomKeys is what a client derives from a room secret; here just random.
type roomKeys struct{ room, auth, verifier string }

var b64 = base64.RawURLEncoding

func newRoomKeys() roomKeys {
	var id [16]byte
	var auth [32]byte
	rand.Read(id[:])
	rand.Read(auth[:])
	v := sha256.Sum256(auth[:])
	return roomKeys{b64.EncodeToString(id[:]), b64.EncodeToString(auth[:]), b64.EncodeToString(v[:])}
}

// member is one held client.
type member struct {
	ws    *websocket.Conn
	room  *roomState
	wmu   sync.Mutex // one writer at a time
	next  uint32     // request ids; owned by the member's actor
	wait  atomic.Uint32
	reply chan reply
	dead  atomic.Bool
	churn chan struct{}
}

type roomState struct {
	keys roomKeys
	busy atomic.Bool // a member is churning
}

type reply struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Code string `json:"code"`
}

var dialer = websocket.Dialer{
	Subprotocols:     []string{subprotocol},
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferSize:  1024,
}

func dial(url string) (*member, error) {
	ws, _, err := dialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	m := &member{ws: ws, reply: make(chan reply, 1), churn: make(chan struct{}, 1)}
	go m.read()
	return m, nil
}

// read hands the reply to the request waiting for it; events are dropped.
func (m *member) read() {
	for {
		_, b, err := m.ws.ReadMessage()
		if err != nil {
			m.dead.Store(true)
			return
		}
		var r reply
		if json.Unmarshal(b, &r) != nil || r.ID == 0 {
			continue
		}
		if m.wait.CompareAndSwap(r.ID, 0) {
			m.reply <- r
		}
	}
}

// request sends a message with a fresh id and waits for its reply.
func (m *member) request(typ, fields string) (reply, time.Duration, error) {
	m.next++
	id := m.next
	m.wait.Store(id)
	msg := `{"type":"` + typ + `","id":` + strconv.FormatUint(uint64(id), 10) + fields + `}`
	start := time.Now()
	m.wmu.Lock()
	m.ws.SetWriteDeadline(start.Add(requestTimeout))
	err := m.ws.WriteMessage(websocket.TextMessage, []byte(msg))
	m.wmu.Unlock()
	if err != nil {
		m.wait.Store(0)
		return reply{}, 0, err
	}
	t := time.NewTimer(requestTimeout)
	defer t.Stop()
	select {
	case r := <-m.reply:
		d := time.Since(start)
		if r.Type == "error" {
			return r, d, fmt.Errorf("%s: error %s", typ, r.Code)
		}
		return r, d, nil
	case <-t.C:
		if !m.wait.CompareAndSwap(id, 0) {
			<-m.reply // it arrived just now
		}
		return reply{}, requestTimeout, fmt.Errorf("%s: no reply in %v", typ, requestTimeout)
	}
}

func (m *member) enter(create bool) (time.Duration, error) {
	k := m.room.keys
	var err error
	var d time.Duration
	var r reply
	if create {
		r, d, err = m.request("create", `,"room":"`+k.room+`","verifier":"`+k.verifier+`"`)
	} else {
		r, d, err = m.request("join", `,"room":"`+k.room+`","auth":"`+k.auth+`"`)
	}
	if err == nil && r.Type != "joined" {
		err = fmt.Errorf("got %s, want joined", r.Type)
	}
	return d, err
}

// sample is one timed request.
type sample struct {
	at  time.Time
	rtt time.Duration
}

// collector gathers samples from every member.
type collector struct {
	mu    sync.Mutex
	pings []sample
	joins []sample
	fails atomic.Int64
}

func (c *collector) add(list *[]sample, s sample) {
	c.mu.Lock()
	*list = append(*list, s)
	c.mu.Unlock()
}

// window is one measured window.
type window struct {
	start, end time.Time
	flood      bool
}

type stats struct {
	n                       int
	p50, p95, p99, p999, mx time.Duration
}

func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	slices.Sort(d)
	q := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1 // nearest rank
		return d[max(0, min(i, len(d)-1))]
	}
	return stats{len(d), q(0.50), q(0.95), q(0.99), q(0.999), d[len(d)-1]}
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func (s stats) String() string {
	return fmt.Sprintf("n %d  p50 %s  p95 %s  p99 %s  p99.9 %s  max %s ms", s.n, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.p999), ms(s.mx))
}

// pick returns the round trips of samples sent inside windows of the given
// kind, guard excluded.
func pick(samples []sample, windows []window, flood bool, guard time.Duration) []time.Duration {
	var out []time.Duration
	for _, s := range samples {
		for _, w := range windows {
			if w.flood == flood && !s.at.Before(w.start.Add(guard)) && s.at.Before(w.end) {
				out = append(out, s.rtt)
				break
			}
		}
	}
	return out
}

func run(o options) error {
	bin := o.bin
	if bin == "" {
		var cleanup func()
		var err error
		if bin, cleanup, err = buildServer(); err != nil {
			return err
		}
		defer cleanup()
	}
	srv, err := startServer(bin, o)
	if err != nil {
		return err
	}
	defer srv.stop()
	log.Printf("server pid %d on %s; %d clients in rooms of %d; machine: %d CPUs, load average %s", srv.cmd.Process.Pid, srv.ws, o.clients, o.roomSize, numCPU(), loadavg())

	// Warm up, as BenchmarkIdleConnMemory does: the first connections bring
	// in code pages, pools and the HTTP server's state, not per-connection
	// costs.
	warm, _, err := ramp(srv.ws, 200, o.roomSize, o.rampPar)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	closeAll(warm)
	if err := srv.waitMetric("sotto_connections_open", 0, 30*time.Second); err != nil {
		return err
	}
	time.Sleep(time.Second)
	rssBefore := srv.rssKB()

	// 1. Ramp.
	rampStart := time.Now()
	members, rampJoins, err := ramp(srv.ws, o.clients, o.roomSize, o.rampPar)
	if err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	defer closeAll(members)
	rampTime := time.Since(rampStart)
	if err := srv.waitMetric("sotto_connections_open", int64(o.clients), 30*time.Second); err != nil {
		return err
	}
	rooms, _ := srv.metric("sotto_rooms")
	inRooms, _ := srv.metric("sotto_members")
	rs := summarize(rampJoins)
	log.Printf("ramp: %d clients in %d rooms (%d members) in %v, %.0f joins/s, %d at a time", o.clients, rooms, inRooms,
		rampTime.Round(time.Millisecond), float64(o.clients)/rampTime.Seconds(), o.rampPar)
	log.Printf("ramp join round trip (create/join to joined): %v", rs)
	time.Sleep(2 * time.Second) // let the connections go idle, as they would
	rssHeld := srv.rssKB()
	log.Printf("server VmRSS %.1f MB before, %.1f MB holding %d clients: %.1f KB per connection",
		rssBefore/1024, rssHeld/1024, o.clients, (rssHeld-rssBefore)/float64(o.clients))

	// 2 and 3. Pings and churn from every member; quiet and flood windows.
	var col collector
	t0 := time.Now().Add(o.settle)
	var windows []window
	for i := range 2 * o.rounds {
		start := t0.Add(time.Duration(i) * o.window)
		windows = append(windows, window{start: start, end: start.Add(o.window), flood: i%2 == 1})
	}
	end := windows[len(windows)-1].end
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.act(ctx, o.pingEvery, &col)
		}()
	}
	if o.churn > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			churner(ctx, members, o.churn)
		}()
	}

	// CPU time by window kind: the server's, this process's, the flooder
	// child's, and the whole machine's (the rest is other work on it).
	type cpuUse struct{ server, self, flooder, busy, all time.Duration }
	cpuAt := map[bool]*cpuUse{false: {}, true: {}}
	var fstats []floodStats
	time.Sleep(time.Until(t0))
	for i, w := range windows {
		if o.verbose {
			log.Printf("window %d (%s) starts", i+1, map[bool]string{false: "quiet", true: "flood"}[w.flood])
		}
		c0, s0 := srv.cpu(), procCPU("self")
		b0, a0 := machineBusy()
		var f floodStats
		if w.flood {
			f = flood(srv.ws, o, w.end)
			fstats = append(fstats, f)
		}
		time.Sleep(time.Until(w.end))
		b1, a1 := machineBusy()
		u := cpuAt[w.flood]
		u.server += srv.cpu() - c0
		u.self += procCPU("self") - s0
		u.flooder += f.CPU
		u.busy += b1 - b0
		u.all += a1 - a0
	}
	cancel()
	wg.Wait()

	dead := 0
	for _, m := range members {
		if m.dead.Load() {
			dead++
		}
	}
	open, _ := srv.metric("sotto_connections_open")
	quiet := summarize(pick(col.pings, windows, false, o.guard))
	flooded := summarize(pick(col.pings, windows, true, o.guard))
	qJoins := summarize(pick(col.joins, windows, false, o.guard))
	fJoins := summarize(pick(col.joins, windows, true, o.guard))
	span := time.Duration(o.rounds) * o.window
	log.Printf("steady load: every client pings every %v (%.0f/s in all), %.0f leave+join/s; %d windows of %v each kind, first %v of each left out",
		o.pingEvery, float64(o.clients)/o.pingEvery.Seconds(), o.churn, o.rounds, o.window, o.guard)
	log.Printf("ping round trip, quiet windows: %v", quiet)
	log.Printf("ping round trip, flood windows: %v", flooded)
	log.Printf("join round trip while holding %d, quiet windows: %v", o.clients, qJoins)
	log.Printf("join round trip while holding %d, flood windows: %v", o.clients, fJoins)
	for _, flood := range []bool{false, true} {
		u := cpuAt[flood]
		pct := func(d time.Duration) float64 { return 100 * d.Seconds() / span.Seconds() }
		kind := "quiet"
		if flood {
			kind = "flood"
		}
		// The machine's counters and the processes' are sampled apart, so
		// the difference is approximate (within ~10% of a core).
		others := max(0, u.busy-u.server-u.self-u.flooder)
		log.Printf("CPU in %s windows, %% of one core: server %.0f, clients (this process) %.0f, flooder %.0f, other work on the machine ~%.0f; machine busy %.0f%% of its %d CPUs",
			kind, pct(u.server), pct(u.self), pct(u.flooder), pct(others), 100*u.busy.Seconds()/max(u.all.Seconds(), 1e-9), numCPU())
	}
	var total floodStats
	for _, f := range fstats {
		total.add(f)
	}
	log.Printf("flood (%s, %d flooder(s)%s): %d connections (%.0f/s), %d messages written (%.0f/s), %d pongs, %d rate_limited, closes %v, dial errors %d",
		o.floodMode, o.flooders, niceNote(o), total.Conns, float64(total.Conns)/span.Seconds(), total.Written,
		float64(total.Written)/span.Seconds(), total.Pongs, total.Limited, total.Closes, total.DialErrors)
	log.Printf("failed requests %d; held clients dropped %d; server connections open at the end %d (want %d)",
		col.fails.Load(), dead, open, o.clients)
	log.Printf("server VmRSS at the end %.1f MB; load average %s", srv.rssKB()/1024, loadavg())
	ratio := float64(flooded.p99) / float64(quiet.p99)
	fmt.Printf("sigload: clients %d join p99 %s ping p99 %s flood p99 %s ratio %.2f\n",
		o.clients, ms(qJoins.p99), ms(quiet.p99), ms(flooded.p99), ratio)
	if dead > 0 || col.fails.Load() > 0 {
		return fmt.Errorf("%d held clients dropped, %d requests failed", dead, col.fails.Load())
	}
	return nil
}

func niceNote(o options) string {
	if o.floodMode == "proc" && o.floodNice != 0 {
		return fmt.Sprintf(", nice %d", o.floodNice)
	}
	return ""
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "\nprocessor") + 1
}

// ramp opens n members in rooms of size, par rooms at a time, and returns
// them with each create/join round trip.
func ramp(url string, n, size, par int) ([]*member, []time.Duration, error) {
	members := make([]*member, n)
	rtts := make([]time.Duration, n)
	var firstErr error
	var errMu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range work {
				rs := &roomState{keys: newRoomKeys()}
				for i := first; i < min(first+size, n); i++ {
					m, err := dial(url)
					if err == nil {
						m.room = rs
						members[i] = m
						rtts[i], err = m.enter(i == first)
					}
					if err != nil {
						errMu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("client %d: %w", i, err)
						}
						errMu.Unlock()
						break
					}
				}
			}
		}()
	}
	for first := 0; first < n; first += size {
		work <- first
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		closeAll(members)
		return nil, nil, firstErr
	}
	return members, rtts, nil
}

func closeAll(ms []*member) {
	for _, m := range ms {
		if m != nil {
			m.ws.Close()
		}
	}
}

// act pings every period, from a random phase, until ctx ends; between
// pings it serves churn requests (leave, then join again, timed).
func (m *member) act(ctx context.Context, period time.Duration, col *collector) {
	next := time.Now().Add(mrand.N(period))
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.churn:
			at := time.Now()
			if _, _, err := m.request("leave", ""); err != nil {
				col.fails.Add(1)
				log.Printf("churn leave: %v", err)
			} else if d, err := m.enter(false); err != nil {
				col.fails.Add(1)
				log.Printf("churn join: %v", err)
			} else {
				col.add(&col.joins, sample{at, d})
			}
			m.room.busy.Store(false)
		case <-t.C:
			at := time.Now()
			_, d, err := m.request("ping", "")
			if err != nil {
				col.fails.Add(1)
				log.Printf("ping: %v", err)
			}
			col.add(&col.pings, sample{at, d})
			next = next.Add(period)
			if time.Until(next) < 0 {
				next = time.Now().Add(period) // fell behind: skip, do not burst
			}
			t.Reset(time.Until(next))
		}
	}
}

// churner asks random members, at rate a second, to leave and join again,
// one member per room at a time (so that a room never empties).
func churner(ctx context.Context, members []*member, rate float64) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m := members[mrand.N(len(members))]
		if !m.room.busy.CompareAndSwap(false, true) {
			continue
		}
		select {
		case m.churn <- struct{}{}:
		default:
			m.room.busy.Store(false)
		}
	}
}
