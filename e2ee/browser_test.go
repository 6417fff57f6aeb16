package e2ee_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

// loopbackResult mirrors what testdata/browser/loopback.js returns.
type loopbackResult struct {
	RMS     float64 `json:"rms"`
	RMSLate float64 `json:"rmsLate"` // v2 rotation only: after epoch 0 was erased
	Send    struct {
		Encrypted, Passed, Dropped int
	} `json:"send"`
	Recv struct {
		Decrypted, Passed, Dropped int
	} `json:"recv"`
	Events []struct {
		Side  string `json:"side"`
		Type  string `json:"type"`
		Count int    `json:"count"`
	} `json:"events"`
	Spied struct {
		Frames     int     `json:"frames"`
		NonEmpty   int     `json:"nonEmpty"`
		KidMatches int     `json:"kidMatches"`
		FirstBytes [][]int `json:"firstBytes"`
	} `json:"spied"`
	Kid string `json:"kid"`
}

func (r loopbackResult) count(side, typ string) int {
	n := 0
	for _, e := range r.Events {
		if e.Side == side && e.Type == typ {
			n += e.Count
		}
	}
	return n
}

// Loudness thresholds from design.md §4: speech through the fake microphone is
// far above heard; a dropped frame must give true digital silence, not noise.
const (
	heardRMS   = 0.01
	silenceRMS = 1e-3
)

// TestBrowserLoopback runs the browser's E2EE module in headless Chromium:
// one RTCPeerConnection sends the fake microphone through the encrypt
// transform, another receives it through the decrypt transform, and the test
// listens to what reaches the speaker. Every API combination runs in both
// roles, since the frame format, not the API, is what crosses the network.
func TestBrowserLoopback(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/js/", http.FileServerFS(os.DirFS("../static")))
	mux.Handle("/", http.FileServerFS(os.DirFS("testdata/browser")))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b := browsertest.Start(t, browsertest.Options{FakeAudio: browsertest.SpeechWAV(t, "The quick brown fox jumps over the lazy dog. Push to talk.")})

	run := func(t *testing.T, opts string) loopbackResult {
		t.Helper()
		page := b.NewPage(t, 60*time.Second)
		if err := chromedp.Do(page, chromedp.Navigate(srv.URL+"/loopback.html")); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(page, chromedp.Poll[bool]("window.loopbackReady === true")); err != nil {
			t.Fatal(err)
		}
		res, err := browsertest.Eval[loopbackResult](page, "window.loopback("+opts+")")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	const legacy, script = `'encoded-streams'`, `'script-transform'`
	for _, c := range []struct{ name, sender, receiver string }{
		{"encoded-streams to encoded-streams", legacy, legacy},
		{"encoded-streams to script-transform", legacy, script},
		{"script-transform to encoded-streams", script, legacy},
		{"script-transform to script-transform", script, script},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, `{senderApi: `+c.sender+`, receiverApi: `+c.receiver+`}`)
			if r.Send.Encrypted < 50 || r.Recv.Decrypted < 50 {
				t.Fatalf("frames: %+v sent, %+v received", r.Send, r.Recv)
			}
			if r.RMS < heardRMS {
				t.Fatalf("decrypted audio too quiet: RMS %.5f", r.RMS)
			}
			if n := r.count("recv", "cant-decrypt"); n > 0 {
				t.Fatalf("%d frames failed to decrypt with the right key", n)
			}
		})
	}

	t.Run("wrong key gives silence", func(t *testing.T) {
		r := run(t, `{senderApi: `+legacy+`, receiverApi: `+legacy+`, receiverSecret: 2}`)
		if r.Recv.Decrypted != 0 || r.Send.Encrypted < 50 {
			t.Fatalf("frames: %+v sent, %+v received", r.Send, r.Recv)
		}
		if r.RMS >= silenceRMS {
			t.Fatalf("a receiver with the wrong key heard RMS %.5f, want digital silence", r.RMS)
		}
		if r.count("recv", "cant-decrypt") == 0 {
			t.Fatal("no cant-decrypt event reached the page")
		}
	})

	t.Run("unannounced sender is not played", func(t *testing.T) {
		r := run(t, `{senderApi: `+legacy+`, receiverApi: `+legacy+`, registerKid: false}`)
		if r.Recv.Decrypted != 0 || r.RMS >= silenceRMS {
			t.Fatalf("frames from an unannounced KID were played: %+v, RMS %.5f", r.Recv, r.RMS)
		}
		if r.count("recv", "unknown-sender") == 0 {
			t.Fatal("no unknown-sender event reached the page")
		}
	})

	// v2 (docs/keys.md): frame keys from sender keys, and a rotation in the
	// middle of the stream. After the sender switched and the receiver
	// erased epoch 0, every frame must be under epoch 1: one left under
	// epoch 0 would be an unknown-sender event, one the receiver cannot
	// open a cant-decrypt.
	for _, c := range []struct{ name, sender, receiver string }{
		{"encoded-streams", legacy, legacy},
		{"script-transform", script, script},
	} {
		t.Run("v2 sender keys and a rotation mid-stream, "+c.name, func(t *testing.T) {
			r := run(t, `{senderApi: `+c.sender+`, receiverApi: `+c.receiver+`, v2: true, rotateAtMs: 1000, listenMs: 1000, lateMs: 1000}`)
			if r.Send.Encrypted < 150 || r.Recv.Decrypted < 150 {
				t.Fatalf("frames: %+v sent, %+v received", r.Send, r.Recv)
			}
			if r.RMS < heardRMS || r.RMSLate < heardRMS {
				t.Fatalf("decrypted audio too quiet: RMS %.5f before the rotation, %.5f after epoch 0 was erased", r.RMS, r.RMSLate)
			}
			if n := r.count("recv", "cant-decrypt") + r.count("recv", "unknown-sender") + r.count("send", "cant-encrypt"); n > 0 {
				t.Fatalf("%d frames failed across the rotation: %+v", n, r.Events)
			}
			t.Logf("RMS %.4f before, %.4f after the rotation; %d frames encrypted, %d decrypted", r.RMS, r.RMSLate, r.Send.Encrypted, r.Recv.Decrypted)
		})
	}

	for _, c := range []struct{ name, sender string }{{"encoded-streams", legacy}, {"script-transform", script}} {
		t.Run("frames on the wire are SFrame from "+c.name, func(t *testing.T) {
			r := run(t, `{senderApi: `+c.sender+`, receiverApi: `+legacy+`, spy: true}`)
			if r.Spied.NonEmpty < 50 || r.Spied.KidMatches != r.Spied.NonEmpty {
				t.Fatalf("of %d non-empty frames on the wire, %d carry the sender's SFrame header (KID %s); first bytes %v",
					r.Spied.NonEmpty, r.Spied.KidMatches, r.Kid, r.Spied.FirstBytes)
			}
		})
	}
}

