package e2etest

// Talking like a radio on a real phone (issue 17): the release tail, so the
// last syllable said as the thumb lifts is heard, and the warning before
// the talk limit.

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

// radioLimit is the talk limit of TestTalkLimitWarningInBrowser: the
// warning comes 2 s into a turn (talkturn.js WARN_BEFORE_MS is 10 s).
const radioLimit = 12 * time.Second

// The release tail's measure.
const (
	tailCheck  = 150 * time.Millisecond // the span before (and after) the release that must (or must not) be heard
	tailAnchor = 500 * time.Millisecond // the talker's audio before that span, to find its place in the listener's recording (short: the jitter buffer stretches time)
	tailSearch = 40 * time.Millisecond  // how far the listener's jitter buffer may have moved the span from where the anchor says
	// A span correlating above this with the talker's microphone was heard.
	// Lower than heardCorrelation, which is for the median of 0.25 s
	// windows: in the runs that set it, a 150 ms span sent correlated
	// 0.61-0.93, one not sent (the tail off, after the release) 0.19-0.23.
	tailHeard = 0.5
	tailNear  = 200 * time.Millisecond // the anchor's last part, placed again on its own
	// The anchor and its last part must match at least this well for a
	// turn to count: below it (a loaded machine's audio skipped, or the
	// match is a wrong place) the spans' figures are noise.
	tailPlaced  = 0.7
	tailLoudRMS = 3 * onsetRMS            // the talker's last tailCheck is speech, not a pause: release now
	tailTries   = 5                       // turns to find a moment of speech to let go in
	tailNow     = 40 * time.Millisecond   // the talker's last moment, loud when letting go mid-word
	tailLead    = 1500 * time.Millisecond // the listener records this long before the release: the anchor and the network's delay
	tailAfter   = 1500 * time.Millisecond // and this long after: the tail, the jitter buffer and the network's delay
	// The span after the release that only a tail sends starts this late:
	// the release's mark falls a few tens of ms early (micTapJS), and what
	// was captured before the mic switched off is sent anyway.
	tailLate = 100 * time.Millisecond
	// The longest delay from Alice's microphone to Bob's speaker the search
	// allows for (a loaded 2-core machine's jitter buffer included).
	maxPlayoutDelay = time.Second
)

// radioSpyJS is injected into the talker's page before the app loads: it
// keeps a clone of the microphone track (the app switches its own off
// outside a turn; the clone hears the microphone throughout), and notes the
// frequencies chirps.js plays and the vibrations device.js asks for. Test
// code, never shipped.
const radioSpyJS = `(() => {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    const s = await gum(c);
    const t = s.getAudioTracks()[0];
    if (t) window.__micTap = new MediaStream([t.clone()]);
    return s;
  };
  window.__chirpHz = [];
  const set = AudioParam.prototype.setValueAtTime;
  AudioParam.prototype.setValueAtTime = function (v, at) {
    if (v >= 100) window.__chirpHz.push(Math.round(v)); // a tone's first frequency, not a gain
    return set.call(this, v, at);
  };
  window.__buzzes = [];
  navigator.vibrate = (ms) => { window.__buzzes.push(ms); return true; };
})()`

