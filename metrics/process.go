package metrics

// The go_* and process_* families every Go service exposes, under the names
// Prometheus's own client uses, so the usual dashboards and alerts (memory,
// goroutines, file descriptors, CPU) work unchanged. None has a label but
// go_info's version. Everything is read at scrape time; reading /proc writes
// nothing (the memory-only proof, memonly_test.go, still holds).

import (
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"time"

	"sotto/internal/procstat"
)

// startTime is when this process started, near enough: the package's init.
var startTime = time.Now()

// runtimeSamples reads the runtime/metrics values the go_* families need in
// one call (no stop-the-world, unlike runtime.ReadMemStats).
func runtimeSamples() map[string]uint64 {
	s := []metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/objects:objects"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	out := make(map[string]uint64, len(s))
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			out[x.Name] = x.Value.Uint64()
		}
	}
	return out
}

// RegisterGoAndProcess adds the go_* and process_* families to r.
func (r *Registry) RegisterGoAndProcess() {
	rt := func(name string) func() int64 {
		return func() int64 { return int64(runtimeSamples()[name]) }
	}
	rtc := func(name string) func() uint64 {
		return func() uint64 { return runtimeSamples()[name] }
	}
	r.Info("go_info", "Information about the Go environment.", map[string]string{"version": runtime.Version()})
	r.GaugeFunc("go_goroutines", "Number of goroutines that currently exist.", rt("/sched/goroutines:goroutines"))
	r.GaugeFunc("go_threads", "Number of OS threads created.", func() int64 { return int64(pprof.Lookup("threadcreate").Count()) })
	r.GaugeFunc("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", rt("/memory/classes/heap/objects:bytes"))
	r.GaugeFunc("go_memstats_heap_objects", "Number of allocated heap objects.", rt("/gc/heap/objects:objects"))
	r.GaugeFunc("go_memstats_sys_bytes", "Bytes of memory obtained from the OS.", rt("/memory/classes/total:bytes"))
	r.GaugeFunc("go_memstats_next_gc_bytes", "Heap size at which the next garbage collection cycle aims to finish.", rt("/gc/heap/goal:bytes"))
	r.CounterFunc("go_memstats_alloc_bytes_total", "Total bytes allocated on the heap, even if freed.", rtc("/gc/heap/allocs:bytes"))
	r.CounterFunc("go_gc_cycles_total", "Completed garbage collection cycles.", rtc("/gc/cycles/total:gc-cycles"))

	r.CounterFloatFunc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", cpuSeconds)
	r.GaugeFloatFunc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
		func() float64 { return float64(startTime.UnixNano()) / 1e9 })
	r.GaugeFunc("process_max_fds", "Maximum number of open file descriptors.", func() int64 {
		var l syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
			return -1
		}
		return int64(l.Cur)
	})
	registerProcFS(r)
}

func cpuSeconds() float64 {
	user, sys, err := procstat.CPUTime()
	if err != nil {
		return 0
	}
	return (user + sys).Seconds()
}
