package e2etest

// The optimistic floor (issue 17, sfu/hold.go): the microphone opens on
// press, not a round trip later on the grant, so the listener hears the
// talker from the moment of the press, and a busy presser's audio, sent
// before floor_busy reached it, is heard by no one. Measured behind a relay
// adding 100 ms of round trip (50 ms each way) in front of the WebSocket
// and the media both, where the grant's round trip is long enough to cut.

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
	"sotto/internal/netsim"
)

const (
	// firstWordsRTT is the round trip the relay adds, the issue's: 50 ms
	// each way, to the WebSocket and the media alike.
	firstWordsRTT = 100 * time.Millisecond
	// firstWordsSpan is the start of a turn that must be heard: the
	// issue's first 300 ms.
	firstWordsSpan = 300 * time.Millisecond
	// Where in the talker's speech the first firstWordsSpan heard may come
	// from, around the press, to count as heard from the press: the mark
	// is the page's audio clock at the pointerdown event. Measured
	// (BenchmarkOptimisticFloor, 100 ms round trip): with the optimistic
	// floor the span came from 21 ms before to 35 ms after the mark; with
	// the grant-first mic from 88-166 ms after it, the grant's round trip
	// and its handling late.
	firstWordsEarly = 40 * time.Millisecond
	firstWordsLate  = 50 * time.Millisecond
	// firstWordsSeek is how far after the press the span is looked for to
	// say where it came from (firstWords.lag).
	firstWordsSeek = 500 * time.Millisecond
	// firstWordsWindow is the piece the span is compared in: short enough
	// that the jitter buffer's stretching within one matters little.
	firstWordsWindow = 100 * time.Millisecond
	// firstWordsLead is how long the listener records before the press:
	// silence, which the turn's onset is found against.
	firstWordsLead = 200 * time.Millisecond
	// The press falls in speech: the talker's microphone at least
	// firstWordsLoudRMS over its last firstWordsLoudFor (a word, not a
	// pause, starts the turn).
	firstWordsLoudFor = 40 * time.Millisecond
	firstWordsLoudRMS = 3 * onsetRMS
	// firstWordsSlack is how far the listener's jitter buffer may have
	// moved a span from where its neighbour places it.
	firstWordsSlack = 40 * time.Millisecond
	// firstWordsHold is how long each press is held: brisk, and longer
	// than the span with the network's and jitter buffer's delay.
	firstWordsHold = 500 * time.Millisecond
	// firstWordsPresses is the count.
	firstWordsPresses = 20
	// firstWordsLateTurns is how many of them may start later in the
	// speech than the press (a grant slower than the hold window on a
	// starved machine): one in ten.
	firstWordsLateTurns = firstWordsPresses / 10
	// onsetBlock is the block whose RMS the onset is found by, as the
	// recorder's ArmOnset counts it (256 samples at 48 kHz).
	onsetBlock = 256 * browsertest.AnalysisRate / browsertest.RecordRate
)

// firstWordsImpairment is half of firstWordsRTT each way.
var firstWordsImpairment = netsim.Config{
	Up:   netsim.Impairment{Delay: firstWordsRTT / 2},
	Down: netsim.Impairment{Delay: firstWordsRTT / 2},
}

