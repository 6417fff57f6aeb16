package metrics

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Info registers a gauge that is always 1 and carries constant labels
// describing the process (the Prometheus "info" pattern, e.g.
// sotto_build_info{version="...",revision="..."}). The labels are fixed when
// it is registered, at start-up, from values the binary itself knows: a
// client can never add one or change a value.
func (r *Registry) Info(name, help string, labels map[string]string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + escapeLabel(labels[k]) + `"`
	}
	line := "{" + strings.Join(parts, ",") + "} 1\n"
	r.add(metric{name, help, "gauge", func(w io.Writer, n string) { io.WriteString(w, n+line) }})
}

// escapeLabel escapes a label value as the text format asks: backslash,
// double quote and newline, nothing else (Go's %q would also escape non-ASCII,
// which the format does not understand).
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// GaugeFloatFunc registers a gauge read from f at scrape time, for values
// that are not whole numbers (seconds since the epoch).
func (r *Registry) GaugeFloatFunc(name, help string, f func() float64) {
	r.add(metric{name, help, "gauge", func(w io.Writer, n string) { fmt.Fprintf(w, "%s %g\n", n, f()) }})
}

// CounterFloatFunc registers a counter read from f at scrape time (CPU
// seconds); f must never go down.
func (r *Registry) CounterFloatFunc(name, help string, f func() float64) {
	r.add(metric{name, help, "counter", func(w io.Writer, n string) { fmt.Fprintf(w, "%s %g\n", n, f()) }})
}
