package e2etest

// Talk priority in the app (issue 17), on the real binary in operator mode:
// a priority member takes the floor from a talker mid-turn; a listener hears
// the priority member soon after the press and never both at once; the
// interrupted talker's page says why, with the busy chirp.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sotto/e2ee"
	"sotto/room"
)

// The two talkers' microphones play steady tones, not the shared fake
// speech, so that what the listener hears can be told apart block by block:
// Alice's at aliceHz, Pat's at patHz. Both sit well inside Opus's band, and
// 560 Hz apart is six bins of the analysis block (512 samples at 48 kHz,
// 94 Hz a bin), so neither leaks into the other's measure.
const (
	aliceHz = 440
	patHz   = 1000
	// toneGain is each tone's amplitude at the microphone: speech-loud.
	toneGain = 0.3
	// toneHeard is the amplitude (Goertzel, Hann window, see prioMeterJS)
	// above which a block counts as carrying a talker's tone: a sixth of
	// toneGain, far above what Opus leaves of the other tone or of silence
	// (measured: below 0.005 in steady blocks, up to 0.02 in a block where
	// one talker gives way to the next), far below the tone itself through
	// the codec (0.29-0.30).
	toneHeard = toneGain / 6
	// priorityHearMax is the bound: the listener hears the priority
	// talker within 500 ms of its press.
	priorityHearMax = 500 * time.Millisecond
	// overlapBlocksMax is how many analysis blocks (10.7 ms each) may carry
	// both tones: one, the block in which the decoder's fade of the last
	// frame it concealed meets the new talker's first. Alice's packets
	// forwarded after the switch would instead put her tone in the blocks
	// among Pat's, tens of them a second.
	overlapBlocksMax = 1
	// meterKeep bounds the listener's block log: 3000 blocks, 32 s, more
	// than the test runs after it starts the meter.
	meterKeep = 3000
	// meterSameMS: blocks are 10.7 ms apart on the audio clock; one less
	// than 1 ms after the one before is the same block again.
	meterSameMS = 1
	// Pat presses once 9 in 10 of the last controlBlocks (about 530 ms)
	// blocks at Bob carry Alice's tone, and 9 in 10 of the blocks of the
	// controlMS before the press must carry it: the check that Alice stops
	// is worth nothing unless she was heard up to the press.
	controlBlocks = 50
	controlMS     = 500
)

// toneMicJS makes the page's microphone a steady tone at hz (the fake
// device still answers getUserMedia first, so permission and errors are the
// browser's own), and notes the frequency of every chirp the app plays
// (chirps.js sets each tone's first frequency with setValueAtTime; the
// tone here sets its own with .value, so it is not among them). Test code,
// never shipped.
func toneMicJS(hz int) string {
	return fmt.Sprintf(`(() => {
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => {
    const real = await gum(c);
    if (!c?.audio) return real;
    for (const t of real.getTracks()) t.stop();
    const ctx = new AudioContext({ sampleRate: 48000 });
    const osc = ctx.createOscillator();
    osc.frequency.value = %d;
    const gain = ctx.createGain();
    gain.gain.value = %g;
    const dst = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dst);
    osc.start();
    ctx.resume();
    window.__toneCtx = ctx;
    // The app switches its mic with track.enabled. __micOffAt notes when
    // it last switched it off; while __keepSending is set, switching off
    // is ignored, as by a client whose floor_released is still on its
    // way: the server alone must then keep its packets from listeners.
    const track = dst.stream.getAudioTracks()[0];
    const enabled = Object.getOwnPropertyDescriptor(MediaStreamTrack.prototype, 'enabled');
    Object.defineProperty(track, 'enabled', {
      get() { return enabled.get.call(this); },
      set(v) {
        if (!v) window.__micOffAt = performance.timeOrigin + performance.now();
        if (!v && window.__keepSending) return;
        enabled.set.call(this, v);
      },
    });
    return dst.stream;
  };
  window.__chirpHz = [];
  // When the page sent its floor_request and got floor_granted (Unix
  // ms): a slow press-to-hear then says whether the page, the server or
  // the media path was slow.
  window.__floorAt = {};
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) {
    if (String(d).includes('"floor_request"')) window.__floorAt.request = performance.timeOrigin + performance.now();
    if (!this.__floorSpy) {
      this.__floorSpy = true;
      this.addEventListener('message', (e) => {
        if (String(e.data).includes('"floor_granted"')) window.__floorAt.granted = performance.timeOrigin + performance.now();
      });
    }
    return send.call(this, d);
  };
  const set = AudioParam.prototype.setValueAtTime;
  AudioParam.prototype.setValueAtTime = function (v, at) {
    if (v >= 100) window.__chirpHz.push(Math.round(v));
    return set.call(this, v, at);
  };
})()`, hz, toneGain)
}