// firstWordsSpyJS is injected into every page before the app loads, with
// the test speech (16-bit PCM at AnalysisRate, base64) in it. Test
// code, never shipped:
//   - the microphone is that speech, looped, played by the page's own
//     AudioContext (no voice processing), so where in the speech the mic is
//     at any moment is the audio clock's time since it started, not a
//     count of samples a starved main thread may have missed: __press is
//     that place (a sample index) when the talk button went down, __loud(ms)
//     the speech's loudness from now on;
//   - the page's RTCPeerConnections are kept, so a test can send silence in
//     place of the mic;
//   - __micLog notes the app switching its microphone track on and off.
const firstWordsSpyJS = `(() => {
  const rate = %d, bin = atob('%s'), n = bin.length / 2, pcm = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
    pcm[i] = (v >= 32768 ? v - 65536 : v) / 32768;
  }
  let speech = null;
  navigator.mediaDevices.getUserMedia = async () => {
    const ctx = new AudioContext();
    await ctx.resume();
    const buf = ctx.createBuffer(1, n, rate);
    buf.copyToChannel(pcm, 0);
    const src = ctx.createBufferSource();
    src.buffer = buf;
    src.loop = true;
    const dst = ctx.createMediaStreamDestination();
    src.connect(dst);
    const t0 = ctx.currentTime + 0.05;
    src.start(t0);
    speech = { ctx, t0 };
    return dst.stream;
  };
  const pos = () => (speech ? Math.floor(((speech.ctx.currentTime - speech.t0) * rate) %% n) : -1);
  window.__press = -1;
  document.addEventListener('pointerdown', (e) => { if (e.target.closest && e.target.closest('#talk')) window.__press = pos(); }, true);
  window.__loud = (ms) => {
    const p = pos(), k = Math.round(rate * ms / 1000);
    if (p < 0) return 0;
    let s = 0;
    for (let i = 0; i < k; i++) s += pcm[(p + i) %% n] ** 2;
    return Math.sqrt(s / k);
  };
  const PC = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends PC {
    constructor(...a) { super(...a); window.__pcs.push(this); }
  };
  window.__micLog = [];
  const d = Object.getOwnPropertyDescriptor(MediaStreamTrack.prototype, 'enabled');
  Object.defineProperty(MediaStreamTrack.prototype, 'enabled', {
    configurable: true,
    get() { return d.get.call(this); },
    set(v) {
      if (this.kind === 'audio' && d.get.call(this) !== v) window.__micLog.push([v, performance.now()]);
      d.set.call(this, v);
    },
  });
})()`

// spyScript is firstWordsSpyJS with source in it.
func spyScript(source []float32) string {
	pcm := make([]byte, 2*len(source))
	for i, v := range source {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(max(-32768, min(32767, math.Round(float64(v)*32767))))))
	}
	return fmt.Sprintf(firstWordsSpyJS, browsertest.AnalysisRate, base64.StdEncoding.EncodeToString(pcm))
}

// silenceJS puts a silent track in place of the microphone on the page's
// media connection (the app's encryption transform stays on the sender).
const silenceJS = `(() => {
  const pc = window.__pcs.at(-1);
  const s = pc && pc.getSenders().find((x) => x.track && x.track.kind === 'audio');
  if (!s) return false;
  const ctx = new AudioContext();
  const dst = ctx.createMediaStreamDestination();
  s.replaceTrack(dst.stream.getAudioTracks()[0]).then(() => { window.__silenced = true; });
  return true;
})()`

// firstWordsRoom is a room of the optimistic floor's tests.
type firstWordsRoom struct {
	alice, bob *person              // the talker and the listener (recording)
	talk       *browsertest.Element // Alice's talk button
	source     []float32            // the speech every page's microphone plays
	// join brings another member into the room, and waits until every
	// page shows every name.
	join func(name string) *person
}

