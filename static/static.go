// Package static is the web app, embedded in the binary, and the handler that
// serves it. The app itself is plain files (HTML, CSS, ES modules); this is
// the only Go file here, and it is not embedded.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// vendor is embedded with all: because vendored packages keep their file
// names, and @noble/hashes has modules named _md.js and _u64.js, which a
// plain directory pattern would leave out.
//
//go:embed index.html offline.html manifest.webmanifest sw.js css icons js all:vendor
var files embed.FS

// FS is the app's files, rooted at the app's top directory.
var FS fs.FS = files

// contentTypes names the types the app uses, so that no response depends on
// the host's MIME tables (Go has no entry for .webmanifest, for one).
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".md":          "text/plain; charset=utf-8",
	"":             "text/plain; charset=utf-8", // LICENSE
}

// asset is one file, ready to send in either encoding.
type asset struct {
	contentType string
	plain       []byte
	gz          []byte // nil when compression does not make it smaller
	etag        string // of the plain bytes; the gzip variant gets its own
}

// Handler serves the app. Every file is read and gzip-compressed once, when
// the handler is made: the app is small (about 120 KB), and compressing at
// start costs nothing per request. Each response carries a strong ETag and
// "Cache-Control: no-cache", so a browser revalidates every file on every
// load (cheap 304s) and never runs a stale mix of modules after an upgrade;
// the service worker keeps the shell for offline use.
func Handler() (http.Handler, error) {
	assets := map[string]*asset{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		ext := path.Ext(p)
		ct, ok := contentTypes[ext]
		if !ok {
			return fmt.Errorf("static: %s: no content type for %q files", p, ext)
		}
		sum := sha256.Sum256(b)
		a := &asset{contentType: ct, plain: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		if gz := compress(b); len(gz) < len(b) {
			a.gz = gz
		}
		assets["/"+p] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		if p == "/" {
			p = "/index.html"
		}
		a, ok := assets[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, etag := a.plain, a.etag
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Add("Vary", "Accept-Encoding")
		if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", etag)
		if matchesETag(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(body)
	}), nil
}

func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (a "gzip;q=0" refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func matchesETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
