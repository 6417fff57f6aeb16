package e2etest

// The rig for tests of the real binary: built once per test process
// (testutil.Sotto), started on loopback ports, its printed addresses read,
// stopped with SIGTERM and checked to exit 0.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"sotto/internal/testutil"
)

// runningBinary is the real sotto binary, running on loopback ports.
type runningBinary struct {
	cmd                  *exec.Cmd
	appAddr, metricsAddr string
	voiceUDP             string // the first UDP address voice listens on
}

var (
	listenRE = regexp.MustCompile(`http://([0-9.:]+)/`)
	voiceRE  = regexp.MustCompile(`^Voice on UDP ([0-9.:]+)`)
)

// readAddrs reads what the binary started as cmd prints on stdout until it
// has said where the app and the metrics are (from then on it accepts
// connections); an address it never printed is left empty, for the caller
// to judge. The rest of stdout is for the caller to drain.
func readAddrs(cmd *exec.Cmd, stdout io.Reader) *runningBinary {
	b := &runningBinary{cmd: cmd}
	lines := bufio.NewScanner(stdout)
	for (b.appAddr == "" || b.metricsAddr == "") && lines.Scan() {
		line := lines.Text()
		if m := voiceRE.FindStringSubmatch(line); m != nil {
			b.voiceUDP = m[1]
		}
		if m := listenRE.FindStringSubmatch(line); m != nil {
			if strings.Contains(line, "Metrics") {
				b.metricsAddr = m[1]
			} else {
				b.appAddr = m[1]
			}
		}
	}
	return b
}

// startCmd starts cmd with its stderr on the test's (unless the caller set
// one) and returns its stdout, for the caller to read and drain.
func startCmd(t testing.TB, cmd *exec.Cmd) io.Reader {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdout
}

// startBinary builds the binary once per test process (testutil.Sotto), starts it on free
// loopback ports with metrics on, and kills it when the test ends.
func startBinary(t testing.TB, args ...string) *runningBinary {
	t.Helper()
	cmd := exec.Command(testutil.Sotto(t), append([]string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	stdout := startCmd(t, cmd)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	b := readAddrs(cmd, stdout)
	if b.appAddr == "" || b.metricsAddr == "" || b.voiceUDP == "" {
		t.Fatal("the binary did not print its URLs and voice address")
	}
	go io.Copy(io.Discard, stdout)
	return b
}

// metric reads one unlabelled metric from the binary's /metrics.
func (b *runningBinary) metric(t testing.TB, name string) string {
	t.Helper()
	return testutil.Metric(t, "http://"+b.metricsAddr+"/metrics", name)
}

// launched is a sotto process whose output was read up to its "Sotto is
// running" line.
type launched struct {
	cmd   *exec.Cmd
	lines []string // stdout up to and including the "Sotto is running" line
	url   string   // what that line says to open
}

var openRE = regexp.MustCompile(`^Sotto is running.* (https?://\S+/)`)

// launch starts cmd, reads its stdout to the "Sotto is running" line, and
// kills it when the test ends (unless it has exited).
func launch(t testing.TB, cmd *exec.Cmd) *launched {
	t.Helper()
	stdout := startCmd(t, cmd)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	l := &launched{cmd: cmd}
	got := make(chan string)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			got <- lines.Text()
		}
		close(got)
	}()
	timeout := time.After(20 * time.Second)
	for l.url == "" {
		select {
		case line, ok := <-got:
			if !ok {
				t.Fatalf("the binary exited before it said where it runs: %q", l.lines)
			}
			l.lines = append(l.lines, line)
			if m := openRE.FindStringSubmatch(line); m != nil {
				l.url = m[1]
			}
		case <-timeout:
			t.Fatalf("the binary did not say where it runs: %q", l.lines)
		}
	}
	go func() {
		for range got {
		}
	}()
	return l
}

// line is the first output line containing substr.
func (l *launched) line(t testing.TB, substr string) string {
	t.Helper()
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			return s
		}
	}
	t.Fatalf("no line with %q in %q", substr, l.lines)
	return ""
}

// stop sends SIGTERM and checks that the process exits 0 in time.
func (l *launched) stop(t testing.TB) {
	t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	l.waitExit(t)
}

func (l *launched) waitExit(t testing.TB) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the binary did not exit after SIGTERM")
	}
}

var fingerprintRE = regexp.MustCompile(`fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$`)

// tlsPeer connects to hostport without verification and returns the
// certificate the server presented.
func tlsPeer(t testing.TB, hostport string) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", hostport, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// startBinaryAt starts the built binary on addr (TCP, and UDP on the same
// port) with metrics on a free port, and returns once it says where it
// listens: from then on it accepts connections. The test's end kills it.
func startBinaryAt(t testing.TB, addr string) *runningBinary {
	t.Helper()
	var last error
	// Just after a kill the port is free at once (Go listeners set
	// SO_REUSEADDR); retry briefly in case another test grabbed it.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, err := tryStartBinaryAt(t, addr)
		if err == nil {
			return b
		}
		last = err
	}
	t.Fatalf("starting the binary on %s: %v", addr, last)
	return nil
}

func tryStartBinaryAt(t testing.TB, addr string) (*runningBinary, error) {
	cmd := exec.Command(testutil.Sotto(t), "--addr", addr, "--metrics-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := readAddrs(cmd, stdout)
	if b.appAddr != addr || b.metricsAddr == "" {
		cmd.Process.Kill()
		err := cmd.Wait()
		return nil, errors.Join(fmt.Errorf("the binary printed app %q, metrics %q", b.appAddr, b.metricsAddr), err)
	}
	go io.Copy(io.Discard, stdout)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return b, nil
}