// prioMeterJS measures, for each 512-sample block the page's speaker
// plays (the remote stream, at 48 kHz), the amplitude of Alice's tone and of
// Pat's (Goertzel over a Hann window: a pure tone of amplitude A gives A),
// with the wall-clock time (Unix ms) the block played. It reports false
// while the page has no remote stream yet.
var prioMeterJS = fmt.Sprintf(`(() => {
  if (window.__prio) return true;
  const el = [...document.querySelectorAll('audio')].find((a) => a.srcObject);
  if (!el) return false;
  const ctx = new AudioContext({ sampleRate: 48000 });
  const src = ctx.createMediaStreamSource(el.srcObject);
  const N = 512;
  const proc = ctx.createScriptProcessor(N, 1, 1);
  const hann = Float32Array.from({ length: N }, (_, i) => 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (N - 1)));
  const sumHann = hann.reduce((a, b) => a + b, 0);
  const amp = (x, hz) => {
    const coeff = 2 * Math.cos(2 * Math.PI * hz / 48000);
    let s1 = 0, s2 = 0;
    for (let i = 0; i < N; i++) {
      const s = x[i] * hann[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s;
    }
    return 2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - coeff * s1 * s2)) / sumHann;
  };
  const log = [];
  proc.onaudioprocess = (e) => {
    const x = e.inputBuffer.getChannelData(0);
    // When the block plays, on the audio clock mapped to the wall clock:
    // a main thread that runs this late (a loaded machine) delays the
    // callback, not the sound. playbackTime is the block's output time, a
    // block after its input was played: the time errs late, never early.
    const at = performance.timeOrigin + performance.now() - (ctx.currentTime - e.playbackTime) * 1000;
    log.push([at, amp(x, %d), amp(x, %d)]);
    if (log.length > %d) log.shift();
  };
  src.connect(proc);
  proc.connect(ctx.destination); // a ScriptProcessor runs only while connected; it outputs silence
  ctx.resume();
  window.__prio = log;
  return true;
})()`, aliceHz, patHz, meterKeep)

// meterBlock is one block prioMeterJS measured.
type meterBlock struct {
	at         float64 // Unix ms
	alice, pat float64 // each tone's amplitude
}

// readMeter returns the blocks measured so far. On a loaded machine
// Chromium may hand the ScriptProcessor the same block again when the main
// thread falls behind (same playbackTime, the one before's contents): a
// block no later than the one before is that, and is left out.
func readMeter(p *person) []meterBlock {
	p.t.Helper()
	raw := evalAs[[][3]float64](p, `window.__prio`)
	out := make([]meterBlock, 0, len(raw))
	for _, r := range raw {
		if n := len(out); n > 0 && r[0] < out[n-1].at+meterSameMS {
			continue
		}
		out = append(out, meterBlock{r[0], r[1], r[2]})
	}
	return out
}

