package browsertest

// Driving Firefox like a user, over WebDriver BiDi: Firefox has no CDP, so
// a small Node script (bidi/driver.mjs) runs puppeteer-core against the
// system's firefox-esr and the test talks to it in line-delimited JSON over
// its stdin and stdout. The profile gets FirefoxPrefs and the same network
// tripwire as StartFirefox, so OutsideRequests means the same here. Tests
// fail, never skip, when node or puppeteer-core is missing: `make deps`
// installs both (puppeteer-core into .deps/node/, never a browser).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto/internal/syncbuf"
)

// BiDiTimeout bounds one driver request (a click waits for its element this
// long): generous, because two loaded cores can stall Firefox for seconds.
const BiDiTimeout = 60 * time.Second

// bidiStartTimeout bounds launching Firefox: a cold start on a loaded
// machine has taken 20 s.
const bidiStartTimeout = 2 * time.Minute

// bidiCloseTimeout is how long a polite close may take before Firefox and
// the driver are killed.
const bidiCloseTimeout = 10 * time.Second

// bidiPrefs are added to FirefoxPrefs for pages driven over BiDi.
func bidiPrefs() map[string]any {
	return map[string]any{
		// The microphone allowed for every site, as a user who ticked
		// "remember" would have it. Firefox offers every interface's
		// address as an ICE candidate only to a page that captures or holds
		// a stored permission, and the fake microphone does not count as
		// capturing (tried: even with its track kept enabled). Without this
		// pref the page offers only the default route's address: no
		// loopback candidate, so no media to a server on 127.0.0.1.
		"permissions.default.microphone": 1, // 1 = allow
	}
}

// BiDiFirefox is one headless firefox-esr driven over WebDriver BiDi.
type BiDiFirefox struct {
	t        testing.TB
	dir      string // the test's directory: HOME, TMPDIR, profile
	node     *exec.Cmd
	stdin    io.WriteCloser
	stderr   *syncbuf.Buffer // the driver's and Firefox's output
	tripwire *tripwire
	firefox  int // Firefox's pid; puppeteer starts it as a process group leader
	Version  string

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan bidiReply
	exited  chan struct{}
	once    sync.Once
}

type bidiReply struct {
	ID    int             `json:"id"`
	Value json.RawMessage `json:"value"`
	Error *string         `json:"error"`
}

// bidiDir returns where driver.mjs lives, and modules, where `make deps`
// puts node packages (the repository's .deps/node/node_modules).
func bidiDir() (driver, modules string) {
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self)
	return filepath.Join(dir, "bidi", "driver.mjs"), filepath.Join(dir, "..", ".deps", "node", "node_modules")
}

// requireBiDiDeps finds the node binary and checks that puppeteer-core is in
// modules, or says how to get them.
func requireBiDiDeps(node, modules string) (string, error) {
	nodeBin, err := exec.LookPath(node)
	if err != nil {
		return "", fmt.Errorf("the Firefox UI tests need node (run `make deps`): %v", err)
	}
	if _, err := os.Stat(filepath.Join(modules, "puppeteer-core", "package.json")); err != nil {
		return "", fmt.Errorf("the Firefox UI tests need puppeteer-core in %s (run `make deps`): %v", modules, err)
	}
	return nodeBin, nil
}

