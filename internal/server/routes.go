package server

// The app's paths and the headers every response carries.

import (
	"io"
	"net/http"
	"sync/atomic"

	"sotto/static"
)

// routes maps paths to handlers. Everything that is not an API is the app.
func routes(signaling http.Handler, shuttingDown *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", signaling)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if shuttingDown.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	app, err := static.Handler()
	if err != nil {
		panic(err) // the embedded files are fixed at build time; static's tests load them
	}
	mux.Handle("GET /", app)
	return mux
}

// securityHeaders sets the headers every response carries. The policy allows
// only this origin's own scripts, styles, workers and WebSocket.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; worker-src 'self'; "+
			"connect-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "+
			"frame-ancestors 'none'; form-action 'self'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
