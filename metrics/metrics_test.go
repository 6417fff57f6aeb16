package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	var r Registry
	c := r.Counter("sotto_test_total", "A counter.")
	g := r.Gauge("sotto_test_open", "A gauge.")
	r.GaugeFunc("sotto_test_func", "A func gauge.", func() int64 { return 7 })
	r.CounterFunc("sotto_test_func_total", "A func counter.", func() uint64 { return 9 })
	v := r.CounterVec("sotto_test_by_reason_total", "By reason.", "reason", "a", "b")
	c.Add(3)
	g.Inc()
	g.Inc()
	g.Dec()
	v.With("a").Inc()
	v.With("not-in-set").Inc()
	v.With("also-not").Inc()

	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# TYPE sotto_test_total counter\nsotto_test_total 3\n",
		"# TYPE sotto_test_open gauge\nsotto_test_open 1\n",
		"sotto_test_func 7\n",
		"# TYPE sotto_test_func_total counter\nsotto_test_func_total 9\n",
		`sotto_test_by_reason_total{reason="a"} 1` + "\n",
		`sotto_test_by_reason_total{reason="b"} 0` + "\n",
		`sotto_test_by_reason_total{reason="other"} 2` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not-in-set") {
		t.Errorf("a label value outside the fixed set leaked into the output:\n%s", out)
	}
}

func TestDuplicateNamePanics(t *testing.T) {
	var r Registry
	r.Counter("x_total", "x")
	defer func() {
		if recover() == nil {
			t.Fatal("registering a name twice did not panic")
		}
	}()
	r.Counter("x_total", "x")
}