// micTapJS records the cloned microphone at 48 kHz into a ring of the last
// 6 s, and marks where the talk button's pointerup fell in it. The mark is
// taken on the main thread, where the samples arrive a block or two after
// they were captured, so it falls up to some 20 ms early: the span checked
// "before the release" starts and ends that much earlier.
const micTapJS = `(() => {
  if (window.__tap) return true;
  if (!window.__micTap) return false;
  const ctx = new AudioContext({ sampleRate: 48000 });
  const src = ctx.createMediaStreamSource(window.__micTap);
  const proc = ctx.createScriptProcessor(256, 1, 1);
  const keep = 48000 * 6;
  const tap = { buf: new Float32Array(keep), n: 0, mark: -1 };
  proc.onaudioprocess = (e) => {
    for (const v of e.inputBuffer.getChannelData(0)) tap.buf[tap.n++ % keep] = v;
  };
  src.connect(proc);
  proc.connect(ctx.destination); // runs only while connected; outputs silence
  ctx.resume();
  document.getElementById('talk').addEventListener('pointerup', () => { tap.mark = tap.n; }, true);
  tap.rms = (ms) => {
    const k = Math.min(tap.n, Math.round(48 * ms));
    let s = 0;
    for (let i = tap.n - k; i < tap.n; i++) s += tap.buf[i % keep] ** 2;
    return k ? Math.sqrt(s / k) : 0;
  };
  // take returns the samples from before ms ahead of the mark to after ms
  // past it, as 16-bit PCM in base64.
  tap.take = (before, after) => {
    const from = tap.mark - Math.round(48 * before), to = tap.mark + Math.round(48 * after);
    if (tap.mark < 0 || from < tap.n - keep || to > tap.n) return '';
    const pcm = new Int16Array(to - from);
    for (let i = from; i < to; i++) pcm[i - from] = Math.max(-32768, Math.min(32767, Math.round(tap.buf[i % keep] * 32767)));
    let bin = '';
    const bytes = new Uint8Array(pcm.buffer);
    for (let j = 0; j < bytes.length; j += 0x8000) bin += String.fromCharCode(...bytes.subarray(j, j + 0x8000));
    return btoa(bin);
  };
  window.__tap = tap;
  return true;
})()`

// radioRoom starts the binary with args, and Alice (with radioSpyJS and the
// microphone tap) and Bob (listening) in one room; it returns Alice's talk
// button.
func radioRoom(t testing.TB, args ...string) (alice, bob *person, talk *browsertest.Element) {
	t.Helper()
	app := startApp(t, args...)
	alice = newPerson(t, app.b, app.log, "Alice")
	if _, err := chromedp.Call(alice.page, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: radioSpyJS}); err != nil {
		t.Fatal(err)
	}
	alice.visit("http://" + app.srv.appAddr + "/")
	alice.click("button", "Create room")
	alice.enter()
	bob = app.person("Bob", "http://"+app.srv.appAddr+"/#"+strings.SplitN(alice.find("textbox", "Invite link").Value, "#", 2)[1])
	bob.enter()
	for _, p := range []*person{alice, bob} {
		p.waitFor("both names", 20*time.Second, func() bool {
			return slices.Equal(memberNames(p.state()), []string{"Alice", "Bob"})
		})
	}
	alice.waitFor("the microphone tap", 10*time.Second, func() bool { return evalAs[bool](alice, micTapJS) })
	bob.listen()
	return alice, bob, alice.find("button", "Hold to talk")
}

// BenchmarkReleaseTail measures "Release tail: the last 150 ms before
// release are heard" (issue 17). Alice holds the button and lets go while
// her speech plays; what Bob's recording holds of her microphone's 150 ms
// before the release (default tail), and of the span only a tail carries
// (tailLate after the release on) with the tail off and at 400 ms.
//
// A benchmark, not yet a test: the measure is not decisive enough for
// `make test`. On a quiet machine about 3 runs in 4 give before ≥ 0.5 and a
// clean control (after: 0.03-0.22 off, 0.52-0.96 at 400 ms), but one run
// gave 0.69 with the tail off (the listener's decoder stretches the last
// voiced sound over the gap) and under load most turns cannot be lined up.
// The span before the release cannot be the control: what the browser
// captured before the switch-off is sent even without a tail. To be made
// decisive: time the release against a marker in the source (a tone at a
// known point) rather than a main-thread mark, and compare loudness after
// the release rather than waveform.
//
// Run: go test -count=1 -run '^$' -bench ReleaseTail -benchtime 1x -v ./e2etest/
func BenchmarkReleaseTail(b *testing.B) {
	for range b.N {
		alice, bob, talk := radioRoom(b)
		setTail := func(ms string) {
			b.Helper()
			alice.find("combobox", "Keep sending after you let go") // by the Hands-free box, named
			alice.eval(`(() => { const s = document.getElementById('release-tail'); s.value = '` + ms + `'; s.dispatchEvent(new Event('change')); return ''; })()`)
			if got := alice.eval(`String(localStorage.getItem('sotto.releaseTail'))`); got != ms {
				b.Fatalf("the tail chosen as %s ms is stored as %q", ms, got)
			}
		}
		before, _ := tailTurn(b, alice, bob, talk)
		setTail("0")
		before0, after0 := tailTurn(b, alice, bob, talk)
		setTail("400")
		_, after400 := tailTurn(b, alice, bob, talk)
		b.ReportMetric(before, "before-default")
		b.ReportMetric(after0, "after-off")
		b.ReportMetric(after400, "after-400ms")
		b.Logf("the %v before the release: %.2f with the tail, %.2f without; the %v from %v after: %.2f without, %.2f with 400 ms (heard: ≥ %.2f)",
			tailCheck, before, before0, tailCheck, tailLate, after0, after400, tailHeard)
	}
}