// startFirstWords starts the binary behind the relay (impaired by cfg,
// with args) and Alice and Bob in one room, every page with
// firstWordsSpyJS.
func startFirstWords(t testing.TB, cfg netsim.Config, args ...string) *firstWordsRoom {
	t.Helper()
	rig := startBadnetApp(t, cfg, cfg, args...)
	spy := spyScript(rig.source)
	spied := func(name string) *person {
		p := newPerson(t, rig.b, rig.log, name)
		if _, err := chromedp.Call(p.page, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: spy}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alice := spied("Alice")
	alice.visit(rig.url)
	alice.click("button", "Create room")
	alice.enter()
	invite := rig.url + "#" + strings.SplitN(alice.find("textbox", "Invite link").Value, "#", 2)[1]
	ppl := []*person{alice}
	r := &firstWordsRoom{alice: alice, talk: alice.find("button", "Hold to talk"), source: rig.source}
	r.join = func(name string) *person {
		t.Helper()
		p := spied(name)
		p.visit(invite)
		p.clickEnter()
		deadline := time.Now().Add(30 * time.Second)
		for {
			s := p.state()
			if s.Screen == "room" && s.Connection == "connected" && s.Self != "" {
				break
			}
			if time.Now().After(deadline) {
				rig.log.mu.Lock()
				errs := rig.log.errors
				rig.log.mu.Unlock()
				t.Fatalf("%s: not in a connected room: %+v; the page says:\n%s\nconsole errors: %v", name, s, p.eval(`document.body.innerText`), errs)
			}
			time.Sleep(100 * time.Millisecond)
		}
		ppl = append(ppl, p)
		var names []string
		for _, q := range ppl {
			names = append(names, q.name)
		}
		slices.Sort(names)
		for _, q := range ppl {
			q.waitFor("every name", 20*time.Second, func() bool { return slices.Equal(memberNames(q.state()), names) })
		}
		return p
	}
	r.bob = r.join("Bob")
	r.bob.listen()
	return r
}

// firstWords is one measured turn.
type firstWords struct {
	// corr is how well the first firstWordsSpan the listener heard of the
	// turn matches the test speech from where the talker's microphone was
	// at the press (windowedFrom).
	corr float64
	// lag is where in the speech that span came from, after the place of
	// the press (negative: before): where it matches best from
	// firstWordsEarly before to firstWordsSeek after.
	lag time.Duration
	// hear is press-to-hear: from the press (before the button goes down,
	// as BenchmarkPressToHear counts) to sound at the listener's speaker.
	hear time.Duration
}

// firstWordsTurn has talker press while its microphone hears speech, hold
// for firstWordsHold and let go, and measures the turn's start at the
// listener. ok is false for a turn that cannot be measured: the last turn
// still played, no sound came, or the microphone at the press matched no
// place in the speech (a starved machine's tap skipped).
func firstWordsTurn(t testing.TB, source []float32, talker, listener *person, talk *browsertest.Element) (m firstWords, ok bool) {
	t.Helper()
	// The last turn played out first: a loaded machine's jitter buffer may
	// hold it for a second or more.
	if rms := listener.waitQuiet(5 * time.Second); rms >= silentRMS {
		t.Logf("the listener still plays the last turn (RMS %.4f); skipped", rms)
		return m, false
	}
	if err := browsertest.StartRecording(listener.page); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.ArmOnset(listener.page, onsetRMS); err != nil {
		t.Fatal(err)
	}
	recStart := time.Now()
	time.Sleep(firstWordsLead) // silence to find the onset against
	// Press in speech: loud over the next firstWordsLoudFor.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && evalAs[float64](talker, fmt.Sprintf(`window.__loud(%d)`, firstWordsLoudFor.Milliseconds())) < firstWordsLoudRMS {
		time.Sleep(5 * time.Millisecond)
	}
	down := time.Now()
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(firstWordsHold) // the user's thumb, not a wait for a condition
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	// Until the span has played, however late the sound began.
	heard := listener.waitOnset(time.Now().Add(5 * time.Second))
	if heard > 0 {
		time.Sleep(time.Until(time.UnixMilli(int64(heard)).Add(firstWordsSpan + 100*time.Millisecond)))
	}
	raw, err := browsertest.StopRecording(listener.page)
	if err != nil {
		t.Fatal(err)
	}
	if heard == 0 {
		log := micLog(talker)
		t.Logf("no sound after the press; skipped (talker %+v, its mic's last switches %v; listener %+v, recorded RMS %.4f)",
			talker.state(), log[max(0, len(log)-4):], listener.state(), browsertest.RMS(raw))
		return m, false
	}
	m.hear = time.UnixMilli(int64(heard)).Sub(down)
	place := evalAs[int](talker, `window.__press`)
	if place < 0 {
		t.Fatal("the press was not marked in the talker's speech")
	}

	// The turn's onset in the recording: the first loud block from the
	// press on.
	press, at := samplesOf(down.Sub(recStart)), -1
	for i := max(press, 0); i+onsetBlock <= len(raw); i += onsetBlock {
		if browsertest.RMS(raw[i:i+onsetBlock]) >= onsetRMS {
			at = i
			break
		}
	}
	span := samplesOf(firstWordsSpan)
	rec := browsertest.HighPass(raw)
	if at < 0 || at+span > len(rec) {
		t.Logf("the recording holds no whole span after the press; skipped")
		return m, false
	}
	first := rec[at : at+span]
	m.corr = windowedFrom(source, first, place)
	seek, early := samplesOf(firstWordsSeek), samplesOf(firstWordsEarly)
	_, from := browsertest.CorrelationNear(source, first, place+(seek-early)/2, (seek+early)/2)
	d := (from - place + len(source)) % len(source)
	if d > len(source)/2 {
		d -= len(source)
	}
	m.lag = time.Duration(d) * time.Second / browsertest.AnalysisRate
	return m, true
}

