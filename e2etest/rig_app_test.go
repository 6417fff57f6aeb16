package e2etest

// The rig for tests of the app in a real browser: the binary and headless
// Chromium, one page a person, driven by role and accessible name the way a
// screen reader sees it, with a log of everything the pages sent.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

// Thresholds from design.md §4.
const (
	heardCorrelation = 0.6  // median windowed correlation with the source speech
	silentRMS        = 1e-3 // digital silence, not noise
	pageTimeout      = 3 * time.Minute
)

// onsetRMS is the loudness (RMS of one 256-sample block) at which a recorder
// counts sound as having started (browsertest.ArmOnset): ten times digital
// silence, far below the fake microphone's speech.
const onsetRMS = 0.01

const testSpeech = "Hello from Sotto. This is a private push to talk room. " +
	"The quick brown fox jumps over the lazy dog, and nobody else can hear it."

// netLog keeps everything that left or reached every page: request URLs and
// headers, WebSocket URLs, handshakes and frames.
type netLog struct {
	mu     sync.Mutex
	items  []string
	errors []string // the pages' console and browser log errors
}

func (l *netLog) add(kind, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, kind+": "+s)
}

func (l *netLog) watch(t testing.TB, page context.Context) {
	t.Helper()
	if _, err := chromedp.Call(page, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(page, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	headers := func(kind string, h network.Headers) {
		for k, v := range h {
			l.add(kind, fmt.Sprintf("%s: %v", k, v))
		}
	}
	chromedp.Listen(page, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			// Request.URL is what goes on the wire; CDP reports the
			// fragment, which browsers never send, apart in URLFragment.
			l.add("url", e.Request.URL)
			if e.Request.URLFragment != "" {
				l.add("fragment-kept-in-browser", "")
			}
			headers("header", e.Request.Headers)
			if e.Request.HasPostData {
				for _, d := range e.Request.PostDataEntries {
					l.add("body", string(d.Bytes))
				}
			}
		case *network.EventRequestWillBeSentExtraInfo:
			headers("header", e.Headers)
		case *network.EventWebSocketCreated:
			l.add("ws-url", e.URL)
		case *network.EventWebSocketWillSendHandshakeRequest:
			headers("ws-header", e.Request.Headers)
		case *network.EventWebSocketFrameSent:
			l.add("ws-sent", string(e.Response.PayloadData))
		case *network.EventWebSocketFrameReceived:
			l.add("ws-received", string(e.Response.PayloadData))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				l.mu.Lock()
				l.errors = append(l.errors, fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL))
				l.mu.Unlock()
			}
		}
	})
}

// person is one browser context: a phone.
type person struct {
	t    testing.TB
	name string
	page context.Context
}

type appState struct {
	Screen     string `json:"screen"`
	Connection string `json:"connection"`
	Self       string `json:"self"`
	Members    []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"members"`
	Floor struct {
		Holder string `json:"holder"`
		Mine   bool   `json:"mine"`
	} `json:"floor"`
	Nameplate string `json:"nameplate"`
}

func (p *person) state() appState {
	p.t.Helper()
	s, err := browsertest.Eval[appState](p.page, "window.sottoState()")
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return s
}

// waitFor polls cond until it holds or timeout passes.
func (p *person) waitFor(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: timed out waiting for %s; state %+v", p.name, what, p.state())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *person) find(role, name string) *browsertest.Element {
	p.t.Helper()
	e, err := browsertest.WaitFind(p.page, role, name, 20*time.Second)
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return e
}

func (p *person) click(role, name string) {
	p.t.Helper()
	if err := p.find(role, name).Click(); err != nil {
		p.t.Fatalf("%s: clicking %q: %v", p.name, name, err)
	}
}

func (p *person) eval(expr string) string {
	p.t.Helper()
	v, err := browsertest.Eval[string](p.page, expr)
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return v
}

// clickEnter types the person's name and clicks "Enter room" once it is
// enabled, without waiting for what follows.
func (p *person) clickEnter() {
	p.t.Helper()
	if err := p.find("textbox", "Your name").Type(p.name); err != nil {
		p.t.Fatal(err)
	}
	p.waitFor(`"Enter room" enabled`, 20*time.Second, func() bool {
		return p.eval(`String([...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Enter room')?.disabled)`) == "false"
	})
	p.click("button", "Enter room")
}

// enter goes through the lobby: types the name, waits for the microphone
// check to enable "Enter room", and waits until the room is connected.
func (p *person) enter() {
	p.t.Helper()
	p.clickEnter()
	p.waitFor("a connected room", 30*time.Second, func() bool {
		s := p.state()
		return s.Screen == "room" && s.Connection == "connected" && s.Self != ""
	})
}