// StartFirefoxBiDi starts the driver and a headless firefox-esr in a fresh
// profile. Both are killed when the test ends.
func StartFirefoxBiDi(t testing.TB) *BiDiFirefox {
	t.Helper()
	if err := requireFirefox(FirefoxPath); err != nil {
		t.Fatal(err)
	}
	driver, modules := bidiDir()
	nodeBin, err := requireBiDiDeps("node", modules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tw, err := startTripwire()
	if err != nil {
		t.Fatalf("starting the network tripwire: %v", err)
	}
	t.Cleanup(tw.close)
	prefs := FirefoxPrefs()
	for _, more := range []map[string]any{bidiPrefs(), tw.prefs()} {
		for k, v := range more {
			prefs[k] = v
		}
	}
	f := &BiDiFirefox{t: t, dir: dir, stderr: &syncbuf.Buffer{}, tripwire: tw, waiting: map[int]chan bidiReply{}, exited: make(chan struct{})}
	f.node = exec.Command(nodeBin, driver, modules)
	// Puppeteer's own variables: no browser download, ever (puppeteer-core
	// has none, but the variable holds whatever else reads it), and no
	// banner about headless mode in the output.
	f.node.Env = append(os.Environ(), "PUPPETEER_SKIP_DOWNLOAD=1", "PUPPETEER_DISABLE_HEADLESS_WARNING=1")
	f.node.Stderr = f.stderr
	f.node.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if f.stdin, err = f.node.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := f.node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.node.Start(); err != nil {
		t.Fatalf("starting the BiDi driver: %v", err)
	}
	go f.read(stdout)
	t.Cleanup(f.Close)

	env := map[string]string{}
	for _, kv := range firefoxEnv(dir) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var launched struct {
		PID     int    `json:"pid"`
		Version string `json:"version"`
	}
	profile := filepath.Join(dir, "profile")
	if err := f.call(bidiStartTimeout, &launched, map[string]any{
		"op": "launch", "executablePath": FirefoxPath, "profile": profile, "prefs": prefs, "env": env,
		"timeoutMs": bidiStartTimeout.Milliseconds(),
	}); err != nil {
		t.Fatalf("launching Firefox over BiDi: %v", err)
	}
	f.firefox, f.Version = launched.PID, launched.Version
	return f
}

// read hands each reply to the request waiting for it.
func (f *BiDiFirefox) read(stdout io.Reader) {
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 64<<10), 64<<20) // recordings come back as one line
	for lines.Scan() {
		var r bidiReply
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			// Only replies belong on the driver's stdout: keep the stray
			// line where a failure's message will show it.
			fmt.Fprintf(f.stderr, "driver stdout, not a reply: %.200q\n", lines.Bytes())
			continue
		}
		f.mu.Lock()
		ch := f.waiting[r.ID]
		delete(f.waiting, r.ID)
		f.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
	f.node.Wait()
	close(f.exited)
}

// call sends one request and decodes the reply's value into out (if not nil).
func (f *BiDiFirefox) call(timeout time.Duration, out any, req map[string]any) error {
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	ch := make(chan bidiReply, 1)
	f.waiting[id] = ch
	f.mu.Unlock()
	req["id"] = id
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := f.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("%s: the driver is gone: %v", req["op"], err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: %s", req["op"], *r.Error)
		}
		if out != nil {
			return json.Unmarshal(r.Value, out)
		}
		return nil
	case <-f.exited:
		return fmt.Errorf("%s: the driver exited; it printed:\n%s", req["op"], f.tail())
	case <-time.After(timeout):
		return fmt.Errorf("%s: no answer within %v; the driver printed:\n%s", req["op"], timeout, f.tail())
	}
}

// bidiTail is how much of the driver's output a failure shows: Firefox
// prints a lot, and the end is what explains a failure.
const bidiTail = 8 << 10

func (f *BiDiFirefox) tail() string {
	s := f.stderr.String()
	if len(s) > bidiTail {
		s = "..." + s[len(s)-bidiTail:]
	}
	return s
}

// Output returns what the driver and Firefox printed so far.
func (f *BiDiFirefox) Output() string { return f.stderr.String() }

// OutsideRequests lists what Firefox tried to send beyond loopback, as
// (*Firefox).OutsideRequests does.
func (f *BiDiFirefox) OutsideRequests() []string { return f.tripwire.requests() }

// Close asks the driver to close Firefox, then kills whatever is left of
// both. It runs when the test ends; calling it earlier is fine.
func (f *BiDiFirefox) Close() {
	f.once.Do(func() {
		if err := f.call(bidiCloseTimeout, nil, map[string]any{"op": "close"}); err != nil {
			f.t.Logf("closing Firefox: %v", err)
		}
		f.stdin.Close() // the driver exits when its input ends
		select {
		case <-f.exited:
		case <-time.After(bidiCloseTimeout):
		}
		_ = syscall.Kill(-f.node.Process.Pid, syscall.SIGKILL)
		<-f.exited
		if f.firefox > 0 {
			_ = syscall.Kill(-f.firefox, syscall.SIGKILL)
			killFirefoxLeftovers(f.firefox, f.dir)
		} else {
			killFirefoxLeftovers(f.node.Process.Pid, f.dir)
		}
		if left := strays(f.dir); len(left) > 0 {
			f.t.Errorf("Firefox processes outlived the test: %v", left)
		}
	})
}
