package e2etest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"sotto/e2ee"
	"sotto/internal/syncbuf"
	"sotto/internal/testutil"
)

// TestJSONLogsAndMetrics runs the real binary as an operator would wire it
// to a log pipeline and Prometheus: --log-format json at debug level, with
// metrics. Through a whole session (create, join, media, talk, leave) and a
// shutdown it requires that every line on stderr parses as one JSON object
// with time, level and msg; that no field, at any level, holds the room id,
// auth token, verifier, a member id or an address; and that /metrics, read
// with Prometheus's own text parser, has the go_*, process_* and
// sotto_build_info families next to Sotto's, with no such value in any label.
func TestJSONLogsAndMetrics(t *testing.T) {
	var stderr syncbuf.Buffer
	cmd := exec.Command(testutil.Sotto(t), "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "debug")
	cmd.Stderr = &stderr
	l := launch(t, cmd)
	metricsURL := regexp.MustCompile(`http://\S+/metrics`).FindString(l.line(t, "Metrics at"))
	ws := "ws" + strings.TrimPrefix(l.url, "http") + "ws"

	secret := e2ee.NewSecret()
	keys, err := e2ee.DeriveRoomKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := connectMember(ctx, t, ws, secret, "a")
	defer a.Close()
	b := connectMember(ctx, t, ws, secret, "b")
	defer b.Close()
	knowEachOther(t, a, b)
	if err := a.RequestFloor(ctx); err != nil {
		t.Fatal(err)
	}
	heard(t, a, 10, b)

	// Identifying values, as text in every encoding the server could use.
	var forbidden []string
	for _, raw := range [][]byte{keys.RoomID[:], keys.RoomAuth[:], keys.Verifier[:]} {
		forbidden = append(forbidden, base64.RawURLEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), hex.EncodeToString(raw))
	}
	forbidden = append(forbidden, a.Self(), b.Self(), "127.0.0.1")
	check := func(where, s string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(s, f) {
				t.Errorf("%s holds an identifying value (%.12s...): %s", where, f, s)
			}
		}
	}

	res, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("Prometheus's parser refuses /metrics: %v", err)
	}
	for _, name := range []string{"sotto_build_info", "sotto_rooms", "sotto_media_forwarded_packets_total",
		"go_goroutines", "go_threads", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total",
		"process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"} {
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if f := families["sotto_rooms"]; f != nil && f.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("sotto_rooms = %v during the session", f.GetMetric()[0].GetGauge().GetValue())
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				check("metric "+name, lp.GetValue())
			}
		}
	}

	if err := a.ReleaseFloor(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close()
	a.Close()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	l.waitExit(t)

	lines := 0
	msgs := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		line := sc.Text()
		lines++
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not one JSON object (%v): %q", err, line)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line lacks %q: %s", k, line)
			}
		}
		msg, _ := rec["msg"].(string)
		msgs[msg] = true
		check("log line", line)
	}
	// The shutdown is logged: the check above read real lines, not none.
	if !msgs["shutting down"] || !msgs["stopped"] {
		t.Errorf("%d log lines, without the shutdown's two: %q", lines, stderr.String())
	}
}

// TestVersion: `sotto version` and `sotto --version` (anywhere among the
// flags) print one line with the version, revision, build date and Go
// version, and exit 0; the revision given at link time (as the Dockerfile
// and `make build` give it) is the one printed.
func TestVersion(t *testing.T) {
	bin := testutil.Sotto(t)
	for _, args := range [][]string{{"version"}, {"--version"}, {"--log-level", "debug", "--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if !regexp.MustCompile(`^sotto \S+ \(revision \S+, built \S+, go1\.\d+\S* \w+/\w+\)\n$`).Match(out) {
			t.Errorf("%q printed %q", args, out)
		}
	}
	dir := t.TempDir()
	linked := dir + "/sotto"
	build := exec.Command("go", "build", "-ldflags", "-X main.buildRevision=feedface -X main.buildDate=2026-01-02T03:04:05Z", "-o", linked, "sotto") // the module's main package, from any directory
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(linked, "version").Output()
	if err != nil || !strings.Contains(string(out), "(revision feedface, built 2026-01-02T03:04:05Z, go") {
		t.Errorf("linked revision not printed: %v %q", err, out)
	}
}
