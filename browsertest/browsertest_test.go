package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
