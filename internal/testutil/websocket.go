package testutil

import (
	"errors"
	"testing"

	"github.com/gorilla/websocket"
)

// ExpectClose calls next, which reads one WebSocket message and judges it,
// until it returns an error, and fails the test unless that error is the
// server closing the connection with code want (a flood's 1008, say).
func ExpectClose(t testing.TB, want int, next func() error) {
	t.Helper()
	for {
		err := next()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatal(err)
		}
		if ce.Code != want {
			t.Fatalf("close %d, want %d", ce.Code, want)
		}
		return
	}
}
