package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzStaticRequest feeds arbitrary methods, paths, Accept-Encoding and
// If-None-Match headers to the app's file handler. It must not panic, must
// answer 200, 304, 404 or 405, and a 200 must be exactly one embedded file,
// plain or gzip-compressed (never anything outside the embedded set, and
// never gzip to a client that refused it). Seeds are in
// testdata/fuzz/FuzzStaticRequest.
func FuzzStaticRequest(f *testing.F) {
	h, err := Handler()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, acceptEncoding, ifNoneMatch string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Method = method
		r.URL.Path = path
		r.Header.Set("Accept-Encoding", acceptEncoding)
		r.Header.Set("If-None-Match", ifNoneMatch)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
		case http.StatusNotModified, http.StatusNotFound, http.StatusMethodNotAllowed:
			return
		default:
			t.Fatalf("status %d", w.Code)
		}
		if method != http.MethodGet && method != http.MethodHead {
			t.Fatalf("%q answered 200", method)
		}
		name := strings.TrimPrefix(path, "/")
		if path == "/" {
			name = "index.html"
		}
		want, err := fs.ReadFile(FS, name)
		if err != nil || !strings.HasPrefix(path, "/") {
			t.Fatalf("200 for %q, which is no embedded file", path)
		}
		if method == http.MethodHead {
			if w.Body.Len() != 0 {
				t.Fatal("HEAD with a body")
			}
			return
		}
		body := w.Body.Bytes()
		if w.Header().Get("Content-Encoding") == "gzip" {
			if !acceptsGzip(acceptEncoding) {
				t.Fatalf("gzip for Accept-Encoding %q", acceptEncoding)
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("%q: the body is not the file", path)
		}
	})
}
