package e2etest

// The app in a real browser, against the real binary: headless Chromium (one
// isolated browser context per person) whose fake microphone plays a speech
// WAV, driven by role and accessible name the way a screen reader sees it.

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
	"sotto/e2ee"
)

// TestAppInBrowser is the whole story on the real binary: a creator makes a
// room and talks, a member who opened the invite link hears the speech and
// hears silence when nobody talks, a second presser is told busy and is not
// heard, everyone leaves and the room is gone, and at no point did the secret
// leave the browsers.
func TestAppInBrowser(t *testing.T) {
	app := startApp(t)
	srv, source, log := app.srv, app.source, app.log
	alice := app.creator("Alice")
	invite := alice.find("textbox", "Invite link").Value
	_, frag, ok := strings.Cut(invite, "#")
	if !ok {
		t.Fatalf("invite link %q has no fragment", invite)
	}
	secret, err := e2ee.ParseFragment(frag)
	if err != nil {
		t.Fatalf("invite link: %v", err)
	}
	// The room code is the nameplate and a password part (docs/security.md §11).
	// It is worked out asynchronously (WebCrypto) once the nameplate is known.
	alice.waitFor("the room code", 10*time.Second, func() bool {
		code := alice.find("textbox", "Room code").Value
		return strings.HasPrefix(code, alice.state().Nameplate+"-") && len(code) == len(alice.state().Nameplate)+9
	})

	bob := app.person("Bob", invite)
	carol := app.person("Carol", invite)
	for _, p := range []*person{bob, carol} {
		if href := p.eval("location.href"); strings.Contains(href, "#") {
			t.Fatalf("%s: the fragment stayed in the address bar: %q", p.name, href)
		}
		p.enter()
	}
	everyone := []*person{alice, bob, carol}
	for _, p := range everyone {
		p.waitFor("three named members", 20*time.Second, func() bool {
			return slices.Equal(memberNames(p.state()), []string{"Alice", "Bob", "Carol"})
		})
	}
	if got := srv.metric(t, "sotto_rooms"); got != "1" {
		t.Fatalf("sotto_rooms %s with one room open", got)
	}

	bob.listen()
	if rms := bob.waitSilent(10 * time.Second); rms >= silentRMS {
		t.Fatalf("nobody holds the floor, yet Bob hears RMS %.5f", rms)
	}

	// Alice holds the button and talks.
	aliceTalk := alice.find("button", "Hold to talk")
	if err := aliceTalk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	if pressed := alice.eval(`document.activeElement?.getAttribute('aria-pressed') ?? [...document.querySelectorAll('[aria-pressed]')].map((e) => e.getAttribute('aria-pressed')).join()`); !strings.Contains(pressed, "true") {
		t.Fatalf("the held button is not aria-pressed: %q", pressed)
	}

	// Carol presses too: busy, not granted.
	carolTalk := carol.find("button", "Hold to talk")
	if err := carolTalk.Press(); err != nil {
		t.Fatal(err)
	}
	carol.waitFor("the busy state", 10*time.Second, func() bool {
		return carol.eval(`document.getElementById('talk').dataset.state`) == "busy"
	})
	if carol.state().Floor.Mine {
		t.Fatal("Carol got the floor while Alice held it")
	}

	// Up to three recordings, as in talkUntilHeard: on a loaded machine the
	// jitter buffer may step its delay mid-recording, which smears windows.
	for try := 1; ; try++ {
		rec := bob.record(8 * time.Second)
		corr := browsertest.WindowedCorrelation(source, rec)
		t.Logf("try %d: Bob heard Alice: median correlation %.2f over %d speech windows, RMS %.4f; windows %.2f", try, browsertest.Median(corr), len(corr), browsertest.RMS(rec), corr)
		if len(corr) >= 8 && browsertest.Median(corr) > heardCorrelation {
			break
		}
		if try == 3 {
			t.Fatalf("Bob did not hear Alice's speech: median correlation %.2f over %d windows", browsertest.Median(corr), len(corr))
		}
	}
	if who := bob.eval(`document.querySelector('[role="status"]').textContent`); !strings.Contains(who, "Alice") {
		t.Fatalf("Bob's status line does not say Alice is talking: %q", who)
	}

	// Alice lets go while Carol still holds her button: Carol's request was
	// refused, so nobody talks and Bob hears nothing.
	if err := aliceTalk.Release(); err != nil {
		t.Fatal(err)
	}
	bob.waitFor("the floor to come free", 10*time.Second, func() bool { return bob.state().Floor.Holder == "" })
	if rms := bob.waitSilent(10 * time.Second); rms >= silentRMS {
		t.Fatalf("after Alice let go, with Carol's busy press still held, Bob hears RMS %.5f", rms)
	}
	if carol.state().Floor.Mine {
		t.Fatal("Carol's refused press turned into the floor")
	}
	if err := carolTalk.Release(); err != nil {
		t.Fatal(err)
	}

	// Everyone leaves: the server forgets the room.
	for _, p := range everyone {
		p.click("button", "Leave")
		p.waitFor("home", 10*time.Second, func() bool { return p.state().Screen == "home" })
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.metric(t, "sotto_rooms") != "0" || srv.metric(t, "sotto_members") != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("after everyone left: sotto_rooms %s, sotto_members %s", srv.metric(t, "sotto_rooms"), srv.metric(t, "sotto_members"))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The secret never left the browsers, in any form, and is not kept where
	// it would outlive the tab.
	keys, err := e2ee.DeriveRoomKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]string{"the invite link": invite, "the fragment": frag}
	for what, b := range map[string][]byte{"S": secret, "the signal key": keys.Signal[:], "the media key": keys.Media[:]} {
		forbidden[what+" (base64url)"] = base64.RawURLEncoding.EncodeToString(b)
		forbidden[what+" (base64)"] = base64.RawStdEncoding.EncodeToString(b)
		forbidden[what+" (hex)"] = hex.EncodeToString(b)
	}
	log.mu.Lock()
	items := slices.Clone(log.items)
	pageErrors := slices.Clone(log.errors)
	log.mu.Unlock()
	// The app runs under its strict CSP without a single violation, and
	// without any other error the browser logged.
	for _, e := range pageErrors {
		t.Errorf("a page logged an error: %s", e)
	}
	var wsFrames int
	for _, it := range items {
		if strings.HasPrefix(it, "ws-sent") {
			wsFrames++
		}
		for what, f := range forbidden {
			if strings.Contains(strings.ToLower(it), strings.ToLower(f)) {
				t.Errorf("%s left a browser: %.120s", what, it)
			}
		}
	}
	if wsFrames < 10 {
		t.Fatalf("only %d WebSocket frames were seen: the network log is not working", wsFrames)
	}
	for _, p := range everyone {
		stored := p.eval(`JSON.stringify({local: {...localStorage}, cookie: document.cookie})`)
		for what, f := range forbidden {
			if strings.Contains(strings.ToLower(stored), strings.ToLower(f)) {
				t.Errorf("%s: %s is kept in localStorage or a cookie", p.name, what)
			}
		}
	}
}