// listen installs the recorder on the page's remote audio.
func (p *person) listen() {
	p.t.Helper()
	p.waitFor("remote audio", 30*time.Second, func() bool {
		ok, err := browsertest.InstallRecorder(p.page)
		if err != nil {
			p.t.Fatal(err)
		}
		return ok
	})
}

// onsetPoll is how often waitOnset asks the page: a small part of the
// press-to-hear time it measures.
const onsetPoll = 10 * time.Millisecond

// waitOnset waits until p's recorder, armed by browsertest.ArmOnset, notes
// sound, and returns when that sound started (Unix ms), or 0 if none came
// by deadline.
func (p *person) waitOnset(deadline time.Time) float64 {
	p.t.Helper()
	for time.Now().Before(deadline) {
		at, err := browsertest.Onset(p.page)
		if err != nil {
			p.t.Fatalf("%s: %v", p.name, err)
		}
		if at > 0 {
			return at
		}
		time.Sleep(onsetPoll)
	}
	return 0
}

// record returns what the page's speaker played for d.
func (p *person) record(d time.Duration) []float32 {
	p.t.Helper()
	if err := browsertest.StartRecording(p.page); err != nil {
		p.t.Fatal(err)
	}
	time.Sleep(d) // collecting samples, not asserting on time
	rec, err := browsertest.StopRecording(p.page)
	if err != nil {
		p.t.Fatal(err)
	}
	return rec
}

// waitSilent records in 1 s pieces until one is digitally silent. Right after
// a talker stops, the jitter buffer may still be playing for a second or two.
func (p *person) waitSilent(within time.Duration) float64 {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		rms := browsertest.RMS(p.record(time.Second))
		if rms < silentRMS || time.Now().After(deadline) {
			return rms
		}
	}
}

func newPerson(t testing.TB, b *browsertest.Browser, log *netLog, name string) *person {
	t.Helper()
	p := &person{t: t, name: name, page: b.NewPage(t, pageTimeout)}
	log.watch(t, p.page)
	return p
}

// visit loads url in the person's page.
func (p *person) visit(url string) {
	p.t.Helper()
	if err := chromedp.Do(p.page, chromedp.Navigate(url)); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// appRig is the real binary and one browser whose pages all have the test
// speech as their microphone, with a log of what every page sends.
type appRig struct {
	t      testing.TB
	srv    *runningBinary
	source []float32 // the speech, to compare what a page plays with
	b      *browsertest.Browser
	log    *netLog
}

// startApp starts the binary (with args) and the browser, whose fake
// microphone says testSpeech.
func startApp(t testing.TB, args ...string) *appRig {
	t.Helper()
	return startAppSaying(t, browsertest.SpeechWAV(t, testSpeech), args...)
}

// startAppSaying is startApp with the fake microphone playing wav.
func startAppSaying(t testing.TB, wav string, args ...string) *appRig {
	t.Helper()
	srv := startBinary(t, args...)
	return &appRig{t: t, srv: srv, source: loadSource(t, wav), b: browsertest.Start(t, browsertest.Options{FakeAudio: wav}), log: &netLog{}}
}

// person opens a new page at url.
func (r *appRig) person(name, url string) *person {
	r.t.Helper()
	p := newPerson(r.t, r.b, r.log, name)
	p.visit(url)
	return p
}

// creator opens the app, creates a room and enters it.
func (r *appRig) creator(name string) *person {
	r.t.Helper()
	p := r.person(name, "http://"+r.srv.appAddr+"/")
	p.click("button", "Create room")
	p.enter()
	return p
}

// talkUntilHeard has talker hold the button until listener's speaker
// plays the test speech (median windowed correlation above
// heardCorrelation), three 4 s recordings at most, then let go; it fails
// the test if the speech was not heard.
func (r *appRig) talkUntilHeard(talker, listener *person, what string) {
	r.t.Helper()
	listener.listen()
	talk := talker.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		r.t.Fatal(err)
	}
	talker.waitFor("the floor", 10*time.Second, func() bool { return talker.state().Floor.Mine })
	heard := false
	for try := 1; try <= 3 && !heard; try++ {
		corr := browsertest.WindowedCorrelation(r.source, listener.record(4*time.Second))
		r.t.Logf("%s, try %d: %s hears median correlation %.2f over %d windows", what, try, listener.name, browsertest.Median(corr), len(corr))
		heard = len(corr) >= 5 && browsertest.Median(corr) > heardCorrelation
	}
	if err := talk.Release(); err != nil {
		r.t.Fatal(err)
	}
	if !heard {
		r.t.Fatalf("%s: %s does not hear %s", what, listener.name, talker.name)
	}
}

// memberNames lists the names a page shows, sorted.
func memberNames(s appState) []string {
	var names []string
	for _, m := range s.Members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

func loadSource(t testing.TB, wav string) []float32 {
	t.Helper()
	x, rate, err := browsertest.ReadWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	return browsertest.Decimate(x, rate/browsertest.AnalysisRate)
}