// windowedFrom is the windowed correlation of first (the start of a turn
// heard, through HighPass) with the speech from place on: its
// firstWordsWindow pieces, the first placed within firstWordsEarly before
// to firstWordsLate after place, each next one within tailSearch of where
// the last one was found (the jitter buffer stretches time a little), the
// mean over the pieces that hold speech (as WindowedCorrelation counts
// them). Audio that starts later in the speech than the press finds no
// match near place, nor do the pieces tracked from there.
func windowedFrom(source, first []float32, place int) float64 {
	win := samplesOf(firstWordsWindow)
	loudest := 0.0
	for w := 0; w+win <= len(first); w += win {
		loudest = math.Max(loudest, browsertest.RMS(first[w:w+win]))
	}
	early, late := samplesOf(firstWordsEarly), samplesOf(firstWordsLate)
	base, within := place+(late-early)/2, (late+early)/2
	var sum float64
	n := 0
	for w := 0; w+win <= len(first); w += win {
		c, at := browsertest.CorrelationNear(source, first[w:w+win], base+w, within)
		base, within = at-w, samplesOf(firstWordsSlack)
		if browsertest.RMS(first[w:w+win]) >= 0.1*loudest {
			sum += c
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// firstWordsRun measures presses turns of talker and returns the measured
// ones.
func firstWordsRun(t testing.TB, source []float32, talker, listener *person, talk *browsertest.Element, presses int) []firstWords {
	t.Helper()
	var out []firstWords
	for range presses {
		if m, ok := firstWordsTurn(t, source, talker, listener, talk); ok {
			out = append(out, m)
		}
	}
	var corrs []float64
	var lags, hears []time.Duration
	for _, m := range out {
		corrs, lags, hears = append(corrs, m.corr), append(lags, m.lag), append(hears, m.hear)
	}
	t.Logf("the first %v of each turn: correlation with the speech at the press %.2f; where it came from, after the press %v; press-to-hear %v",
		firstWordsSpan, corrs, roundAll(lags), roundAll(hears))
	return out
}

// waitQuiet records in short pieces until one is digitally silent, or
// within passes, and returns the last one's RMS.
func (p *person) waitQuiet(within time.Duration) float64 {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		rms := browsertest.RMS(p.record(200 * time.Millisecond))
		if rms < silentRMS || time.Now().After(deadline) {
			return rms
		}
	}
}

// maxBlockRMS is the loudest onsetBlock of x: one frame of speech shows.
func maxBlockRMS(x []float32) float64 {
	m := 0.0
	for i := 0; i+onsetBlock <= len(x); i += onsetBlock {
		m = math.Max(m, browsertest.RMS(x[i:i+onsetBlock]))
	}
	return m
}

// micLog is the page's record of its microphone switched on and off:
// [on, performance.now()] pairs.
func micLog(p *person) [][2]float64 {
	var out [][2]float64
	for _, e := range evalAs[[][]any](p, `window.__micLog`) {
		on, _ := e[0].(bool)
		at, _ := e[1].(float64)
		out = append(out, [2]float64{map[bool]float64{true: 1}[on], at})
	}
	return out
}

// TestOptimisticFloorInBrowser: behind 100 ms of added round trip, over 20
// presses the listener hears the talker from the moment of the press (the
// first 300 ms of each turn correlate with the talker's microphone from
// the press on); then a busy presser, whose microphone opens on press and
// closes on floor_busy, is heard by no one, the holder included, while
// the same presser, granted, is heard.
func TestOptimisticFloorInBrowser(t *testing.T) {
	r := startFirstWords(t, firstWordsImpairment)
	alice, bob, talk, source := r.alice, r.bob, r.talk, r.source

	turns := firstWordsRun(t, source, alice, bob, talk, firstWordsPresses)
	if len(turns) < firstWordsPresses*3/4 {
		t.Fatalf("only %d of %d turns could be measured (uptime: %s)", len(turns), firstWordsPresses, loadAvg())
	}
	var corrs []float64
	for _, m := range turns {
		corrs = append(corrs, m.corr)
	}
	heard := 0
	for _, c := range corrs {
		if c > heardCorrelation {
			heard++
		}
	}
	// Turns are heard from the press: the first span heard comes from
	// where the talker's microphone was at the press (firstWordsEarly
	// before to firstWordsLate after), not from a grant's round trip or
	// more later, as the grant-first mic's turns do (+79..+442 ms). All
	// but firstWordsLateTurns of them: at a load average of 7, three turns
	// of 20 in a row came from +72..+366 ms (the grant slower than the
	// hold window), which the "each turn" cannot promise on a
	// starved machine; at 2-4, none in four runs. How well the span
	// matches the speech is checked on the median, as every heard-speech
	// check here counts (heardCorrelation): 1-3 turns of 20 come from the
	// right place and still score 0.35-0.59, their first 100 ms window
	// lower than the rest (the listener's jitter buffer time-compressing
	// the held burst it gets at the grant; 50 ms windows did no better),
	// so a bound on each turn would fail on audio that was not cut.
	// Decisive all the same: the grant-first mic's turns give a median of
	// 0.24 where these give 0.74-0.80 (BenchmarkOptimisticFloor).
	var late []string
	for i, m := range turns {
		if m.lag < -firstWordsEarly || m.lag > firstWordsLate {
			late = append(late, fmt.Sprintf("turn %d from %v", i+1, m.lag.Round(time.Millisecond)))
		}
	}
	if len(late) > firstWordsLateTurns {
		t.Errorf("%d of %d turns did not start with the speech said at the press (want %v to %v after it, at most %d turns outside): %s (load %s)",
			len(late), len(turns), -firstWordsEarly, firstWordsLate, firstWordsLateTurns, strings.Join(late, ", "), loadAvg())
	}
	if m := browsertest.Median(corrs); m <= heardCorrelation {
		t.Errorf("the first %v of a turn is not what was said from the press: median correlation %.2f, %d of %d turns above %.2f (load %s)",
			firstWordsSpan, m, heard, len(corrs), heardCorrelation, loadAvg())
	}

	// Busy: Carol joins (only now: a third page is load the measure above
	// does without). Alice holds the floor sending silence; Carol presses
	// three times. Her mic opens with each request and closes on floor_busy;
	// nothing of it reaches Bob or Alice.
	carol := r.join("Carol")
	if !evalAs[bool](alice, silenceJS) {
		t.Fatal("Alice's page has no audio sender")
	}
	alice.waitFor("the silent track", 5*time.Second, func() bool { return evalAs[bool](alice, `window.__silenced === true`) })
	alice.listen()
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	carol.waitFor("Alice to hold the floor", 10*time.Second, func() bool { return carol.state().Floor.Holder == alice.state().Self })
	for _, p := range []*person{alice, bob} {
		if err := browsertest.StartRecording(p.page); err != nil {
			t.Fatal(err)
		}
	}
	carolTalk := carol.find("button", "Hold to talk")
	logFrom := len(micLog(carol))
	const busyPresses = 3
	for range busyPresses {
		if err := carolTalk.Press(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(firstWordsHold) // the thumb stays down past floor_busy
		if err := carolTalk.Release(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // anything forwarded would play by now, on a loaded machine too
	for _, p := range []*person{alice, bob} {
		rec, err := browsertest.StopRecording(p.page)
		if err != nil {
			t.Fatal(err)
		}
		if m := maxBlockRMS(rec); m >= onsetRMS {
			t.Errorf("%s heard the busy presser: a block of RMS %.4f", p.name, m)
		}
	}
	// Carol's mic went on with each press (the optimistic floor) and off
	// again: on floor_busy, about a round trip later (how long is logged; a
	// loaded page may handle the release first, which also closes it).
	log := micLog(carol)[logFrom:]
	if len(log) != 2*busyPresses {
		t.Fatalf("Carol's mic switched %v during %d busy presses; want on and off for each", log, busyPresses)
	}
	var open []string
	for i := 0; i < len(log); i += 2 {
		if log[i][0] != 1 || log[i+1][0] != 0 {
			t.Errorf("Carol's mic on a busy press: %v; want on at the press, then off", log[i:i+2])
		}
		open = append(open, strconv.FormatFloat(log[i+1][1]-log[i][1], 'f', 0, 64))
	}
	t.Logf("Carol's mic was open %s ms on her busy presses (held %v each)", strings.Join(open, ", "), firstWordsHold)

	// The control: Carol, granted, is heard.
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	carol.waitFor("the floor free", 10*time.Second, func() bool { return carol.state().Floor.Holder == "" })
	if err := browsertest.StartRecording(bob.page); err != nil {
		t.Fatal(err)
	}
	if err := carolTalk.Press(); err != nil {
		t.Fatal(err)
	}
	carol.waitFor("the floor", 10*time.Second, func() bool { return carol.state().Floor.Mine })
	time.Sleep(2 * time.Second) // speech to come through; the fake mic pauses between sentences
	if err := carolTalk.Release(); err != nil {
		t.Fatal(err)
	}
	rec, err := browsertest.StopRecording(bob.page)
	if err != nil {
		t.Fatal(err)
	}
	if m := maxBlockRMS(rec); m < onsetRMS {
		t.Errorf("Bob does not hear Carol when she holds the floor (loudest block %.4f): the busy check above shows nothing", m)
	}
}

// loadAvg is the machine's load average, for a failure's message: a timing
// failure under load is a fact to look at.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// BenchmarkOptimisticFloor measures the optimistic floor against the
// grant-first mic (--no-optimistic-floor), on loopback (through the relay,
// unimpaired) and with 100 ms of round trip added to the WebSocket and the
// media both: press-to-hear (from the press, made while the talker's
// microphone hears speech, to sound at the listener's speaker), and the
// first 300 ms heard of each turn against the speech at the press, as
// TestOptimisticFloorInBrowser measures it.
//
// Run: go test -count=1 -run '^$' -bench OptimisticFloor -benchtime 1x -v ./e2etest/
func BenchmarkOptimisticFloor(b *testing.B) {
	const presses = 20
	nets := []struct {
		name string
		cfg  netsim.Config
	}{{"loopback", netsim.Config{}}, {"rtt100", firstWordsImpairment}}
	arms := []struct {
		name string
		args []string
	}{{"optimistic", nil}, {"grant-first", []string{"--no-optimistic-floor"}}}
	for range b.N {
		for _, n := range nets {
			for _, arm := range arms {
				b.Run(n.name+"/"+arm.name, func(b *testing.B) {
					r := startFirstWords(b, n.cfg, arm.args...)
					turns := firstWordsRun(b, r.source, r.alice, r.bob, r.talk, presses)
					if len(turns) < presses/2 {
						b.Fatalf("only %d of %d turns measured (load %s)", len(turns), presses, loadAvg())
					}
					var hears []time.Duration
					var corrs []float64
					heard := 0
					for _, m := range turns {
						hears, corrs = append(hears, m.hear), append(corrs, m.corr)
						if m.corr > heardCorrelation {
							heard++
						}
					}
					b.ReportMetric(float64(quantile(hears, 0.5).Milliseconds()), "p50-ms")
					b.ReportMetric(float64(quantile(hears, 0.95).Milliseconds()), "p95-ms")
					b.ReportMetric(browsertest.Median(corrs), "first300-corr")
					b.ReportMetric(float64(heard)/float64(len(turns)), "heard-share")
					b.ReportMetric(float64(len(turns)), "turns")
					b.Logf("load %s", loadAvg())
				})
			}
		}
	}
}