// BenchmarkPressToHear measures the time from "Hold to talk" going down at
// the talker to sound at the listener's speaker, on loopback, over 12 presses.
// The fake microphone plays a steady tone, so sound starts the moment audio
// flows. Run: go test -run '^$' -bench PressToHear -benchtime 1x ./e2etest/
func BenchmarkPressToHear(b *testing.B) {
	const presses = 12
	srv := startBinary(b)
	tone := toneWAV(b)
	br := browsertest.Start(b, browsertest.Options{FakeAudio: tone})
	log := &netLog{}
	alice, bob := newPerson(b, br, log, "Alice"), newPerson(b, br, log, "Bob")
	if err := chromedp.Do(alice.page, chromedp.Navigate("http://"+srv.appAddr+"/")); err != nil {
		b.Fatal(err)
	}
	alice.click("button", "Create room")
	alice.enter()
	if err := chromedp.Do(bob.page, chromedp.Navigate(alice.find("textbox", "Invite link").Value)); err != nil {
		b.Fatal(err)
	}
	bob.enter()
	bob.listen()
	talk := alice.find("button", "Hold to talk")

	var lat []float64
	b.ResetTimer()
	for range b.N {
		lat = lat[:0]
		for range presses {
			if rms := bob.waitSilent(10 * time.Second); rms >= silentRMS {
				b.Fatalf("no silence between presses: RMS %.5f", rms)
			}
			if err := browsertest.ArmOnset(bob.page, onsetRMS); err != nil {
				b.Fatal(err)
			}
			down := float64(time.Now().UnixNano()) / 1e6
			if err := talk.Press(); err != nil {
				b.Fatal(err)
			}
			onset := bob.waitOnset(time.Now().Add(10 * time.Second))
			if onset == 0 {
				b.Fatal("Bob never heard the press")
			}
			lat = append(lat, onset-down)
			time.Sleep(300 * time.Millisecond) // a short word
			if err := talk.Release(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	p := func(q float64) float64 { return lat[int(math.Ceil(q*float64(len(lat))))-1] }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
	b.ReportMetric(lat[0], "min-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	b.Logf("press-to-hear over %d presses, ms: %.0f", len(lat), lat)
}

// toneWAV makes a steady 440 Hz tone, the same format as SpeechWAV.
func toneWAV(t testing.TB) string {
	t.Helper()
	out := t.TempDir() + "/tone.wav"
	if b, err := exec.Command("sox", "-n", "-r", "48000", "-c", "1", "-b", "16", out, "synth", "10", "sine", "440", "vol", "0.3").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	return out
}

// BenchmarkFirstLoad measures what a first visit transfers, as Chromium counts
// it (encodedDataLength: compressed bodies plus headers), for the page and
// everything it loads until the network is quiet. The service worker's own
// precache fetches run in another target and are not in this figure; see
// scripts/shell-size.sh for the file-by-file count that includes them.
// Run: go test -run '^$' -bench FirstLoad -benchtime 1x ./e2etest/
func BenchmarkFirstLoad(b *testing.B) {
	srv := startBinary(b)
	br := browsertest.Start(b, browsertest.Options{})
	for range b.N {
		page := br.NewPage(b, time.Minute)
		if _, err := chromedp.Call(page, network.Enable, network.EnableParams{}); err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var total float64
		var files, gzipped int
		urls := map[network.RequestID]string{}
		last := time.Now()
		chromedp.Listen(page, func(ev any) {
			mu.Lock()
			defer mu.Unlock()
			switch e := ev.(type) {
			case *network.EventResponseReceived:
				urls[e.RequestID] = e.Response.URL
				if v, _ := e.Response.Headers["Content-Encoding"].(string); v == "gzip" {
					gzipped++
				}
			case *network.EventLoadingFinished:
				total += e.EncodedDataLength
				files++
				last = time.Now()
			}
		})
		if err := chromedp.Do(page, chromedp.Navigate("http://"+srv.appAddr+"/")); err != nil {
			b.Fatal(err)
		}
		for { // quiet for a second: nothing more is coming
			time.Sleep(200 * time.Millisecond)
			mu.Lock()
			quiet := time.Since(last) > time.Second
			mu.Unlock()
			if quiet {
				break
			}
		}
		mu.Lock()
		b.ReportMetric(total/1024, "KB")
		b.ReportMetric(float64(files), "files")
		b.Logf("first load: %.1f KB in %d responses, %d of them gzip", total/1024, files, gzipped)
		mu.Unlock()
	}
}