// TestPriorityInBrowser (issue 17): in operator mode, Alice (a talk token)
// talks; Pat (a priority token) presses mid-turn and takes the floor. Bob
// (listening) hears Pat within priorityHearMax of the press, and never
// Alice and Pat at once: no block after Pat's tone starts carries Alice's
// (beyond the one block where the decoder's fade meets the next frame).
// Alice's mic goes off, she hears the busy chirp, and her page says Pat has
// priority.
func TestPriorityInBrowser(t *testing.T) {
	t.Setenv("SOTTO_SECRET", testOperatorSecret)
	app := startApp(t)
	secret := e2ee.NewSecret()
	link, err := e2ee.FormatLink("http://"+app.srv.appAddr+"/", secret)
	if err != nil {
		t.Fatal(err)
	}
	withToken := func(user string, role room.Role) string { return link + "&token=" + token(t, secret, user, role) }
	notice := func(p *person) string { return p.eval(`document.getElementById('room-notice').textContent`) }
	enter := func(p *person) {
		t.Helper()
		p.clickEnter()
		p.waitFor("a connected room", 30*time.Second, func() bool {
			s := p.state()
			if s.Connection == "closed" {
				t.Fatalf("%s: the room closed: %q", p.name, notice(p))
			}
			return s.Screen == "room" && s.Connection == "connected" && s.Self != ""
		})
	}
	alice := app.spiedPerson(t, "Alice", withToken("alice", room.RoleTalk), toneMicJS(aliceHz))
	enter(alice)
	pat := app.spiedPerson(t, "Pat", withToken("pat", room.RolePriority), toneMicJS(patHz))
	enter(pat)
	bob := app.person("Bob", withToken("bob", room.RoleListen))
	enter(bob)
	everyone := []*person{alice, pat, bob}
	for _, p := range everyone {
		p.waitFor("everyone named", 20*time.Second, func() bool {
			return strings.Join(memberNames(p.state()), ",") == "Alice,Bob,Pat"
		})
	}
	// Bob's list marks Pat as priority, and nobody else.
	if tags := bob.eval(`[...document.querySelectorAll('#members li')].map((li) => li.textContent).join(' | ')`); strings.Count(tags, "priority") != 1 || !strings.Contains(tags, "Patpriority") {
		t.Errorf("Bob's members list: %q, want Pat alone marked priority", tags)
	}
	bob.waitFor("remote audio", 30*time.Second, func() bool { return evalAs[bool](bob, prioMeterJS) })

	// Alice talks: Bob hears her tone steadily.
	aliceTalk := alice.find("button", "Hold to talk")
	if err := aliceTalk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	// Steadily: 9 in 10 of the last controlBlocks blocks carry her tone.
	bob.waitFor("Alice's tone", 10*time.Second, func() bool {
		m := readMeter(bob)
		steady := 0
		for _, b := range m[max(0, len(m)-controlBlocks):] {
			if b.alice > toneHeard {
				steady++
			}
		}
		return steady >= controlBlocks*9/10
	})
	// From here Alice's page goes on sending her tone whatever the app
	// says (toneMicJS): the server must cut her off at the switch.
	alice.eval(`(window.__chirpHz = [], window.__micOffAt = 0, window.__keepSending = true, '')`)

	// Mid-turn, Pat presses.
	patTalk := pat.find("button", "Hold to talk")
	pressAt := float64(time.Now().UnixNano()) / 1e6
	if err := patTalk.Press(); err != nil {
		t.Fatal(err)
	}
	pat.waitFor("the floor", 10*time.Second, func() bool { return pat.state().Floor.Mine })
	alice.waitFor("the reason on Alice's page", 10*time.Second, func() bool {
		return strings.Contains(notice(alice), "Pat has priority and took the floor")
	})
	if st := alice.eval(`document.getElementById('talk').dataset.state`); st != "busy" {
		t.Errorf("Alice's button is %q after Pat took the floor, want busy", st)
	}
	if off := evalAs[float64](alice, `window.__micOffAt`); off == 0 {
		t.Errorf("Alice's app did not switch her mic off when Pat took the floor")
	} else {
		t.Logf("Alice's app switched her mic off at press%+.0f ms", off-pressAt)
	}
	if hz := evalAs[[]int](alice, `window.__chirpHz`); len(hz) == 0 || hz[0] != 330 {
		t.Errorf("Alice's chirps after Pat took the floor: %v Hz, want the busy chirp (330 Hz) first", hz)
	}
	// Bob hears Pat (however late: the bound is checked below, on the
	// blocks' own times), then Pat talks on for a second.
	bob.waitFor("Pat's tone", 10*time.Second, func() bool {
		for _, b := range readMeter(bob) {
			if b.at > pressAt && b.pat > toneHeard {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // collecting Bob's blocks, not asserting on time
	blocks := readMeter(bob)
	if err := patTalk.Release(); err != nil {
		t.Fatal(err)
	}
	if err := aliceTalk.Release(); err != nil {
		t.Fatal(err)
	}

	// Bob's blocks around the press.
	firstPat, lastAlice, both := -1, -1, 0
	before, aliceBefore := 0, 0
	for i, b := range blocks {
		if b.at < pressAt-controlMS {
			continue
		}
		if b.at < pressAt {
			before++
			if b.alice > toneHeard {
				aliceBefore++
			}
		}
		if b.pat > toneHeard && firstPat < 0 && b.at >= pressAt {
			firstPat = i
		}
		if b.alice > toneHeard {
			lastAlice = i
		}
		if b.alice > toneHeard && b.pat > toneHeard {
			both++
		}
	}
	if before == 0 || aliceBefore < before*9/10 {
		t.Fatalf("Bob heard Alice in only %d of %d blocks in the %v ms before Pat's press: the control failed", aliceBefore, before, controlMS)
	}
	if firstPat < 0 {
		t.Fatalf("Bob never heard Pat after the press (%d blocks)", len(blocks))
	}
	hear := time.Duration((blocks[firstPat].at - pressAt) * float64(time.Millisecond))
	gap := time.Duration((blocks[firstPat].at - blocks[lastAlice].at) * float64(time.Millisecond))
	heardPat := 0
	for _, b := range blocks[firstPat:] {
		if b.pat > toneHeard {
			heardPat++
		}
	}
	for _, b := range blocks[max(0, firstPat-6):min(len(blocks), firstPat+6)] {
		t.Logf("  block at press%+.0f ms: Alice %.3f, Pat %.3f", b.at-pressAt, b.alice, b.pat)
	}
	floorAt := evalAs[map[string]float64](pat, `window.__floorAt`)
	t.Logf("Pat's page sent floor_request at press%+.0f ms, got floor_granted at press%+.0f ms", floorAt["request"]-pressAt, floorAt["granted"]-pressAt)
	t.Logf("press to Bob hearing Pat %v; Alice's last block %v before Pat's first; %d blocks with both; Pat heard in %d of %d blocks after", hear.Round(time.Millisecond), gap.Round(time.Millisecond), both, heardPat, len(blocks)-firstPat)
	if hear > priorityHearMax {
		t.Errorf("Bob heard Pat %v after the press, want within %v", hear, priorityHearMax)
	}
	if both > overlapBlocksMax || lastAlice > firstPat+overlapBlocksMax {
		t.Errorf("Bob heard Alice and Pat at once: %d blocks carry both tones; Alice's last block is %d after Pat's first", both, lastAlice-firstPat)
	}
	if heardPat < (len(blocks)-firstPat)*9/10 {
		t.Errorf("Bob heard Pat in only %d of %d blocks after his first", heardPat, len(blocks)-firstPat)
	}

	app.log.mu.Lock()
	pageErrors := append([]string(nil), app.log.errors...)
	app.log.mu.Unlock()
	for _, e := range pageErrors {
		t.Errorf("a page logged an error: %s", e)
	}
}
