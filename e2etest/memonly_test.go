package e2etest

// Memory only: the server writes nothing anywhere, and once a room's last
// member has left, nothing of the room is left in the server's memory.
//
// TestMemoryOnlyBinary runs the real binary under strace for a whole session
// (create, join, talk with media, leave) and checks every file-system
// syscall it made; then the metrics; and it scans the process's memory for
// the room's identifiers, which it reports (see memScanNote for why it
// cannot assert on that). TestMemoryOnlyHeap runs the same server code
// (server.Run, as the media tests do) in this process, where a garbage collection
// can be forced and the live heap dumped: after the last leave, no live
// object and no goroutine stack holds any of the room's identifiers.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"sotto/e2ee"
	"sotto/internal/testutil"
)

// memNeedles are the values that identify one room and its members, kept in
// memory mapped outside the Go heap (so that this process's own copies can
// never show up in its heap dump). The members' ids are added once known.
type memNeedles struct {
	mem    []byte // the mapping
	used   int
	secret []byte
	names  []string
	values [][]byte
}

func newMemNeedles(t *testing.T) *memNeedles {
	t.Helper()
	mem, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	n := &memNeedles{mem: mem}
	s := e2ee.NewSecret()
	n.secret = n.alloc(len(s))
	copy(n.secret, s)
	clear(s)
	keys, err := e2ee.DeriveRoomKeys(n.secret)
	if err != nil {
		t.Fatal(err)
	}
	// What the server sees (room id, auth token, verifier), and what it
	// must never see (the secret and the keys), raw and as base64url, the
	// form in which messages carry them.
	for _, v := range []struct {
		name string
		b    []byte
	}{
		{"room id", keys.RoomID[:]}, {"room auth", keys.RoomAuth[:]}, {"verifier", keys.Verifier[:]},
		{"secret", n.secret}, {"signal key", keys.Signal[:]}, {"media key", keys.Media[:]},
	} {
		raw := n.alloc(len(v.b))
		copy(raw, v.b)
		n.add(v.name, raw)
		enc := n.alloc(base64.RawURLEncoding.EncodedLen(len(raw)))
		base64.RawURLEncoding.Encode(enc, raw)
		n.add(v.name+" (base64url)", enc)
	}
	*keys = e2ee.RoomKeys{}
	return n
}

func (n *memNeedles) alloc(size int) []byte {
	b := n.mem[n.used : n.used+size : n.used+size]
	n.used += size
	return b
}

func (n *memNeedles) add(name string, b []byte) {
	n.names = append(n.names, name)
	n.values = append(n.values, b)
}

// addMember adds a member id: the server keeps it raw (a uuid.UUID); the
// protocol spells it as text.
func (n *memNeedles) addMember(t *testing.T, name, id string) {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	raw := n.alloc(16)
	copy(raw, u[:])
	n.add(name+" id", raw)
	text := n.alloc(len(id))
	copy(text, id)
	n.add(name+" id (text)", text)
}

// count counts each needle in data.
func (n *memNeedles) count(data []byte) map[string]int {
	c := map[string]int{}
	for i, v := range n.values {
		if k := bytes.Count(data, v); k > 0 {
			c[n.names[i]] += k
		}
	}
	return c
}

