package e2etest

import (
	"bytes"
	"crypto/tls"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/testutil"
	"sotto/tlsconf"
)

// dockerfile is what TestDockerImageBinary needs from the Dockerfile.
type dockerfile struct {
	buildEnv    []string // VAR=value before `go build`
	buildArgs   []string // go build ...
	user        string   // final stage USER
	env         []string // final stage ENV, as VAR=value
	healthcheck []string // HEALTHCHECK CMD
	entrypoint  []string
	expose      []string
}

// shellWords splits a shell line into words, honouring single and double
// quotes and expanding ${NAME} (outside single quotes) from vars, which must
// name it (enough for a Dockerfile RUN line with ARGs; no escapes).
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '$' && quote != '\'' {
			end := strings.IndexRune(string(rs[i:]), '}')
			name, ok := strings.CutPrefix(string(rs[i:])[:max(end, 0)], "${")
			val, known := vars[name]
			if end < 0 || !ok || !known {
				return nil, fmt.Errorf("unsupported expansion in %q (only ${NAME} of an ARG)", s)
			}
			cur.WriteString(val)
			inWord = true
			i += len([]rune(name)) + 2
			continue
		}
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\' || r == '`' || r == ';' || r == '&' || r == '|':
			return nil, fmt.Errorf("unsupported shell syntax %q in %q", r, s)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseDockerfile reads the Dockerfile, with args as the build's
// --build-arg values (an ARG without one takes its default).
func parseDockerfile(t *testing.T, path string, args map[string]string) dockerfile {
	t.Helper()
	vars := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	stage := 0
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			stage++
			vars = map[string]string{} // ARGs are per stage
		case "ARG":
			name, def, _ := strings.Cut(rest, "=")
			if v, ok := args[name]; ok {
				def = v
			}
			vars[name] = def
		case "RUN":
			if !strings.Contains(rest, "go build") {
				continue
			}
			if d.buildArgs != nil {
				t.Fatal("more than one go build line in the Dockerfile")
			}
			words, err := shellWords(rest, vars)
			if err != nil {
				t.Fatal(err)
			}
			for len(words) > 0 && strings.Contains(words[0], "=") {
				d.buildEnv, words = append(d.buildEnv, words[0]), words[1:]
			}
			d.buildArgs = words
		case "USER":
			d.user = rest
		case "ENV":
			if stage > 1 {
				words, err := shellWords(rest, vars)
				if err != nil {
					t.Fatal(err)
				}
				d.env = append(d.env, words...)
			}
		case "EXPOSE":
			d.expose = append(d.expose, strings.Fields(rest)...)
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, "CMD ")
			if !ok || json.Unmarshal([]byte(cmd), &d.healthcheck) != nil {
				t.Fatalf("HEALTHCHECK must use the exec form CMD [...]: %q", rest)
			}
		case "ENTRYPOINT":
			if json.Unmarshal([]byte(rest), &d.entrypoint) != nil {
				t.Fatalf("ENTRYPOINT must use the exec form: %q", rest)
			}
		}
	}
	if stage != 2 {
		t.Fatalf("want a two-stage Dockerfile, found %d stages", stage)
	}
	return d
}

// traversableTempDir is os.TempDir() if every user may pass through it and
// its parents (so a binary in it can run as another user), else /tmp.
func traversableTempDir() string {
	for d := os.TempDir(); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return os.TempDir()
		}
	}
}

// TestDockerImageBinary is the container image's check without Docker. It
// builds the binary with the Dockerfile's own `go build` line (read from the
// Dockerfile, so the two cannot drift), checks that it is static, stripped
// and path-free, then runs it as the image's non-root USER from a read-only
// directory with the image's ENV (moved to loopback ports, in the LAN mode,
// --self-signed), and runs the image's HEALTHCHECK command as that user too:
// 0 while serving, 1 once SIGTERM has begun the shutdown, and the server
// exits 0.
func TestDockerImageBinary(t *testing.T) {
	// The revision and date a builder passes with --build-arg must reach
	// `sotto version` (the build context has no .git to read them from).
	const revision, date = "0123456789abcdef0123456789abcdef01234567", "2026-12-07T04:00:00Z"
	root := testutil.RepoRoot(t)
	d := parseDockerfile(t, filepath.Join(root, "Dockerfile"), map[string]string{"REVISION": revision, "BUILD_DATE": date})

	// The build line is what the issue asks for.
	if !slices.Contains(d.buildEnv, "CGO_ENABLED=0") {
		t.Errorf("build env %q lacks CGO_ENABLED=0", d.buildEnv)
	}
	if len(d.buildArgs) < 2 || d.buildArgs[0] != "go" || d.buildArgs[1] != "build" || !slices.Contains(d.buildArgs, "-trimpath") ||
		!slices.ContainsFunc(d.buildArgs, func(a string) bool { return strings.HasPrefix(a, "-ldflags=-s -w ") }) {
		t.Errorf("build line %q: want go build -trimpath -ldflags='-s -w'", d.buildArgs)
	}
	out := slices.Index(d.buildArgs, "-o")
	if out < 0 || out+1 >= len(d.buildArgs) {
		t.Fatalf("build line %q has no -o", d.buildArgs)
	}
	if !slices.Equal(d.entrypoint, []string{"/sotto"}) || !slices.Equal(d.healthcheck, []string{"/sotto", "healthcheck"}) {
		t.Errorf("ENTRYPOINT %q, HEALTHCHECK %q", d.entrypoint, d.healthcheck)
	}
	uidStr, gidStr, _ := strings.Cut(d.user, ":")
	uid, err1 := strconv.Atoi(uidStr)
	gid, err2 := strconv.Atoi(gidStr)
	if err1 != nil || err2 != nil || uid == 0 || gid == 0 {
		t.Fatalf("USER %q: want a numeric non-root uid:gid", d.user)
	}
	imageEnv := map[string]string{}
	for _, kv := range d.env {
		k, v, _ := strings.Cut(kv, "=")
		imageEnv[k] = v
	}
	_, port, _ := net.SplitHostPort(imageEnv["SOTTO_ADDR"])
	if port == "" || !slices.Contains(d.expose, port+"/tcp") || !slices.Contains(d.expose, port+"/udp") {
		t.Errorf("SOTTO_ADDR=%q but EXPOSE %q", imageEnv["SOTTO_ADDR"], d.expose)
	}

	// Build into a directory the non-root user can read.
	dir, err := os.MkdirTemp(traversableTempDir(), "sotto-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sotto")
	args := slices.Clone(d.buildArgs)
	args[out+1] = bin
	build := exec.Command(args[0], args[1:]...)
	build.Dir = root // the Dockerfile builds "." in the build context, the repository
	build.Env = append(os.Environ(), d.buildEnv...)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}

	if v, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(v), "revision "+revision+", built "+date) {
		t.Errorf("sotto version: %v, %q: want the revision and date passed as build args", err, v)
	}

	// Static, stripped, and without this machine's paths.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("needs shared libraries %q", libs)
	}
	for _, name := range []string{".symtab", ".debug_info"} {
		if f.Section(name) != nil {
			t.Errorf("section %s present: not stripped (-s -w)", name)
		}
	}
	f.Close()
	raw, _ := os.ReadFile(bin)
	if bytes.Contains(raw, []byte(root)) {
		t.Errorf("the binary holds the build directory %s (-trimpath)", root)
	}

	// As the image's user, from a directory nobody can write to, with the
	// image's environment only, moved to loopback and TLS made at start.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	} else {
		t.Logf("not root: running as uid %d, already not root", os.Geteuid())
	}
	work, err := os.MkdirTemp(traversableTempDir(), "sotto-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(work, 0o755); os.RemoveAll(work) })
	os.Chmod(work, 0o555)
	port = testutil.FreePort(t)
	imageEnv["SOTTO_ADDR"] = "127.0.0.1:" + port
	if _, ok := imageEnv["SOTTO_UDP_PORT"]; ok {
		imageEnv["SOTTO_UDP_PORT"] = port
	}
	imageEnv["SOTTO_SELF_SIGNED"] = "true" // README's LAN command
	var env []string
	for k, v := range imageEnv {
		env = append(env, k+"="+v)
	}
	command := func(args ...string) *exec.Cmd {
		if args[0] == "/sotto" {
			args[0] = bin
		}
		c := exec.Command(args[0], args[1:]...)
		c.Env, c.Dir = env, work
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return c
	}
	healthcheck := func() (int, string) {
		c := command(slices.Clone(d.healthcheck)...)
		b, err := c.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, string(b)
		case errors.As(err, &exit):
			return exit.ExitCode(), string(b)
		}
		t.Fatalf("healthcheck: %v", err)
		return -1, ""
	}

	l := launch(t, command(slices.Clone(d.entrypoint)...))
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", l.cmd.Process.Pid)); err == nil {
		want := fmt.Sprintf("Uid:\t%d\t%d", os.Geteuid(), os.Geteuid())
		if cred != nil {
			want = fmt.Sprintf("Uid:\t%d\t%d", uid, uid)
		}
		if !strings.Contains(string(status), want) {
			t.Errorf("process status lacks %q", want)
		}
	}
	m := fingerprintRE.FindStringSubmatch(l.line(t, "fingerprint"))
	if m == nil || tlsconf.Fingerprint(tlsPeer(t, "127.0.0.1:"+port).Raw) != m[1] {
		t.Fatalf("fingerprint line %q does not match the served certificate", m)
	}
	if code, out := healthcheck(); code != 0 {
		t.Fatalf("healthcheck while serving: exit %d\n%s", code, out)
	}

	// A WebSocket client that never answers the close frame holds the
	// shutdown open (for signal's close grace), with /readyz at 503.
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	ws, _, err := dialer.Dial("wss://127.0.0.1:"+port+"/ws", http.Header{"Sec-WebSocket-Protocol": {"sotto.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	saw503 := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !saw503; {
		code, out := healthcheck()
		saw503 = code == 1 && strings.Contains(out, "503")
		if code != 0 && !saw503 {
			t.Logf("healthcheck during shutdown: exit %d %s", code, out)
		}
	}
	if !saw503 {
		t.Error("the healthcheck never reported 503 during the shutdown")
	}
	l.waitExit(t)
	if code, out := healthcheck(); code != 1 {
		t.Fatalf("healthcheck with the server gone: exit %d, want 1\n%s", code, out)
	}
}
