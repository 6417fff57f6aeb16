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

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServesEveryFileInBothEncodings(t *testing.T) {
	h, err := Handler()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		want, _ := fs.ReadFile(FS, p)
		plain := get(t, h, "/"+p)
		if plain.Code != 200 || !bytes.Equal(plain.Body.Bytes(), want) || plain.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s plain: %d, %d bytes, encoding %q", p, plain.Code, plain.Body.Len(), plain.Header().Get("Content-Encoding"))
		}
		gz := get(t, h, "/"+p, "Accept-Encoding", "br, gzip")
		body := gz.Body.Bytes()
		if gz.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			body, _ = io.ReadAll(zr)
			if gz.Body.Len() >= len(want) {
				t.Errorf("%s: gzip sent although it is not smaller", p)
			}
		}
		if !bytes.Equal(body, want) {
			t.Errorf("%s gzip: content differs", p)
		}
		if gz.Header().Get("ETag") == "" || plain.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: missing ETag or Vary", p)
		}
		return nil
	})
	if err != nil || n < 20 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}

func TestHeadersAndErrors(t *testing.T) {
	h, err := Handler()
	if err != nil {
		t.Fatal(err)
	}
	root := get(t, h, "/")
	if root.Code != 200 || !strings.Contains(root.Body.String(), "<title>Sotto") || root.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("/: %d %q", root.Code, root.Header().Get("Content-Type"))
	}
	if ct := get(t, h, "/manifest.webmanifest").Header().Get("Content-Type"); ct != "application/manifest+json" {
		t.Errorf("manifest type %q", ct)
	}
	if ct := get(t, h, "/js/app.js").Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("module type %q", ct)
	}
	for _, p := range []string{"/static.go", "/js/", "/nope.html", "/js/../static.go"} {
		if c := get(t, h, p).Code; c != 404 {
			t.Errorf("%s: %d, want 404", p, c)
		}
	}
	etag := root.Header().Get("ETag")
	if c := get(t, h, "/", "If-None-Match", etag).Code; c != 304 {
		t.Errorf("revalidation: %d, want 304", c)
	}
	gzTag := get(t, h, "/", "Accept-Encoding", "gzip").Header().Get("ETag")
	if gzTag == etag {
		t.Error("the gzip and plain variants share an ETag")
	}
	if get(t, h, "/", "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
}
