// Package browsertest starts Debian's headless Chromium for tests that need a
// real browser: WebCrypto, WebRTC encoded transforms, audio. Tests fail (they
// never skip) when Chromium is missing: .ci/run installs it.
//
// Every person in a test gets an isolated browser context (separate storage,
// separate permissions), the way two phones would be.
package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's package's binary (apt-get install chromium).
const ChromiumPath = "/usr/bin/chromium"

// Browser is one Chromium process.
type Browser struct {
	ctx context.Context // the browser's first tab; parent of every page
}

// Options tune a Browser.
type Options struct {
	// FakeAudio is a WAV file the fake microphone plays in a loop; empty
	// means Chromium's built-in beep.
	FakeAudio string
	// TrustCert is a PEM file whose first certificate Chromium accepts
	// for HTTPS and WSS although no CA signed it: a test's self-signed
	// server (HAProxy in the cluster tests). Only that certificate's key is
	// pinned; every other certificate error still fails, as in a real
	// browser.
	TrustCert string
	// WebBluetooth turns on Web Bluetooth, which Chromium on Linux keeps
	// behind flags: navigator.bluetooth (WebBluetooth), the chooser's
	// permission kept per site (WebBluetoothNewPermissionsBackend) and
	// navigator.bluetooth.getDevices (WebBluetoothGetDevices). Tests give
	// it a simulated adapter through DevTools' BluetoothEmulation domain
	// (a browser-target domain); no real adapter is touched.
	WebBluetooth bool
}

// Start launches Chromium and stops it when the test ends.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("Chromium is required at %s (apt-get install -y chromium): %v", ChromiumPath, err)
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// The machine has no outside network: stop Chromium from trying.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "MediaRouter,OptimizationHints,Translate"),
		// Media: grant the microphone without a prompt and feed it a file.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	}
	if o.WebBluetooth {
		flags = append(flags,
			chromedp.Flag("enable-features", "WebBluetooth,WebBluetoothNewPermissionsBackend"),
			chromedp.Flag("enable-blink-features", "WebBluetoothGetDevices"))
	}
	if o.FakeAudio != "" {
		flags = append(flags, chromedp.Flag("use-file-for-fake-audio-capture", o.FakeAudio))
	}
	if o.TrustCert != "" {
		pin, err := spkiPin(o.TrustCert)
		if err != nil {
			t.Fatalf("TrustCert: %v", err)
		}
		// Chromium honours the list only with a --user-data-dir of the
		// test's own, which every Browser has.
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", pin))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the process
		t.Fatalf("starting Chromium: %v", err)
	}
	return &Browser{ctx: ctx}
}

// spkiPin is what --ignore-certificate-errors-spki-list takes for the first
// certificate in a PEM file: the base64 SHA-256 of its SubjectPublicKeyInfo.
func spkiPin(pemPath string) (string, error) {
	data, err := os.ReadFile(pemPath)
	if err != nil {
		return "", err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return "", fmt.Errorf("%s holds no certificate", pemPath)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		return base64.StdEncoding.EncodeToString(sum[:]), nil
	}
}

// NewPage opens a tab in a fresh, isolated browser context. The returned
// context is bounded by timeout.
func (b *Browser) NewPage(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a page: %v", err)
	}
	return ctx
}

// SpeechWAV speaks text with espeak-ng and converts it with sox to 48 kHz mono
// 16-bit PCM, the format Chromium's fake microphone reads. It returns the path.
func SpeechWAV(t testing.TB, text string) string {
	t.Helper()
	dir := t.TempDir()
	raw, out := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "speech.wav")
	for _, c := range [][]string{
		{"espeak-ng", "-s", "150", "-w", raw, text},
		{"sox", raw, "-r", "48000", "-c", "1", "-b", "16", out},
	} {
		if b, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s (apt-get install -y espeak-ng sox): %v\n%s", c[0], err, b)
		}
	}
	return out
}

// Eval runs a JavaScript expression, awaits it if it is a promise, and decodes
// its JSON value into T.
func Eval[T any](ctx context.Context, expr string) (T, error) {
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return v, fmt.Errorf("evaluating %.60q: %w", expr, err)
	}
	return v, nil
}