// TestTalkLimitWarningInBrowser: with a 12 s talk limit, 10 s before the
// end the talker's live region says the time left, three high pips play
// and the phone buzzes; the listener's page says nothing of it.
func TestTalkLimitWarningInBrowser(t *testing.T) {
	alice, bob, talk := radioRoom(t, "--talk-limit", radioLimit.String())
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	granted := time.Now()
	const want = "You are talking. 10 seconds left"
	talker := `document.getElementById('talker').textContent`
	alice.waitFor("the warning in the live region", radioLimit, func() bool { return alice.eval(talker) == want })
	at := time.Since(granted)
	t.Logf("the warning came %v into a %v turn", at.Round(10*time.Millisecond), radioLimit)
	// 2 s in, give or take the grant's trip and this poll.
	if at < time.Second || at > 4*time.Second {
		t.Errorf("the warning came %v into the turn, not about 10 s before its end", at)
	}
	if role := alice.eval(`document.getElementById('talker').getAttribute('role')`); role != "status" {
		t.Errorf("the talker line is role %q, not a live region", role)
	}
	// Three pips at 1320 Hz (chirps.js 'warn'), and a buzz longer than the
	// start's 30 ms (talkturn.js WARN_BUZZ_MS).
	hz := evalAs[[]int](alice, `window.__chirpHz`)
	pips := 0
	for _, f := range hz {
		if f == 1320 {
			pips++
		}
	}
	if pips != 3 {
		t.Errorf("the warning's tone: frequencies played %v, want three pips at 1320 Hz", hz)
	}
	if b := evalAs[[]int](alice, `window.__buzzes`); !slices.Contains(b, 120) {
		t.Errorf("the warning's vibration: buzzes %v, want one of 120 ms", b)
	}
	if got := bob.eval(`document.getElementById('talker').textContent`); got != "Alice is talking" {
		t.Errorf("Bob's talker line during Alice's warning: %q", got)
	}
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor free", 5*time.Second, func() bool { return bob.state().Floor.Holder == "" })
	if got := alice.eval(talker); got != "Nobody is talking" {
		t.Errorf("after the turn the talker line says %q", got)
	}
}