// v2VectorsResult is what testdata/browser/v2vectors.js reports: how many
// values were checked and every mismatch.
type v2VectorsResult struct {
	UserAgent string   `json:"userAgent"`
	Checks    int      `json:"checks"`
	Failures  []string `json:"failures"`
	Error     string   `json:"error"`
}

// v2MinChecks: every v2 vector, at least (Node counts the same checks).
const v2MinChecks = 250

// v2VectorsHandler serves the v2 vector page and what it loads: the shared
// checks (jstest/v2check.mjs), the vectors, and static/ at /static/, where
// the checks' relative imports of ../../static/js/e2ee land.
func v2VectorsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(os.DirFS("../static"))))
	mux.Handle("/e2ee/jstest/", http.StripPrefix("/e2ee/jstest/", http.FileServerFS(os.DirFS("jstest"))))
	mux.Handle("/e2ee/testdata/", http.StripPrefix("/e2ee/testdata/", http.FileServerFS(os.DirFS("testdata"))))
	mux.Handle("/", http.FileServerFS(os.DirFS("testdata/browser")))
	return mux
}

func (r v2VectorsResult) check(t *testing.T) {
	t.Helper()
	t.Logf("%s: %d checks", r.UserAgent, r.Checks)
	if r.Error != "" {
		t.Fatalf("the page failed: %s", r.Error)
	}
	if len(r.Failures) > 0 {
		t.Fatalf("%d of %d checks failed:\n%s", len(r.Failures), r.Checks, strings.Join(r.Failures, "\n"))
	}
	if r.Checks < v2MinChecks {
		t.Fatalf("only %d checks ran, want at least %d", r.Checks, v2MinChecks)
	}
}

// TestVectorsInChromium passes every v2 vector (X25519, wrap keys, key
// blobs, epoch frames, key ring sequences) in headless Chromium's WebCrypto,
// with the same checks Node runs.
func TestVectorsInChromium(t *testing.T) {
	srv := httptest.NewServer(v2VectorsHandler())
	defer srv.Close()
	b := browsertest.Start(t, browsertest.Options{})
	page := b.NewPage(t, 60*time.Second)
	if err := chromedp.Do(page, chromedp.Navigate(srv.URL+"/v2vectors.html")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(page, chromedp.Poll[bool]("window.v2Result !== undefined")); err != nil {
		t.Fatal(err)
	}
	r, err := browsertest.Eval[v2VectorsResult](page, "window.v2Result")
	if err != nil {
		t.Fatal(err)
	}
	r.check(t)
}
