package metrics

import (
	"bytes"
	"os"
	"strconv"
)

// registerProcFS adds the process_* families Linux keeps in /proc: memory
// from /proc/self/statm, descriptors from /proc/self/fd. A read that fails
// reports -1 rather than a plausible-looking zero.
func registerProcFS(r *Registry) {
	page := int64(os.Getpagesize())
	statm := func(field int) func() int64 {
		return func() int64 {
			b, err := os.ReadFile("/proc/self/statm")
			if err != nil {
				return -1
			}
			f := bytes.Fields(b)
			if len(f) <= field {
				return -1
			}
			n, err := strconv.ParseInt(string(f[field]), 10, 64)
			if err != nil {
				return -1
			}
			return n * page
		}
	}
	r.GaugeFunc("process_virtual_memory_bytes", "Virtual memory size in bytes.", statm(0))
	r.GaugeFunc("process_resident_memory_bytes", "Resident memory size in bytes.", statm(1))
	r.GaugeFunc("process_open_fds", "Number of open file descriptors.", func() int64 {
		d, err := os.Open("/proc/self/fd")
		if err != nil {
			return -1
		}
		defer d.Close()
		names, err := d.Readdirnames(-1)
		if err != nil {
			return -1
		}
		return int64(len(names)) - 1 // the descriptor reading the directory
	})
}