// tailTurn has the talker hold the button, let go while speech is playing,
// and returns how well the listener's recording matches the tailCheck of
// the talker's microphone before the release and the tailCheck after it
// (best normalized correlation, near where the talker's half second before says
// they are). It tries up to tailTries turns to let go in speech, not a pause.
func tailTurn(t testing.TB, talker, listener *person, talk *browsertest.Element) (before, after float64) {
	t.Helper()
	for try := 1; try <= tailTries; try++ {
		if err := talk.Press(); err != nil {
			t.Fatal(err)
		}
		talker.waitFor("the floor", 10*time.Second, func() bool { return talker.state().Floor.Mine })
		// Let the listener's jitter buffer settle (it stretches time most
		// at the start of a turn), then record around the release.
		time.Sleep(time.Second)
		if err := browsertest.StartRecording(listener.page); err != nil {
			t.Fatal(err)
		}
		recStart := time.Now()
		time.Sleep(tailLead)
		deadline := time.Now().Add(4 * time.Second)
		// Let go mid-word: loud over the last tailCheck and still loud in
		// the last tailNow (not a word trailing off into a pause).
		loud := fmt.Sprintf(`Math.min(window.__tap.rms(%d), window.__tap.rms(%d))`, tailCheck.Milliseconds(), tailNow.Milliseconds())
		for time.Now().Before(deadline) && evalAs[float64](talker, loud) < tailLoudRMS {
			time.Sleep(5 * time.Millisecond)
		}
		releasedAt := time.Since(recStart)
		if err := talk.Release(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(tailAfter)
		rec, err := browsertest.StopRecording(listener.page)
		if err != nil {
			t.Fatal(err)
		}
		rec = browsertest.HighPass(rec) // as WindowedCorrelation compares: above the voice processing's phase shifts
		listener.waitFor("the floor free", 5*time.Second, func() bool { return listener.state().Floor.Holder == "" })
		mic := browsertest.HighPass(decodePCM(t, talker.eval(fmt.Sprintf(`window.__tap.take(%d, %d)`, (tailAnchor+tailCheck).Milliseconds(), (tailLate+tailCheck).Milliseconds()))))
		span, mark := samplesOf(tailCheck), samplesOf(tailAnchor+tailCheck)
		anchor, pre := mic[:samplesOf(tailAnchor)], mic[mark-span:mark]
		post := mic[mark+samplesOf(tailLate) : mark+samplesOf(tailLate)+span]
		if loud := browsertest.RMS(anchor); browsertest.RMS(pre) < 0.3*loud || browsertest.RMS(post) < 0.3*loud {
			t.Logf("try %d: let go in a pause (RMS before %.3f, late after %.3f, the half second before %.3f); again", try, browsertest.RMS(pre), browsertest.RMS(post), loud)
			continue
		}
		// The anchor plays at Bob's speaker a network and jitter buffer's
		// delay after it played at Alice's microphone: look from a little
		// before (the clocks of two recordings started by CDP) to
		// maxPlayoutDelay after.
		guess := samplesOf(releasedAt - tailAnchor - tailCheck)
		off, c := bestOffset(rec, anchor, guess-samplesOf(200*time.Millisecond), guess+samplesOf(maxPlayoutDelay))
		// Placed again by the anchor's last part alone: the jitter buffer
		// may have stretched the half second a little.
		slack := samplesOf(tailSearch)
		near := anchor[len(anchor)-samplesOf(tailNear):]
		off2, c2 := bestOffset(rec, near, off+len(anchor)-len(near)-slack, off+len(anchor)-len(near)+slack)
		if c < tailPlaced || c2 < tailPlaced {
			// A loaded machine's audio skipped or stalled: nothing to place the spans by.
			t.Logf("try %d: Bob's recording does not hold the half second before the release (correlation %.2f, its last %v %.2f); again", try, c, tailNear, c2)
			continue
		}
		at := off2 + len(near)
		_, before = bestOffset(rec, pre, at-slack, at+slack)
		late := at + span + samplesOf(tailLate)
		_, after = bestOffset(rec, post, late-slack, late+slack)
		t.Logf("try %d: the half second before correlates %.2f; the %v before the release %.2f, the %v from %v after it %.2f",
			try, c, tailCheck, before, tailCheck, tailLate, after)
		return before, after
	}
	t.Fatalf("no turn to measure in %d: each let go in a pause, or Bob's audio skipped around the release", tailTries)
	return 0, 0
}

// samplesOf is d in samples at AnalysisRate.
func samplesOf(d time.Duration) int {
	return int(d.Seconds() * browsertest.AnalysisRate)
}

// bestOffset is the offset in [from, to] at which x matches rec best
// (normalized correlation), and that correlation.
func bestOffset(rec, x []float32, from, to int) (int, float64) {
	best, bestOff := -1.0, from
	for off := max(from, 0); off <= to && off+len(x) <= len(rec); off++ {
		var dot, nr, nx float64
		for i, v := range x {
			r := float64(rec[off+i])
			dot += r * float64(v)
			nr += r * r
			nx += float64(v) * float64(v)
		}
		if nr == 0 || nx == 0 {
			continue
		}
		if c := dot / math.Sqrt(nr*nx); c > best {
			best, bestOff = c, off
		}
	}
	return bestOff, best
}

// decodePCM turns micTapJS's take (48 kHz 16-bit PCM in base64) into
// samples at AnalysisRate.
func decodePCM(t testing.TB, b64 string) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) == 0 {
		t.Fatalf("the microphone tap gave nothing around the release (%v)", err)
	}
	x := make([]float32, len(raw)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
	}
	return browsertest.Decimate(x, browsertest.RecordRate/browsertest.AnalysisRate)
}
