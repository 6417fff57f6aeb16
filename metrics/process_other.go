//go:build !linux

package metrics

// registerProcFS has nothing to add where there is no /proc: the Go and CPU
// families still work.
func registerProcFS(*Registry) {}
