package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestHTTPErrorLogHoldsNoAddress(t *testing.T) {
	var buf bytes.Buffer
	l := httpErrorLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("http: TLS handshake error from 203.0.113.5:50123: remote error: tls: unknown certificate")
	l.Printf("http: panic serving [2001:db8::1%%eth0]:443: boom")
	l.Printf("http: panic serving [::ffff:198.51.100.7]:8443: boom")
	out := buf.String()
	for _, addr := range []string{"203.0.113.5", "2001:db8", "198.51.100.7", "50123"} {
		if strings.Contains(out, addr) {
			t.Errorf("log holds %s:\n%s", addr, out)
		}
	}
	if !strings.Contains(out, `level=DEBUG msg="TLS handshake failed" reason="the client refused the certificate"`) ||
		!strings.Contains(out, `level=ERROR msg="http: panic serving a request (its value withheld)"`) || strings.Contains(out, "boom") {
		t.Errorf("log:\n%s", out)
	}
}