// memSession runs a whole session against the server at ws: a creates the
// room, b joins, both connect media and exchange hellos, a talks until b has
// decrypted 25 of its frames (half a second of voice), live runs, a releases
// the floor, and both leave. The clients are not referenced once it returns.
func memSession(t *testing.T, ws string, n *memNeedles, live func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := connectMember(ctx, t, ws, n.secret, "a")
	defer a.Close()
	b := connectMember(ctx, t, ws, n.secret, "b")
	defer b.Close()
	n.addMember(t, "member a", a.Self())
	n.addMember(t, "member b", b.Self())
	knowEachOther(t, a, b)
	if err := a.RequestFloor(ctx); err != nil {
		t.Fatal(err)
	}
	heard(t, a, 25, b)
	live()
	if err := a.ReleaseFloor(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// memGauges waits until every gauge of room state reads 0.
func memGauges(t *testing.T, read func(string) string) {
	t.Helper()
	for _, g := range []string{"sotto_rooms", "sotto_members", "sotto_media_peers", "sotto_media_rooms", "sotto_connections_open"} {
		testutil.WaitFor(t, 10*time.Second, g+" to be 0", func() bool { return read(g) == "0" })
	}
}

// TestMemoryOnlyHeap: after a whole session, with the server still running,
// no live Go object and no goroutine stack anywhere in the process holds the
// room id, the auth token, the verifier or a member id (raw or as text), nor
// of course the secret or its keys. Checked on a heap dump taken after
// forced collections, once while the room is live (which must find the
// members' raw ids: only the server keeps them raw, so the dump does see
// the server's state) and once after the last leave (which must find
// nothing).
//
// What it proves: no reference to room data survives the room in the
// server: not in the registry, nameplates, floor timers, the SFU, pools
// (emptied by the collections) or any goroutine. What it does not prove:
// that the bytes are gone from RAM. Go does not clear freed memory; freed
// objects keep their contents until the allocator reuses them or the
// scavenger returns the pages to the kernel. The binary test reports how
// many such stale copies a scan of the process's memory finds.
func TestMemoryOnlyHeap(t *testing.T) {
	srv := startServer(t)
	n := newMemNeedles(t)
	dir := t.TempDir()
	var liveCounts map[string]int
	memSession(t, srv.ws, n, func() { liveCounts = n.count(heapDump(t, dir)) })
	t.Logf("live room, heap dump: %v", liveCounts)
	if liveCounts["member a id"] == 0 || liveCounts["member b id"] == 0 {
		t.Fatalf("the dump taken while the room was live lacks the members' raw ids (%v): it does not show the server's state", liveCounts)
	}
	memGauges(t, func(g string) string { return srv.gauge(t, g) })
	after := n.count(heapDump(t, dir))
	// room.Registry and the SFU key their room maps by string(id[:]): Go's
	// map delete clears a key's slot only when the key type holds
	// pointers, so a [16]byte key left the purged room's id in each live
	// map (docs/abuse.md §3, item 4).
	if len(after) > 0 {
		t.Fatalf("after the last leave, live memory still holds %v", after)
	}
	t.Logf("after the last leave: none of the other %d values in live memory", len(n.names)-1)
}

// heapDump collects garbage (three times: sync.Pools keep their contents
// for one collection in a victim cache) and returns a dump of the live heap,
// goroutine stacks and globals (runtime/debug.WriteHeapDump).
func heapDump(t *testing.T, dir string) []byte {
	t.Helper()
	for range 3 {
		runtime.GC()
	}
	path := filepath.Join(dir, "heap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	debug.WriteHeapDump(f.Fd())
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	return b
}

// straceSyscalls are the syscalls the binary is traced for: every one that
// takes a path (strace's %file class), and the ones that change a file
// through a descriptor or create one without a path.
const straceSyscalls = "%file,ftruncate,fallocate,fchmod,fchown,fsetxattr,fremovexattr,copy_file_range,memfd_create,open_by_handle_at,bind"

// Syscalls that change the file system whatever their arguments. Any of
// them, successful or not, fails the test.
var fsWrites = []string{
	"creat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir", "mkdir", "mkdirat",
	"mknod", "mknodat", "link", "linkat", "symlink", "symlinkat", "truncate", "ftruncate", "fallocate",
	"chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown",
	"utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr",
	"removexattr", "lremovexattr", "fremovexattr", "copy_file_range", "mount", "umount2",
	"pivot_root", "chroot", "swapon", "swapoff", "acct", "quotactl", "memfd_create",
}

// writeFlags are the open flags that allow writing or create a file.
var writeFlags = []string{"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND", "O_TMPFILE"}

// detachedUnknown is what strace writes for a thread that was inside a
// syscall strace never saw enter when the process died (the cluster test
// kills nodes with SIGKILL). With --seccomp-bpf strace stops only on the
// traced syscalls, at their entry, before they run: a traced one would
// carry its name, so "???" is a syscall outside straceSyscalls, or one
// whose entry stop was never handled and so never ran. Neither writes.
const detachedUnknown = "???( <detached ...>"

var straceLineRE = regexp.MustCompile(`^(\d+) +([a-z0-9_]+)\((.*)$`)

// checkTrace reads strace's output and returns what breaks the rule, and
// the paths opened for reading.
//
// Allowed, and why: opening any file read-only (the dynamic loader reads
// ld.so.cache and libc; Go's runtime reads /proc/self/maps, cgroup and
// transparent-huge-page settings; net reads /proc/sys/net/core/somaxconn);
// the one execve that starts the binary; bind on network sockets (a Unix
// socket bound to a path would create a file, and fails); every syscall on
// descriptors that did not come from a write-open (sockets, pipes, epoll,
// eventfd, the inherited stdout and stderr, which are the operator's to
// point somewhere): with no file opened for writing there is no descriptor
// through which a file could be written.
func checkTrace(t *testing.T, path string) (bad []string, reads []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pending := map[string]string{} // pid -> the start of an unfinished call
	execs := 0
	readSet := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pid, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest = strings.TrimSpace(rest)
		if strings.HasSuffix(rest, "<unfinished ...>") {
			pending[pid] = strings.TrimSuffix(rest, "<unfinished ...>")
			continue
		}
		if strings.HasPrefix(rest, "<... ") {
			_, tail, ok := strings.Cut(rest, " resumed>")
			if !ok {
				bad = append(bad, "unparsed: "+line)
				continue
			}
			rest = pending[pid] + tail
			delete(pending, pid)
		}
		if strings.HasPrefix(rest, "+++") || strings.HasPrefix(rest, "---") {
			continue // exits and signals
		}
		if rest == detachedUnknown {
			continue
		}
		m := straceLineRE.FindStringSubmatch(pid + " " + rest)
		if m == nil {
			bad = append(bad, "unparsed: "+line)
			continue
		}
		name, args := m[2], m[3]
		switch {
		case name == "execve":
			if execs++; execs > 1 {
				bad = append(bad, line)
			}
		case slices.Contains(fsWrites, name):
			bad = append(bad, line)
		case name == "open" || name == "openat" || name == "openat2" || name == "open_by_handle_at":
			p, flags := openArgs(args)
			if slices.ContainsFunc(writeFlags, func(w string) bool { return strings.Contains(flags, w) }) {
				bad = append(bad, line)
			} else {
				readSet[p] = true
			}
		case name == "bind":
			if strings.Contains(args, "AF_UNIX") && !strings.Contains(args, `sun_path=@`) {
				bad = append(bad, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if execs == 0 {
		bad = append(bad, "no execve in the trace: strace did not trace the binary")
	}
	for p := range readSet {
		reads = append(reads, p)
	}
	sort.Strings(reads)
	return bad, reads
}

// openArgs splits an open call's arguments into the path (as strace quotes
// it) and everything after it, where the flags are. Without a quoted path
// everything counts as flags, which can only make the check stricter.
func openArgs(args string) (path, flags string) {
	start := strings.IndexByte(args, '"')
	if start < 0 {
		return "", args
	}
	for i := start + 1; i < len(args); i++ {
		switch args[i] {
		case '\\':
			i++
		case '"':
			return args[start : i+1], args[i+1:]
		}
	}
	return "", args
}

// memScanNote says why the process scan is reported, not asserted.
const memScanNote = "stale copies in memory the Go runtime freed but has not reused or returned to the kernel: Go never clears freed memory"

// TestMemoryOnlyBinary runs the real binary under strace (which must be
// installed: .ci/run installs it) through a whole session and checks that
// it opened no file for writing and changed nothing in the file system,
// from its first instruction to its exit; that after the last leave every
// gauge of room state is 0; and it reports what a scan of the process's
// memory finds of the room's identifiers while the room is live and after.
func TestMemoryOnlyBinary(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	cmd := tracedSotto(t, trace, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn", "--talk-limit", "10m")
	cmd.Dir = dir
	stdout := startCmd(t, cmd)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := 0 // the binary's, once known
	waited := false
	defer func() {
		if waited {
			return
		}
		if pid != 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		<-exited
	}()
	srv := readAddrs(cmd, stdout)
	if srv.appAddr == "" || srv.metricsAddr == "" {
		t.Fatal("the binary did not print its URLs")
	}
	go io.Copy(io.Discard, stdout)
	pid = tracedChild(t, cmd.Process.Pid)

	n := newMemNeedles(t)
	var live map[string]int
	memSession(t, "ws://"+srv.appAddr+"/ws", n, func() { live = scanProcess(t, pid, n) })
	t.Logf("live room, server process memory: %v", live)
	if live["room id"] == 0 || live["member a id"] == 0 {
		t.Fatalf("the scan of the live server found %v: it does not see the server's memory", live)
	}
	memGauges(t, func(g string) string { return srv.metric(t, g) })
	after := scanProcess(t, pid, n)
	for _, never := range []string{"secret", "signal key", "media key"} {
		if after[never]+live[never]+after[never+" (base64url)"]+live[never+" (base64url)"] > 0 {
			t.Errorf("the server's memory holds the %s, which it is never sent", never)
		}
	}
	t.Logf("after the last leave, server process memory: %v (%s)", after, memScanNote)

	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		waited = true
		if err != nil {
			t.Fatalf("strace / the binary exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the binary did not exit after SIGTERM")
	}
	bad, reads := checkTrace(t, trace)
	t.Logf("opened read-only: %s", strings.Join(reads, " "))
	if len(bad) > 0 {
		t.Fatalf("the server wrote to, or changed, the file system:\n%s", strings.Join(bad, "\n"))
	}
}

// tracedSotto is the binary with args, run under strace (which .ci/run
// installs: it is how these tests see every file the server opens), every
// syscall of straceSyscalls written to trace. checkTrace reads it;
// tracedChild finds the binary's pid once it runs.
func tracedSotto(t testing.TB, trace string, args ...string) *exec.Cmd {
	t.Helper()
	strace := testutil.Tool(t, "strace", "strace")
	return exec.Command(strace, append([]string{"-f", "-qq", "--seccomp-bpf", "-s", "4096", "-e", "signal=none",
		"-e", "trace=" + straceSyscalls, "-o", trace, "--", testutil.Sotto(t)}, args...)...)
}

// tracedChild is the pid of the process strace started.
func tracedChild(t *testing.T, stracePid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", stracePid, stracePid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("strace has children %q, want one", f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// scanProcess counts the needles in every readable mapping of a process
// (readable to root, or to its ancestor), a chunk at a time.
func scanProcess(t *testing.T, pid int, n *memNeedles) map[string]int {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	const chunk = 1 << 20
	overlap := 0
	for _, v := range n.values {
		overlap = max(overlap, len(v)-1)
	}
	counts := map[string]int{}
	buf := make([]byte, chunk+overlap)
	for _, line := range strings.Split(strings.TrimSpace(string(maps)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1][0] != 'r' || (len(f) >= 6 && (f[5] == "[vvar]" || f[5] == "[vsyscall]")) {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		// Each chunk is read with the next needle-length-minus-one bytes, so
		// a value across a boundary is found; one that starts in the
		// overlap is counted with the next chunk.
		for off := start; off < end; off += chunk {
			k, _ := mem.ReadAt(buf[:min(uint64(len(buf)), end-off)], int64(off))
			data := buf[:k]
			for i, v := range n.values {
				for j := 0; ; {
					at := bytes.Index(data[j:], v)
					if at < 0 || j+at >= chunk {
						break
					}
					counts[n.names[i]]++
					j += at + 1
				}
			}
		}
	}
	return counts
}
