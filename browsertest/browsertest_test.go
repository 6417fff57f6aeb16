package browsertest

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto/internal/testutil"
)

// TestLoopbackIsASecureContext checks the facts the browser suites rely on:
// a page on http://127.0.0.1 has WebCrypto, getUserMedia with the fake
// microphone, and encoded transforms.
func TestLoopbackIsASecureContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>t</title>"))
	}))
	defer srv.Close()
	b := Start(t, Options{FakeAudio: SpeechWAV(t, "testing one two three")})
	page := b.NewPage(t, 30*time.Second)
	if err := chromedp.Do(page, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	type facts struct {
		Secure     bool `json:"secure"`
		Subtle     bool `json:"subtle"`
		Tracks     int  `json:"tracks"`
		LegacyE2EE bool `json:"legacy"`
	}
	got, err := Eval[facts](page, `(async () => {
		const s = await navigator.mediaDevices.getUserMedia({audio: true});
		return {secure: isSecureContext, subtle: !!crypto.subtle, tracks: s.getAudioTracks().length,
			legacy: typeof RTCRtpSender.prototype.createEncodedStreams === 'function'};
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Secure || !got.Subtle || got.Tracks != 1 || !got.LegacyE2EE {
		t.Fatalf("browser facts: %+v", got)
	}
}

// TestTrustCertPinsOneKey: with Options.TrustCert, a page loads over HTTPS
// from a server with that self-signed certificate, and still refuses one
// with another self-signed certificate: the test's certificate is pinned,
// certificate errors are not ignored wholesale.
func TestTrustCertPinsOneKey(t *testing.T) {
	serve := func(pemPath string) *httptest.Server {
		cert, err := tls.LoadX509KeyPair(pemPath, pemPath)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!doctype html><title>pinned</title>"))
		}))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	trusted, _ := testutil.SelfSignedPEM(t, t.TempDir(), "127.0.0.1")
	other, _ := testutil.SelfSignedPEM(t, t.TempDir(), "127.0.0.1")
	good, bad := serve(trusted), serve(other)

	b := Start(t, Options{TrustCert: trusted})
	page := b.NewPage(t, 30*time.Second)
	if err := chromedp.Do(page, chromedp.Navigate(good.URL)); err != nil {
		t.Fatalf("the pinned certificate: %v", err)
	}
	if title, err := Eval[string](page, "document.title"); err != nil || title != "pinned" {
		t.Fatalf("the pinned server's page: title %q, %v", title, err)
	}
	err := chromedp.Do(b.NewPage(t, 30*time.Second), chromedp.Navigate(bad.URL))
	if err == nil || !strings.Contains(err.Error(), "ERR_CERT") {
		t.Fatalf("another self-signed certificate: %v, want a certificate error", err)
	}
}
