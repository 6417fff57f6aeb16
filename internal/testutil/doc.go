// Package testutil holds the helpers that tests in several packages need:
// waiting for a condition with a deadline, the goroutine leak check, free
// loopback ports and connections from a chosen loopback address, reading a
// Prometheus metric, the sotto binary built once per test process, a clock
// the test moves (Clock), reading test-vector files (ReadJSON, Unhex), the
// tools `make deps` installs (Tool, ComposeConfig), and checking that a
// helper fails the test (CatchFatal). It is imported by
// tests only (it imports package testing); the locked buffer a test reads
// a server's output from is internal/syncbuf.
//
// Waiting is always for a condition with a deadline; a fixed sleep is
// never an assertion.
package testutil
