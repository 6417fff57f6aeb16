package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto/internal/b64url"
	"sotto/internal/haproxy"
	"sotto/room"

	"sotto/internal/testutil"
)

// What these tests establish about haproxy.cfg, with stub nodes (the
// research docs/cluster.md relies on):
//   - spread: 3,000 room ids land within 15% of the mean on each node;
//   - a nameplate reaches the node its prefix names, or any node when that
//     node is down or no prefix matches; a /ws with no key is refused;
//   - a node killed: only its rooms move, the stick entries of those that
//     are asked for again are rewritten to the node that took them, and
//     those not asked for keep naming the dead node;
//   - the node back: no moved room goes back (the stick table), new rooms
//     reach it again;
//   - a node can forget a room over the operator-level socket, and that
//     socket cannot disable a server;
//   - an entry's expiry is renewed each time its room is asked for.

func randomRoomID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// cluster is three stub nodes behind haproxy.cfg.
type cluster struct {
	nodes [3]*stubNode
	lb    *testutil.HAProxy
	http  *http.Client
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	mapPath := dir + "/nameplates.map"
	writeMap(t, mapPath)
	c := &cluster{http: &http.Client{Timeout: 10 * time.Second}}
	var addrs [3]string
	for i := range c.nodes {
		c.nodes[i] = startStub(t, fmt.Sprintf("n%d", i), "127.0.0.1:0")
		addrs[i] = c.nodes[i].addr
	}
	c.lb = testutil.StartHAProxy(t, "haproxy.cfg", testutil.NewHAProxyEnv(t, dir, mapPath, addrs))
	c.lb.WaitServers(t, map[string]bool{"n0": true, "n1": true, "n2": true})
	return c
}

// room asks for /ws?r=id and returns the node that answered.
func (c *cluster) room(t *testing.T, id string) string {
	t.Helper()
	node, err := c.tryRoom(id)
	if err != nil {
		t.Fatal(err)
	}
	return node
}

// tryRoom is room for other goroutines than the test's.
func (c *cluster) tryRoom(id string) (string, error) {
	res, err := c.http.Get(c.lb.URL + "/ws?r=" + id)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	node := res.Header.Get("X-Stub-Node")
	if res.StatusCode != http.StatusOK || node == "" {
		return "", fmt.Errorf("/ws?r=%s: HTTP %d from %q", id, res.StatusCode, node)
	}
	return node, nil
}

// place asks for every id and returns id -> node.
func (c *cluster) place(t *testing.T, ids []string) map[string]string {
	t.Helper()
	at := make(map[string]string, len(ids))
	for _, id := range ids {
		at[id] = c.room(t, id)
	}
	return at
}

func countByNode(at map[string]string) map[string]int {
	n := map[string]int{}
	for _, node := range at {
		n[node]++
	}
	return n
}

