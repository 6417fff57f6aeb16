// Package metrics writes Prometheus text-format metrics without a client library.
//
// Labels come only from fixed sets declared when a vector is made: a value not
// in the set is counted under "other". That rule is what keeps room ids, codes,
// addresses and member ids out of metrics whatever a caller passes in.
package metrics

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// OtherLabel collects values outside a vector's fixed set.
const OtherLabel = "other"

// Counter only goes up.
type Counter struct{ v atomic.Uint64 }

func (c *Counter) Inc()          { c.v.Add(1) }
func (c *Counter) Add(n uint64)  { c.v.Add(n) }
func (c *Counter) Value() uint64 { return c.v.Load() }

// Gauge goes up and down.
type Gauge struct{ v atomic.Int64 }

func (g *Gauge) Inc()         { g.v.Add(1) }
func (g *Gauge) Dec()         { g.v.Add(-1) }
func (g *Gauge) Set(n int64)  { g.v.Store(n) }
func (g *Gauge) Value() int64 { return g.v.Load() }

// CounterVec is a counter per value of one label, from a fixed set.
type CounterVec struct {
	label    string
	counters map[string]*Counter
	values   []string // sorted, for stable output
}

// With returns the counter for value, or the "other" counter if value is not
// in the fixed set.
func (v *CounterVec) With(value string) *Counter {
	if c, ok := v.counters[value]; ok {
		return c
	}
	return v.counters[OtherLabel]
}

type metric struct {
	name, help, kind string
	write            func(w io.Writer, name string)
}

// Registry holds the metrics one process exposes.
type Registry struct {
	mu      sync.Mutex
	metrics []metric
}

func (r *Registry) add(m metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.metrics {
		if o.name == m.name {
			panic("metrics: duplicate metric " + m.name) // a programming error, found at start-up
		}
	}
	r.metrics = append(r.metrics, m)
}

// Counter registers a counter.
func (r *Registry) Counter(name, help string) *Counter {
	c := &Counter{}
	r.add(metric{name, help, "counter", func(w io.Writer, n string) { fmt.Fprintf(w, "%s %d\n", n, c.Value()) }})
	return c
}

// Gauge registers a gauge the caller sets.
func (r *Registry) Gauge(name, help string) *Gauge {
	g := &Gauge{}
	r.add(metric{name, help, "gauge", func(w io.Writer, n string) { fmt.Fprintf(w, "%s %d\n", n, g.Value()) }})
	return g
}

// GaugeFunc registers a gauge read from f at scrape time.
func (r *Registry) GaugeFunc(name, help string, f func() int64) {
	r.add(metric{name, help, "gauge", func(w io.Writer, n string) { fmt.Fprintf(w, "%s %d\n", n, f()) }})
}

// CounterFunc registers a counter read from f at scrape time; f must never
// go down.
func (r *Registry) CounterFunc(name, help string, f func() uint64) {
	r.add(metric{name, help, "counter", func(w io.Writer, n string) { fmt.Fprintf(w, "%s %d\n", n, f()) }})
}

// CounterVec registers a counter per value of label. values is the whole,
// fixed set; "other" is added to it.
func (r *Registry) CounterVec(name, help, label string, values ...string) *CounterVec {
	v := &CounterVec{label: label, counters: make(map[string]*Counter)}
	for _, val := range append(values, OtherLabel) {
		if _, dup := v.counters[val]; dup {
			continue
		}
		v.counters[val] = &Counter{}
		v.values = append(v.values, val)
	}
	sort.Strings(v.values)
	r.add(metric{name, help, "counter", func(w io.Writer, n string) {
		for _, val := range v.values {
			fmt.Fprintf(w, "%s{%s=%q} %d\n", n, v.label, val, v.counters[val].Value())
		}
	}})
	return v
}

// WriteTo writes every metric in the Prometheus text exposition format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	ms := append([]metric(nil), r.metrics...)
	r.mu.Unlock()
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		m.write(&b, m.name)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
