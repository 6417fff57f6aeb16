package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestGoAndProcessFamilies scrapes a registry with the go_* and process_*
// families and Sotto-style ones, parses it with Prometheus's own text parser,
// and checks each family is there, of its type, with a plausible value.
func TestGoAndProcessFamilies(t *testing.T) {
	var r Registry
	r.Info("sotto_build_info", "Build.", map[string]string{"version": "v1.2.3", "revision": `a"b\c`})
	r.Counter("sotto_x_total", "X.").Inc()
	r.RegisterGoAndProcess()

	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("Prometheus's parser refuses the exposition: %v\n%s", err, b.String())
	}
	for _, want := range []struct {
		name     string
		counter  bool
		min, max float64
	}{
		{"go_goroutines", false, 1, 1e6},
		{"go_threads", false, 1, 1e5},
		{"go_memstats_heap_alloc_bytes", false, 1, 1 << 40},
		{"go_memstats_heap_objects", false, 1, 1 << 40},
		{"go_memstats_sys_bytes", false, 1 << 20, 1 << 40},
		{"go_memstats_next_gc_bytes", false, 1, 1 << 40},
		{"go_memstats_alloc_bytes_total", true, 1, 1 << 50},
		{"go_gc_cycles_total", true, 0, 1 << 40},
		{"process_cpu_seconds_total", true, 1e-6, 1e7},
		{"process_start_time_seconds", false, 1.7e9, 4e9},
		{"process_max_fds", false, 3, 1 << 31},
		{"process_open_fds", false, 3, 1 << 31},
		{"process_resident_memory_bytes", false, 1 << 20, 1 << 40},
		{"process_virtual_memory_bytes", false, 1 << 20, 1 << 50},
		{"go_info", false, 1, 1},
		{"sotto_build_info", false, 1, 1},
	} {
		f, ok := families[want.name]
		if !ok {
			t.Errorf("no %s", want.name)
			continue
		}
		m := f.GetMetric()[0]
		v := m.GetGauge().GetValue()
		if want.counter {
			v = m.GetCounter().GetValue()
			if f.GetType().String() != "COUNTER" {
				t.Errorf("%s is a %s", want.name, f.GetType())
			}
		} else if f.GetType().String() != "GAUGE" {
			t.Errorf("%s is a %s", want.name, f.GetType())
		}
		if v < want.min || v > want.max {
			t.Errorf("%s = %g, want %g..%g", want.name, v, want.min, want.max)
		}
	}
	labels := map[string]string{}
	for _, l := range families["sotto_build_info"].GetMetric()[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != "v1.2.3" || labels["revision"] != `a"b\c` {
		t.Errorf("build info labels %q: want the values back, escaped and unescaped", labels)
	}
}
