// Command loadgen measures what Sotto's SFU costs, against a baseline.
//
// It runs the server in this process and the clients (real pion
// PeerConnections, sfutest.Client) in a child process, so the CPU time and
// memory it reports are the server's alone. It then
//
//   - forwards: -rooms rooms, each with one talker sending Opus-sized frames
//     at -pps to -listeners listeners, for -duration; it reports the server's
//     CPU time per forwarded packet, allocations per packet, delivery (the
//     fraction of expected packets the listeners received, checked for order
//     and bit-exact payloads) and RSS per member;
//   - does the same with the baseline, a forwarder written the way pion's
//     sfu-ws example forwards (sfutest.Baseline);
//   - measures the machine's floor in the same shape (internal/floorbench,
//     as cmd/floor: only SRTP and one sendmmsg per fan-out, no WebRTC);
//   - with -impl sotto-pion, also Sotto with its floor tracks written
//     through pion (sfu.Config.PionFloorWrites), the path before issue 19;
//   - with -idle N, also measures N connected members in silent rooms: CPU
//     cores and RSS per member, for both.
//
// Each measurement runs in a fresh process, so that memory figures do not
// inherit the heap of the one before.
//
// Its last line is always
//
//	sfu us/pkt: <ours> baseline: <theirs> ratio: <theirs/ours> floor: <floor> over floor: <ours/floor>
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"sotto/internal/floorbench"
	"sotto/internal/procstat"
	"sotto/room"
	"sotto/sfu"
	"sotto/sfu/sfutest"
)

type server interface {
	sfutest.Server
	SetFloor(roomID [16]byte, holder uuid.UUID)
	Close() error
	Forwarded() uint64
}

type ours struct{ *sfu.SFU }

func (o ours) Forwarded() uint64 { return o.Stats().Forwarded }

func newServer(impl string) (server, error) {
	if impl == "baseline" {
		return sfutest.NewBaseline("127.0.0.1:0")
	}
	s, err := sfu.New(sfu.Config{UDPAddr: "127.0.0.1:0", PionFloorWrites: impl == "sotto-pion"})
	if err != nil {
		return nil, err
	}
	return ours{s}, nil
}

type options struct {
	rooms, listeners, pps, idle, joinParallel int
	duration                                  time.Duration
	impls                                     []string
	profile                                   string
}