// TestHAProxyRoutesRooms is the whole life of a cluster, in order: spread,
// codes, a node killed, the node back, a room forgotten.
func TestHAProxyRoutesRooms(t *testing.T) {
	c := startCluster(t)

	// A WebSocket without a key is refused; files go to any node.
	if status, node := get(t, c.lb, c.http, "/ws"); status != http.StatusBadRequest || node != "" {
		t.Errorf("/ws without a key: HTTP %d from %q, want 400 from HAProxy", status, node)
	}
	if status, node := get(t, c.lb, c.http, "/js/app.js"); status != http.StatusOK || node == "" {
		t.Errorf("/js/app.js: HTTP %d from %q, want a node", status, node)
	}

	// Spread: 3,000 rooms.
	ids := roomIDs(3000)
	before := c.place(t, ids)
	counts := countByNode(before)
	mean := float64(len(ids)) / 3
	worst := 0.0
	for _, n := range c.nodes {
		worst = max(worst, math.Abs(float64(counts[n.name])-mean)/mean)
	}
	t.Logf("spread of %d rooms: %v, worst %.1f%% off the mean", len(ids), counts, 100*worst)
	if worst > 0.15 {
		t.Errorf("a node is %.1f%% off the mean, want within 15%%", 100*worst)
	}
	stick := c.lb.StickEntries(t)
	for _, id := range ids {
		if stick[id] != before[id] {
			t.Fatalf("room %s went to %s, its stick entry says %q", id, before[id], stick[id])
		}
	}

	// Codes: 100 nameplates per prefix reach their node; a prefix no node
	// has reaches some node.
	for i, n := range c.nodes {
		for range 100 {
			plate := fmt.Sprintf("%d%06d", i+1, randInt(1e6))
			if _, node := get(t, c.lb, c.http, "/ws?np="+plate); node != n.name {
				t.Fatalf("nameplate %s went to %q, want %s", plate, node, n.name)
			}
		}
	}
	if status, node := get(t, c.lb, c.http, "/ws?np=9123456"); status != http.StatusOK || node == "" {
		t.Errorf("a nameplate no prefix matches: HTTP %d from %q, want some node", status, node)
	}

	// An entry's expiry is renewed by each request naming its room.
	probe := ids[0]
	e1 := c.lb.StickExpiry(t, probe)
	time.Sleep(1200 * time.Millisecond)
	e2 := c.lb.StickExpiry(t, probe)
	c.room(t, probe)
	e3 := c.lb.StickExpiry(t, probe)
	t.Logf("stick expiry: %d ms, 1.2 s later %d ms, after a request %d ms", e1, e2, e3)
	if e2 >= e1 || e3 <= e2+1000 {
		t.Errorf("a request did not renew the entry's expiry (%d, %d, %d ms)", e1, e2, e3)
	}

	// n0 dies as under SIGKILL. At once, before any health check notices,
	// three members of each of its first 50 rooms come back together.
	var lost, kept []string
	for _, id := range ids {
		if before[id] == "n0" {
			lost = append(lost, id)
		} else {
			kept = append(kept, id)
		}
	}
	c.nodes[0].kill()
	start := time.Now()
	rebuilt := map[string]string{}
	split := 0
	var slowest time.Duration
	var failed []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range lost[:50] {
		got := make([]string, 3)
		for m := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				node, err := c.tryRoom(id)
				mu.Lock()
				defer mu.Unlock()
				got[m] = node
				slowest = max(slowest, time.Since(t0))
				if err != nil {
					failed = append(failed, err)
				}
			}()
		}
		wg.Wait()
		rebuilt[id] = got[0]
		if slices.ContainsFunc(got, func(n string) bool { return n != "" && n != got[0] }) {
			split++
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of 150 requests failed while n0 was dead but not yet marked down: %v", len(failed), failed)
	}
	t.Logf("n0 killed: 50 of its rooms, 3 members each at once, before it was marked down: %v in all, slowest request %v; "+
		"rooms whose members landed apart: %d; landed on %v", time.Since(start).Round(time.Millisecond), slowest.Round(time.Millisecond),
		split, countByNode(rebuilt))
	if split > 0 {
		t.Errorf("%d rooms' members landed on different nodes", split)
	}
	c.lb.WaitServers(t, map[string]bool{"n0": false, "n1": true, "n2": true})
	stick = c.lb.StickEntries(t)
	stale := 0
	for _, id := range lost[50:] {
		if stick[id] == "n0" {
			stale++
		}
	}
	t.Logf("n0 down: %d of %d entries of its rooms not asked for since still name n0", stale, len(lost)-50)
	if stale != len(lost)-50 {
		t.Errorf("entries of rooms nobody asked for changed: %d of %d still name n0", stale, len(lost)-50)
	}
	// The rest of n0's rooms come back; a nameplate of n0's goes to another node.
	for _, id := range lost[50:] {
		rebuilt[id] = c.room(t, id)
	}
	stick = c.lb.StickEntries(t)
	for id, node := range rebuilt {
		if node == "n0" || stick[id] != node {
			t.Fatalf("room %s of n0 rebuilt on %s, stick entry %q: want another node, and the entry naming it", id, node, stick[id])
		}
	}
	if status, node := get(t, c.lb, c.http, "/ws?np=1123456"); status != http.StatusOK || node == "" || node == "n0" {
		t.Errorf("n0's nameplate with n0 down: HTTP %d from %q, want another node", status, node)
	}
	for _, id := range kept {
		if node := c.room(t, id); node != before[id] {
			t.Fatalf("room %s of %s moved to %s when n0 died", id, before[id], node)
		}
	}

	// n0 comes back on its address: no room goes back to it, but new rooms
	// reach it again.
	c.nodes[0] = startStub(t, "n0", c.nodes[0].addr)
	c.lb.WaitServers(t, map[string]bool{"n0": true, "n1": true, "n2": true})
	movedBack := 0
	for id, node := range rebuilt {
		if c.room(t, id) != node {
			movedBack++
		}
	}
	fresh := countByNode(c.place(t, roomIDs(300)))
	t.Logf("n0 back: %d of %d rebuilt rooms moved back; 300 new rooms: %v", movedBack, len(rebuilt), fresh)
	if movedBack != 0 {
		t.Errorf("%d rooms went back to n0 and would be split", movedBack)
	}
	if fresh["n0"] < 60 {
		t.Errorf("n0 got %d of 300 new rooms after it came back, want about 100", fresh["n0"])
	}

	// A node forgets a room that emptied, over the nodes' (operator) socket,
	// with the forgetter a node uses: the room's next create goes to its
	// place on the ring, n0.
	forget := strings.TrimPrefix(c.lb.Env.Forget, "ipv4@")
	f, err := haproxy.NewForgetter("tcp://"+forget, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id := lost[0]
	var rid room.ID
	if !b64url.DecodeFixed(rid[:], id) {
		t.Fatal("bad room id")
	}
	result := make(chan string, 1)
	f.Forget(rid, func(r string) { result <- r })
	if r := <-result; r != haproxy.ResultOK {
		t.Fatalf("forget: %s", r)
	}
	if _, still := c.lb.StickEntries(t)[id]; still {
		t.Fatal("the forgotten room is still in the stick table")
	}
	if node := c.room(t, id); node != "n0" {
		t.Errorf("a forgotten room of n0 went to %s, want n0", node)
	}
	if out := testutil.RuntimeAt(t, "tcp", forget, "disable server nodes/n1"); !strings.Contains(out, "Permission denied") {
		t.Errorf("the nodes' socket can disable a server: %q", out)
	}
}

