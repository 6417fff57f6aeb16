package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
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
		_, err := dialSignaling(context.Background(), Config{}, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", func(*inMsg) {})
		srv.Close()
		if err == nil {
			t.Fatalf("HTTP %d: dialed", tc.status)
		}
		if got := errors.Is(err, ErrUnavailable); got != tc.retry {
			t.Errorf("HTTP %d: errors.Is(%v, ErrUnavailable) = %v, want %v", tc.status, err, got, tc.retry)
		}
	}
}

// The connection comes from Config.LocalAddr, and a wss:// server whose
// certificate only Config.TLS trusts is reached.
func TestDialFromLocalAddrWithTLS(t *testing.T) {
	from := make(chan string, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from <- r.RemoteAddr
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/ws"
	if _, err := dialSignaling(context.Background(), Config{}, url, func(*inMsg) {}); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("without the test CA: %v, want a certificate error", err)
	}
	cfg := Config{LocalAddr: netip.MustParseAddr("127.0.0.42"), TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	if _, err := dialSignaling(context.Background(), cfg, url, func(*inMsg) {}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("with the test CA: %v, want the server's 503", err)
	}
	if got := <-from; !strings.HasPrefix(got, "127.0.0.42:") {
		t.Errorf("connection from %s, want 127.0.0.42", got)
	}
}
