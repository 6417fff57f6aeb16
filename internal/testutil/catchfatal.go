package testutil

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// CatchFatal runs f on a goroutine of its own with a testing.TB whose
// Fatal and Fatalf end f, as testing.T's do, and returns the message f
// failed with ("" if it did not): how a test checks that a helper fails
// the test, and says why. Everything else (Cleanup, TempDir, Errorf, Log)
// goes to t.
func CatchFatal(t *testing.T, f func(testing.TB)) string {
	t.Helper()
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb.msg
}

// fatalTB records the first Fatal or Fatalf message and ends the goroutine.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = strings.TrimSuffix(fmt.Sprintln(args...), "\n") // as testing.T spaces them
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
