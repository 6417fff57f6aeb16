package browsertest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FirefoxPage is a page that runs by itself in headless Firefox and
// reports back: Firefox has no CDP to evaluate anything from the test, so
// the page does its work on load and POSTs its result, a JSON object, to
// /result ({"error": "..."} when it failed).
type FirefoxPage struct {
	// Handler serves the page at Path and whatever it loads; Run adds
	// POST /result in front of it.
	Handler http.Handler
	Path    string
	// MaxResult bounds the size of the result the page POSTs.
	MaxResult int64
	// Deadline bounds Firefox's start-up and the page's run.
	Deadline time.Duration
}

// Run serves the page on a loopback test server, opens it in headless
// Firefox, waits for the page's result and decodes it into v. It fails the
// test, with what Firefox printed, when no result comes within Deadline or
// the result's "error" is set. Firefox is stopped before the server
// closes, so no request from it outlives the test; it is returned, stopped,
// for its Output and OutsideRequests.
func (p FirefoxPage) Run(t testing.TB, v any) *Firefox {
	t.Helper()
	results := NewPageResult(p.MaxResult)
	mux := http.NewServeMux()
	mux.Handle("POST /result", results)
	mux.Handle("/", p.Handler)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ff := StartFirefox(t, srv.URL+p.Path, FirefoxOptions{})
	defer ff.Stop() // before srv.Close, also when Wait fails the test
	body := ff.Wait(t, results, p.Deadline)
	ff.Stop()
	var failed struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &failed); err != nil {
		t.Fatalf("result %q: %v", body, err)
	}
	if failed.Error != "" {
		t.Fatalf("the page failed: %s\nFirefox printed:\n%s", failed.Error, ff.Output())
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("result %q: %v", body, err)
	}
	return ff
}

// PageResult receives what a page under test POSTs when it has run: Firefox
// has no CDP to evaluate anything from the test, so the page reports by
// itself. Only the first body counts.
type PageResult struct {
	maxBytes int64
	body     chan []byte
}

// NewPageResult takes results of at most maxBytes.
func NewPageResult(maxBytes int64) *PageResult {
	return &PageResult{maxBytes: maxBytes, body: make(chan []byte, 1)}
}

// ServeHTTP takes the page's POST.
func (r *PageResult) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, r.maxBytes))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case r.body <- body:
	default: // only the first result counts
	}
}

// Wait returns the page's result. It fails the test if Firefox exits
// first, or if nothing comes within deadline, with what Firefox printed.
func (f *Firefox) Wait(t testing.TB, r *PageResult, deadline time.Duration) []byte {
	t.Helper()
	select {
	case body := <-r.body:
		return body
	case <-f.Exited():
		t.Fatalf("Firefox exited before the page reported; it printed:\n%s", f.Output())
	case <-time.After(deadline):
		t.Fatalf("no result from the page within %v; Firefox printed:\n%s", deadline, f.Output())
	}
	return nil
}