func randInt(n int) int {
	var b [8]byte
	rand.Read(b[:])
	v := 0
	for _, x := range b {
		v = v<<8 | int(x)
	}
	if v < 0 {
		v = -v
	}
	return v % n
}

// TestHAProxyReloadKeepsStickTable: a reload (SIGUSR2 to the master, what
// `systemctl reload haproxy` does) hands the stick table to the new worker
// through the local peer, so rooms that moved stay where they are; but not
// in the first seconds after the worker started.
func TestHAProxyReloadKeepsStickTable(t *testing.T) {
	c := startCluster(t)
	ids := roomIDs(200)
	before := c.place(t, ids)
	old := c.lb.StickEntries(t)
	if len(old) != len(ids) {
		t.Fatalf("%d stick entries for %d rooms", len(old), len(ids))
	}
	// A worker hands its table on only once its own resync phase is over
	// (about 5 s after it started: measured, a reload before then passed
	// nothing on).
	waitStart := time.Now()
	for !strings.Contains(c.lb.Runtime(t, "show peers"), "resync_timeout=<PAST>") {
		if time.Since(waitStart) > 15*time.Second {
			t.Fatalf("the peers section never finished its resync:\n%s", c.lb.Runtime(t, "show peers"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("resync phase over %v after the rooms were placed", time.Since(waitStart).Round(100*time.Millisecond))
	oldWorker := c.lb.WorkerPID(t)
	if err := c.lb.Proc.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for c.lb.WorkerPID(t) == oldWorker {
		if time.Now().After(deadline) {
			t.Fatal("no new worker after SIGUSR2")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The new worker's table, once the old one has pushed it.
	var kept map[string]string
	for {
		kept = c.lb.StickEntries(t)
		if len(kept) >= len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("reload: %d of %d stick entries in the new worker", len(kept), len(ids))
	for id, node := range before {
		if kept[id] != node {
			t.Fatalf("after the reload room %s's entry is %q, want %s", id, kept[id], node)
		}
	}
}