// profile starts a CPU profile of one measured window if -cpuprofile is set;
// the returned func stops it.
func (o options) startProfile(name string) func() {
	if o.profile == "" {
		return func() {}
	}
	f, err := os.Create(o.profile + "-" + name + ".prof")
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

func main() {
	var o options
	clients := flag.Bool("clients", false, "run as the client process (internal)")
	flag.IntVar(&o.rooms, "rooms", 10, "rooms, each with one talker")
	flag.IntVar(&o.listeners, "listeners", 20, "listeners per room")
	flag.IntVar(&o.pps, "pps", 50, "packets per second per talker (Opus at 20 ms: 50)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long the talkers talk")
	flag.IntVar(&o.idle, "idle", 0, "also measure this many silent members (0: skip)")
	flag.IntVar(&o.joinParallel, "join-parallel", 16, "clients joining at once")
	impls := flag.String("impl", "sotto,baseline,floor", "forwarders to measure, comma-separated: sotto, baseline, floor, sotto-pion")
	floorChild := flag.String(floorbench.ChildFlag, "", "run as a floor measurement's `role` process (internal)")
	run := flag.String("run", "", "run one measurement, `impl:phase`, in this process (internal)")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of each measured window to `prefix`-<impl>-<phase>.prof")
	flag.Parse()
	if *floorChild != "" {
		if err := floorbench.ServeChild(*floorChild, os.Stdin, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *clients {
		if err := sfutest.ServeClients(os.Stdin, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	o.impls = strings.Split(*impls, ",")
	log.SetFlags(0)

	if *run != "" {
		// One measurement, in a process of its own so that its RSS and
		// heap start from nothing.
		impl, phase, _ := strings.Cut(*run, ":")
		var err error
		switch {
		case impl == "floor" && phase == "forward":
			var us float64
			if us, err = floor(o); err == nil {
				fmt.Printf("result %s %g\n", impl, us)
			}
		case impl == "floor": // the floor has no idle members to measure
		case phase == "idle":
			err = idle(impl, o)
		default:
			var us float64
			if us, err = forward(impl, o); err == nil {
				fmt.Printf("result %s %g\n", impl, us)
			}
		}
		if err != nil {
			log.Fatalf("%s %s: %v", impl, phase, err)
		}
		return
	}

	fmt.Printf("loadgen: %d rooms x (1 talker + %d listeners), %d pkt/s per talker, %v; GOMAXPROCS=%d\n",
		o.rooms, o.listeners, o.pps, o.duration, runtime.GOMAXPROCS(0))
	usPerPkt := map[string]float64{}
	phases := []string{"forward"}
	if o.idle > 0 {
		phases = append(phases, "idle")
	}
	for _, phase := range phases {
		for _, impl := range o.impls {
			if err := measure(impl+":"+phase, usPerPkt); err != nil {
				log.Fatal(err)
			}
		}
	}
	a, b, f := usPerPkt["sotto"], usPerPkt["baseline"], usPerPkt["floor"]
	ratio, over := 0.0, 0.0
	if a > 0 {
		ratio = b / a
	}
	if f > 0 {
		over = a / f
	}
	fmt.Printf("sfu us/pkt: %.2f baseline: %.2f ratio: %.2f floor: %.2f over floor: %.2f\n", a, b, ratio, f, over)
}

// measure runs one measurement in a child process with the same flags,
// passing its report through and collecting its result line.
func measure(what string, results map[string]float64) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-run", what}
	flag.Visit(func(f *flag.Flag) {
		if f.Name != "run" {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "result "); ok {
			impl, v, _ := strings.Cut(rest, " ")
			results[impl], _ = strconv.ParseFloat(v, 64)
			continue
		}
		fmt.Println(sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// usage is the process's CPU time so far, user and system.
func usage() (user, sys time.Duration) {
	user, sys, err := procstat.CPUTime()
	if err != nil {
		log.Fatal(err)
	}
	return user, sys
}

// rss is this process's resident set in bytes, from /proc.
func rss() int64 {
	kb, _ := procstat.RSSKB(0) // 0 where there is no /proc
	return kb << 10
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

func startClients(srv sfutest.Server) (*sfutest.Remote, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return sfutest.StartRemote(exec.Command(exe, "-clients"), srv)
}

// joinAll joins members concurrently, at most parallel at a time.
func joinAll(ctx context.Context, rc *sfutest.Remote, parallel int, rooms [][16]byte, per int, role room.Role) error {
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(rooms)*per)
	var wg sync.WaitGroup
	for _, id := range rooms {
		for i := range per {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := rc.Join(ctx, id, sfutest.Options{Role: role, Tag: byte(i)}, false); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	return <-errs // nil if none
}

func roomIDs(n int, salt byte) [][16]byte {
	out := make([][16]byte, n)
	for i := range out {
		out[i] = [16]byte{salt, byte(i >> 8), byte(i)}
	}
	return out
}

// forward measures one forwarder and returns its CPU µs per forwarded packet.
func forward(impl string, o options) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	srv, err := newServer(impl)
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	rc, err := startClients(srv)
	if err != nil {
		return 0, err
	}
	defer rc.Close()

	runtime.GC()
	rss0 := rss()
	rooms := roomIDs(o.rooms, 1)
	talkers := make([]uuid.UUID, len(rooms))
	joinStart := time.Now()
	for i, id := range rooms {
		if talkers[i], err = rc.Join(ctx, id, sfutest.Options{Role: room.RoleTalk, Tag: 'T'}, false); err != nil {
			return 0, err
		}
	}
	if err := joinAll(ctx, rc, o.joinParallel, rooms, o.listeners, room.RoleListen); err != nil {
		return 0, err
	}
	members := o.rooms * (1 + o.listeners)
	fmt.Printf("%s: %d members joined in %v\n", impl, members, time.Since(joinStart).Round(time.Millisecond))
	for i, id := range rooms {
		srv.SetFloor(id, talkers[i])
	}
	isTalker := map[uuid.UUID]bool{}
	for _, t := range talkers {
		isTalker[t] = true
	}
	received := func() (sum uint64, heardAll bool, err error) {
		counts, err := rc.Counts(ctx)
		if err != nil {
			return 0, false, err
		}
		heardAll = true
		for _, c := range counts {
			if isTalker[c.ID] {
				continue
			}
			if c.Broken != 0 || c.Reordered != 0 {
				return 0, false, fmt.Errorf("a client got %d damaged and %d reordered packets", c.Broken, c.Reordered)
			}
			sum += c.Received
			heardAll = heardAll && c.Received > 0
		}
		return sum, heardAll, nil
	}
	talkAll := func(first uint32, n int) error {
		errs := make(chan error, len(talkers))
		for _, t := range talkers {
			go func() { errs <- rc.Talk(ctx, t, first, n, o.pps) }()
		}
		var err error
		for range talkers {
			if e := <-errs; e != nil {
				err = e
			}
		}
		return err
	}
	// Warm up until every listener hears its talker. Counters rise across
	// warm-up and measurement, so the clients' order check spans both.
	const measured = 1 << 24
	for first := uint32(0); ; first += 10 {
		if err := talkAll(first, 10); err != nil {
			return 0, err
		}
		_, all, err := received()
		if err != nil {
			return 0, err
		}
		if all {
			break
		}
		if first > 50*10 {
			return 0, fmt.Errorf("some listeners never heard their talker")
		}
	}

	// Let the warm-up's last packets land before counting.
	recv0, _, err := received()
	for err == nil {
		time.Sleep(100 * time.Millisecond)
		var now uint64
		if now, _, err = received(); now == recv0 {
			break
		}
		recv0 = now
	}
	if err != nil {
		return 0, err
	}
	runtime.GC()
	fwd0, m0 := srv.Forwarded(), mallocs()
	stop := o.startProfile(impl + "-forward")
	u0, s0 := usage()
	n := int(o.duration.Seconds() * float64(o.pps))
	start := time.Now()
	if err := talkAll(measured, n); err != nil {
		return 0, err
	}
	talked := time.Since(start)
	want := recv0 + uint64(n*o.rooms*o.listeners)
	wantFwd := fwd0 + uint64(n*o.rooms*o.listeners)
	var recv uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if recv, _, err = received(); err != nil {
			return 0, err
		}
		// The server counts a packet after writing it: wait for both.
		if recv >= want && srv.Forwarded() >= wantFwd {
			break
		}
	}
	u1, s1 := usage()
	stop()
	fwd, m := srv.Forwarded()-fwd0, mallocs()-m0
	rss1 := rss()
	if fwd == 0 {
		return 0, fmt.Errorf("nothing forwarded")
	}
	cpu := (u1 - u0) + (s1 - s0)
	us := float64(cpu.Nanoseconds()) / 1e3 / float64(fwd)
	fmt.Printf("%s: forwarded %d packets in %v: %.2f us/pkt CPU (user %.2f, system %.2f), %.1f cores, %.3f allocs/pkt\n",
		impl, fwd, talked.Round(time.Millisecond), us,
		float64((u1-u0).Nanoseconds())/1e3/float64(fwd), float64((s1-s0).Nanoseconds())/1e3/float64(fwd),
		cpu.Seconds()/talked.Seconds(), float64(m)/float64(fwd))
	fmt.Printf("%s: delivery %.4f (%d of %d packets reached listeners, in order, bit-exact), RSS %.0f KB per member\n",
		impl, float64(recv-recv0)/float64(want-recv0), recv-recv0, want-recv0, float64(rss1-rss0)/1024/float64(members))
	return us, nil
}

// idle measures n connected members in silent rooms of 10.
func idle(impl string, o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	srv, err := newServer(impl)
	if err != nil {
		return err
	}
	defer srv.Close()
	rc, err := startClients(srv)
	if err != nil {
		return err
	}
	defer rc.Close()
	runtime.GC()
	rss0 := rss()
	const per = 10
	rooms := roomIDs((o.idle+per-1)/per, 2)
	start := time.Now()
	if err := joinAll(ctx, rc, o.joinParallel, rooms, per, room.RoleTalk); err != nil {
		return err
	}
	members := len(rooms) * per
	fmt.Printf("%s idle: %d members joined in %v\n", impl, members, time.Since(start).Round(time.Millisecond))
	// Let handshakes' aftermath (first RTCP, ICE nomination) pass.
	time.Sleep(3 * time.Second)
	runtime.GC()
	stop := o.startProfile(impl + "-idle")
	u0, s0 := usage()
	t0 := time.Now()
	time.Sleep(o.duration)
	u1, s1 := usage()
	stop()
	wall := time.Since(t0)
	cpu := (u1 - u0) + (s1 - s0)
	fmt.Printf("%s idle: %d silent members: %.3f cores (%.1f us/s each), RSS %.0f KB per member\n",
		impl, members, cpu.Seconds()/wall.Seconds(),
		float64(cpu.Nanoseconds())/1e3/wall.Seconds()/float64(members), float64(rss()-rss0)/1024/float64(members))
	return nil
}

// floor measures the machine's floor in this run's shape: what any SFU must
// do per forwarded packet (SRTP, one sendmmsg per fan-out), nothing else.
func floor(o options) (float64, error) {
	f := floorbench.DefaultOptions(floorbench.ModeSendmmsg)
	f.Rooms, f.Listeners, f.PPS, f.Duration = o.rooms, o.listeners, o.pps, o.duration
	r, err := floorbench.Measure(f)
	if err != nil {
		return 0, err
	}
	fmt.Println("floor: " + r.Report())
	if r.Broken != 0 || r.Reordered != 0 {
		return 0, fmt.Errorf("floor: %d damaged and %d reordered packets", r.Broken, r.Reordered)
	}
	return r.USPerPacket(), nil
}
