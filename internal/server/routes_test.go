package server

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestReadyzFlipsWhileShuttingDown(t *testing.T) {
	var shuttingDown atomic.Bool
	h := routes(http.NotFoundHandler(), &shuttingDown)
	check := func(want int) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != want {
			t.Fatalf("/readyz = %d, want %d", rec.Code, want)
		}
	}
	check(200)
	shuttingDown.Store(true)
	check(503)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("/healthz must stay 200 while draining, got %d", rec.Code)
	}
}
