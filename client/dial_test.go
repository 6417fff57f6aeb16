package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A WebSocket refused with 503 or 429 is ErrUnavailable, for the caller to
// dial again; other refusals are not.
func TestDialRefusalRetryable(t *testing.T) {
	for _, tc := range []struct {
		status int
		retry  bool
	}{
		{http.StatusServiceUnavailable, true},
		{http.StatusTooManyRequests, true},
		{http.StatusBadRequest, false},
		{http.StatusForbidden, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", tc.status)
		}))
		_, err := dialSignaling(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", func(*inMsg) {})
		srv.Close()
		if err == nil {
			t.Fatalf("HTTP %d: dialed", tc.status)
		}
		if got := errors.Is(err, ErrUnavailable); got != tc.retry {
			t.Errorf("HTTP %d: errors.Is(%v, ErrUnavailable) = %v, want %v", tc.status, err, got, tc.retry)
		}
	}
}
