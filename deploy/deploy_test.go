// Package deploy holds the files operators copy (compose, systemd, Grafana,
// Prometheus alerts); this test checks each with the real tool that reads it
// and holds them to the binary and the Dockerfile, so they cannot drift.
package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sotto/internal/testutil"
)

// exposedMetrics runs the binary and returns the metric names its /metrics
// has, from the # TYPE lines.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	cmd := exec.Command(testutil.Sotto(t), "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := ""
	sc := bufio.NewScanner(stdout)
	for url == "" && sc.Scan() {
		url = regexp.MustCompile(`http://\S+/metrics`).FindString(sc.Text())
	}
	go io.Copy(io.Discard, stdout)
	if url == "" {
		t.Fatal("the binary printed no metrics address")
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	names := map[string]bool{"up": true} // Prometheus's own, per target
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllStringSubmatch(string(body), -1) {
		names[m[1]] = true
	}
	if !names["sotto_rooms"] || !names["process_cpu_seconds_total"] {
		t.Fatalf("/metrics looks wrong:\n%s", body)
	}
	return names
}

var metricRE = regexp.MustCompile(`\b((?:sotto|go|process)_[a-z_]+|up)\b`)

// TestSystemdUnit: `systemd-analyze verify` accepts the unit with no
// complaint (it exits 0 on unknown values and only prints them, so any
// output fails), and the unit keeps the hardening the README promises.
func TestSystemdUnit(t *testing.T) {
	analyze := testutil.Tool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("sotto.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "MemoryDenyWriteExecute=yes",
		"PrivateDevices=yes", "SystemCallFilter=@system-service", "ExecStart=/usr/local/bin/sotto\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("sotto.service lacks %q", want)
		}
	}
	// Nothing writable unless the ACME cache is turned on (commented out).
	for _, line := range strings.Split(string(unit), "\n") {
		if strings.HasPrefix(line, "ReadWritePaths") || strings.HasPrefix(line, "StateDirectory") || strings.HasPrefix(line, "CacheDirectory") {
			t.Errorf("sotto.service makes a path writable by default: %q", line)
		}
	}

	verify := func(text string) string {
		// verify wants ExecStart to exist: point it at a real build.
		dir := t.TempDir()
		p := filepath.Join(dir, "sotto.service")
		text = strings.Replace(text, "ExecStart=/usr/local/bin/sotto", "ExecStart="+testutil.Sotto(t), 1)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", p).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("%v: %s", err, out)
		}
		return string(out)
	}
	if out := verify(string(unit)); out != "" {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
	// The check can fail: a misspelt value is reported.
	if out := verify(strings.Replace(string(unit), "ProtectSystem=strict", "ProtectSystem=stricter", 1)); out == "" {
		t.Error("systemd-analyze verify said nothing of a bad value: the check above proves nothing")
	}
}

// TestCompose: docker-compose validates the file against its schema, and the
// service matches the image (Dockerfile): its ports, read-only with the ACME
// volume where SOTTO_ACME_CACHE points, and the domain required.
func TestCompose(t *testing.T) {
	if out, err := testutil.ComposeConfig(t, "compose.yaml"); err == nil || !strings.Contains(out, "SOTTO_ACME_DOMAIN") {
		t.Errorf("compose without SOTTO_ACME_DOMAIN: %v, %q (want a refusal naming it)", err, out)
	}
	out, err := testutil.ComposeConfig(t, "compose.yaml", "SOTTO_ACME_DOMAIN=talk.example.com", "SOTTO_PUBLIC_IP=talk.example.com")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	cfg := testutil.ParseCompose(t, out)
	s, ok := cfg.Services["sotto"]
	if !ok {
		t.Fatalf("no sotto service:\n%s", out)
	}
	if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
		t.Errorf("read_only %v, cap_drop %q: want read-only, all capabilities dropped", s.ReadOnly, s.CapDrop)
	}
	cache := s.Environment["SOTTO_ACME_CACHE"]
	if cache == "" || !strings.Contains(fmt.Sprint(s.Volumes), cache) {
		t.Errorf("SOTTO_ACME_CACHE %q is not a mounted volume (%v)", cache, s.Volumes)
	}
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	expose := regexp.MustCompile(`(?m)^EXPOSE (.+)$`).FindStringSubmatch(string(dockerfile))
	if expose == nil {
		t.Fatal("no EXPOSE in the Dockerfile")
	}
	published := map[string]bool{}
	for _, p := range s.Ports {
		if fmt.Sprint(p.Published) == fmt.Sprint(p.Target) {
			published[fmt.Sprintf("%d/%s", p.Target, p.Protocol)] = true
		}
	}
	want := strings.Fields(expose[1])
	for _, p := range want {
		if !published[p] {
			t.Errorf("the image exposes %s; compose publishes %v", p, published)
		}
	}
	if len(published) != len(want) {
		t.Errorf("compose publishes %v, the image exposes %q", published, want)
	}
}

// TestPrometheusRules: promtool accepts the alert rules and their unit tests
// pass, and every metric they name is one the binary exposes.
func TestPrometheusRules(t *testing.T) {
	promtool := testutil.Tool(t, "promtool", "prometheus")
	for _, args := range [][]string{{"check", "rules", "prometheus-alerts.yaml"}, {"test", "rules", "prometheus-alerts.test.yaml"}} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules, err := os.ReadFile("prometheus-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	have := exposedMetrics(t)
	for _, m := range metricRE.FindAllString(string(rules), -1) {
		if !have[m] {
			t.Errorf("prometheus-alerts.yaml names %s, which the binary does not expose", m)
		}
	}
}

// TestGrafanaDashboard: the dashboard is JSON Grafana can import (panels
// with targets), every query is valid PromQL (promtool checks them as
// recording rules, with the dashboard's variables filled in), and every
// metric it reads is one the binary exposes.
func TestGrafanaDashboard(t *testing.T) {
	promtool := testutil.Tool(t, "promtool", "prometheus")
	data, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) < 6 {
		t.Fatalf("dashboard %q (uid %q) with %d panels", dash.Title, dash.UID, len(dash.Panels))
	}
	vars := strings.NewReplacer("$job", "sotto", "$instance", ".*", "$__rate_interval", "5m")
	have := exposedMetrics(t)
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			n++
			q, _ := json.Marshal(vars.Replace(tg.Expr)) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", n, q)
			for _, m := range metricRE.FindAllString(tg.Expr, -1) {
				if !have[m] {
					t.Errorf("panel %q reads %s, which the binary does not expose", p.Title, m)
				}
			}
		}
	}
	f := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil {
		t.Errorf("a dashboard query is not valid PromQL: %v\n%s", err, out)
	}
}
