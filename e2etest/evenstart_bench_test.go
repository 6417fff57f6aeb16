package e2etest

// Even turn starts (issue 17): does the start of a turn reach a long-lived
// listener late, and does that raise its jitter buffer's target for every
// later turn? One talker, one listener, many turns; for each turn:
//
//   - at the talker, when the app switched the mic on and when each encoded
//     frame reached the E2EE worker and left it (a tap on the worker's
//     streams, test code only): how long the first frame took, and whether
//     the first frames stalled and then came in a burst (a frame late for
//     its RTP timestamp compared with the rest of the turn);
//   - at the listener, each frame's arrival at its E2EE worker, and the
//     delay Chromium's jitter buffer (NetEq's PacketArrivalHistory) counts
//     for it: its arrival less its RTP timestamp, against the earliest such
//     figure of the frames of the last 2 s of RTP time;
//   - the listener's jitter buffer target and delay over the turn
//     (inbound-rtp jitterBufferTargetDelay, jitterBufferDelay, divided by
//     jitterBufferEmittedCount, deltas per turn).
//
// Run: go test -count=1 -run '^$' -bench EvenTurnStarts -benchtime 1x -v ./e2etest/
// (-evenstart.turns N, -evenstart.speech for speech in place of a tone,
// -evenstart.base BIN to run the same turns at the same moments on another
// build, e.g. main's: git archive main | tar -x -C /tmp/base && (cd /tmp/base
// && go build -o sotto-base .)).

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

var (
	evenTurns  = flag.Int("evenstart.turns", 50, "turns in BenchmarkEvenTurnStarts")
	evenSpeech = flag.Bool("evenstart.speech", false, "BenchmarkEvenTurnStarts: the talker says the test speech, not a steady tone")
	evenBin    = flag.String("evenstart.bin", "", "BenchmarkEvenTurnStarts: a sotto binary to use in place of this tree's")
	evenQuiet  = flag.String("evenstart.quiet", "", "BenchmarkEvenTurnStarts: silence the talker's chirps (its oscillators never start) in the room of this tree ('this') or of -evenstart.base ('base'), to compare")
	evenBase   = flag.String("evenstart.base", "", "BenchmarkEvenTurnStarts: a sotto binary (another commit's) to run the same turns on, side by side")
)

const (
	// evenHold is how long each press is held: a short phrase.
	evenHold = time.Second
	// neteqWindowMs is how much RTP time Chromium's NetEq keeps packet
	// arrivals for (PacketArrivalHistory's window): a packet's delay is
	// counted against the earliest arrival within it.
	neteqWindowMs = 2000
	// evenFirstFrames is how many frames count as a turn's start.
	evenFirstFrames = 10
	// evenLateMs is a delay that counts as a stall: two frames.
	evenLateMs = 40
	// evenPageTimeout bounds a page's life: 50 turns take about 4 minutes
	// on a loaded machine, plus entering the rooms.
	evenPageTimeout = 20 * time.Minute
)

// evenGaps are the pauses between turns, in turn: shorter than NetEq's
// window (the last turn's arrivals still count) and longer.
var evenGaps = []time.Duration{500 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}

// evenSpyJS runs in every document before the app. Test code, never shipped:
//   - window.__pcs keeps the page's RTCPeerConnections (as pcSpyJS);
//   - window.__even.mic notes the app switching its microphone on and off;
//   - the E2EE worker is started from a module that imports the app's own
//     worker and then taps its streams: every encoded frame, as it reaches
//     the worker's transform ('in') and as it leaves it ('out'), is noted
//     with its RTP timestamp and size and posted back to window.__even.frames
//     on a BroadcastChannel. The test turns the page's CSP off (the module
//     is a blob: URL).
//
// Times are performance.timeOrigin + performance.now() (ms, Unix epoch),
// comparable between the page, its worker and the other page.
const evenSpyJS = `(() => {
  if (window.__even) return;
  const now = () => performance.timeOrigin + performance.now();
  const ev = window.__even = { frames: [], mic: [] };
  const P = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends P { constructor(...a) { super(...a); window.__pcs.push(this); } };
  const d = Object.getOwnPropertyDescriptor(MediaStreamTrack.prototype, 'enabled');
  Object.defineProperty(MediaStreamTrack.prototype, 'enabled', {
    configurable: true,
    get() { return d.get.call(this); },
    set(v) { if (this.kind === 'audio' && d.get.call(this) !== v) ev.mic.push([v, now()]); d.set.call(this, v); },
  });
  const bc = new BroadcastChannel('__evenstart');
  bc.onmessage = ({ data }) => { for (const f of data) ev.frames.push(f); };
  const tap = ` + "`" + `
    const bc = new BroadcastChannel('__evenstart');
    const now = () => performance.timeOrigin + performance.now();
    let buf = [];
    setInterval(() => { if (buf.length) { bc.postMessage(buf); buf = []; } }, 200);
    const sides = new WeakMap();
    const onmsg = self.onmessage;
    self.onmessage = function (e) {
      const m = e.data;
      if (m && m.type === 'streams') sides.set(m.readable, m.side);
      return onmsg.call(this, e);
    };
    const pt = ReadableStream.prototype.pipeThrough;
    ReadableStream.prototype.pipeThrough = function (ts, o) {
      const side = sides.get(this);
      if (!side) return pt.call(this, ts, o);
      const note = (g) => new TransformStream({ transform(f, c) {
        let md = {};
        try { md = f.getMetadata(); } catch {}
        buf.push({ s: side, g, t: now(), ts: md.rtpTimestamp ?? f.timestamp, n: f.data.byteLength, q: md.sequenceNumber ?? -1, r: md.receiveTime ?? -1 });
        c.enqueue(f);
      } });
      return pt.call(pt.call(pt.call(this, note('in')), ts, o), note('out'));
    };
  ` + "`" + `;
  const W = window.Worker;
  window.Worker = class extends W {
    constructor(url, opts) {
      if (!opts || opts.type !== 'module') { super(url, opts); return; }
      const app = new URL(url, location.href).href;
      const src = 'import ' + JSON.stringify(app) + ';\n' + tap;
      super(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), opts);
    }
  };
})();`

// evenFrame is one encoded frame seen by a page's E2EE worker.
type evenFrame struct {
	Side  string  `json:"s"` // send, recv
	Stage string  `json:"g"` // in, out
	T     float64 `json:"t"` // ms since the Unix epoch
	TS    uint32  `json:"ts"`
	N     int     `json:"n"`
	Seq   int     `json:"q"`
	Recv  float64 `json:"r"`
}

type evenLog struct {
	Frames []evenFrame `json:"frames"`
	Mic    [][2]any    `json:"mic"`
}

// quietChirpsJS keeps the app's chirps from sounding: no oscillator of the
// page ever starts (the app has no other). A diagnosis, not a fix.
const quietChirpsJS = `OscillatorNode.prototype.start = function () {};`

func evenPerson(t testing.TB, b *browsertest.Browser, log *netLog, name, url string, scripts ...string) *person {
	t.Helper()
	// The rig's pageTimeout is for tests; *evenTurns turns take longer.
	p := &person{t: t, name: name, page: b.NewPage(t, evenPageTimeout)}
	log.watch(t, p.page)
	if _, err := chromedp.Call(p.page, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	for _, src := range append([]string{evenSpyJS}, scripts...) {
		if _, err := chromedp.Call(p.page, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
			t.Fatal(err)
		}
	}
	p.visit(url)
	return p
}

// frames returns p's frames of side and stage noted so far.
func (p *person) evenFrames(side, stage string) []evenFrame {
	return evalAs[evenLog](p, fmt.Sprintf(`({ frames: window.__even.frames.filter((f) => f.s === %q && f.g === %q), mic: [] })`, side, stage)).Frames
}

// micOn returns when p's app switched the mic on.
func (p *person) micOns() []float64 {
	l := evalAs[evenLog](p, `({ frames: [], mic: window.__even.mic })`)
	var out []float64
	for _, m := range l.Mic {
		if on, _ := m[0].(bool); on {
			out = append(out, m[1].(float64))
		}
	}
	return out
}

// tsMs is ts (48 kHz) as ms after base, allowing for one wrap.
func tsMs(ts, base uint32) float64 { return float64(int32(ts-base)) / 48 }

// neteqDelays is, for each frame (in arrival order), the delay NetEq's
// PacketArrivalHistory counts for it: arrival less RTP time, against the
// earliest such figure of the frames within neteqWindowMs of RTP time
// before it (the frame itself included), never below 0.
func neteqDelays(fs []evenFrame) []float64 {
	out := make([]float64, len(fs))
	if len(fs) == 0 {
		return out
	}
	base := fs[0].TS
	for i, f := range fs {
		ti := tsMs(f.TS, base)
		lo := math.Inf(1)
		for j := i; j >= 0; j-- {
			tj := tsMs(fs[j].TS, base)
			if tj < ti-neteqWindowMs {
				// arrival order is close to RTP order; stop once far out
				if ti-tj > 2*neteqWindowMs {
					break
				}
				continue
			}
			lo = min(lo, fs[j].T-tj)
		}
		out[i] = max(0, f.T-ti-lo)
	}
	return out
}

// evenSlice is how many frames make one slice of a turn (200 ms), when a
// turn's start is compared with the rest of it.
const evenSlice = evenFirstFrames

type evenTurn struct {
	// The largest lateness at the talker (as for talkStall) in each slice of
	// evenSlice frames, and at the listener (NetEq's delay), in turn order.
	talkSlices, hearSlices []float64
	gap                    time.Duration
	firstFrame             float64 // ms from mic on to the first frame at the talker's worker
	firstLate              float64 // how late that first frame was for its timestamp, against the turn's frames
	talkStall              float64 // largest lateness of the first frames (ms) at the worker's input
	talkGap                float64 // largest gap between two of the first frames at the worker's input
	talkRest               float64 // largest lateness of the turn's later frames at the worker's input
	workerMax              float64 // largest time a first frame spent in the talker's worker
	sentStall              float64 // largest lateness of the first frames as they left the worker
	hearStart              float64 // largest NetEq delay of the turn's first frames at the listener
	hearRest               float64 // largest NetEq delay of the rest of the turn
	target                 float64 // listener's jitter buffer target over the turn (ms)
	delay                  float64 // and the delay it gave (ms)
}

// evenRoom is one server with a talker and a listener in a room.
type evenRoom struct {
	name       string
	srv        *runningBinary
	alice, bob *person
	talk       *browsertest.Element
	turns      []evenTurn
}

// startBinaryFrom is startBinary with a binary built elsewhere (another
// commit, to compare).
func startBinaryFrom(t testing.TB, path string) *runningBinary {
	t.Helper()
	cmd := exec.Command(path, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	stdout := startCmd(t, cmd)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	b := readAddrs(cmd, stdout)
	if b.appAddr == "" || b.voiceUDP == "" {
		t.Fatal("the binary did not print its URLs and voice address")
	}
	go io.Copy(io.Discard, stdout)
	return b
}

func newEvenRoom(b *testing.B, br *browsertest.Browser, log *netLog, name string, srv *runningBinary, quiet bool) *evenRoom {
	r := &evenRoom{name: name, srv: srv, turns: make([]evenTurn, *evenTurns)}
	var scripts []string
	if quiet {
		r.name += " (chirps silenced)"
		scripts = append(scripts, quietChirpsJS)
	}
	r.alice = evenPerson(b, br, log, "Alice", "http://"+srv.appAddr+"/", scripts...)
	r.alice.click("button", "Create room")
	r.alice.enter()
	r.bob = evenPerson(b, br, log, "Bob", r.alice.find("textbox", "Invite link").Value)
	r.bob.enter()
	r.bob.listen()
	r.talk = r.alice.find("button", "Hold to talk")
	for try := 0; len(r.alice.evenFrames("send", "in")) == 0; try++ {
		// the mic is off, but DTX sends a frame every 400 ms
		if try == 20 {
			b.Fatal("the worker tap saw no frame at the talker: is the CSP bypassed?")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

// BenchmarkEvenTurnStarts runs *evenTurns turns in a room on the binary of
// this tree and, with -evenstart.base, at the same moments in a room on
// that binary too (built from another commit), so both see the same load.
func BenchmarkEvenTurnStarts(b *testing.B) {
	wav := toneWAV(b)
	if *evenSpeech {
		wav = browsertest.SpeechWAV(b, testSpeech)
	}
	br := browsertest.Start(b, browsertest.Options{FakeAudio: wav})
	log := &netLog{}
	srv := func() *runningBinary {
		if *evenBin != "" {
			return startBinaryFrom(b, *evenBin)
		}
		return startBinary(b)
	}
	rooms := []*evenRoom{newEvenRoom(b, br, log, "this tree", srv(), *evenQuiet == "this")}
	if *evenBase != "" {
		rooms = append(rooms, newEvenRoom(b, br, log, "base", startBinaryFrom(b, *evenBase), *evenQuiet == "base"))
	}
	turn := func(i int, hold time.Duration) {
		for k := range rooms {
			r := rooms[(i+k)%len(rooms)] // who presses first alternates
			if err := r.talk.Press(); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(hold) // the length of the turn, not a wait for a condition
		for k := range rooms {
			if err := rooms[(i+k)%len(rooms)].talk.Release(); err != nil {
				b.Fatal(err)
			}
		}
	}
	turn(0, 2*time.Second) // the first turn sets up what the listener expects
	time.Sleep(2 * time.Second)

	b.ResetTimer()
	for range b.N {
		for i := range *evenTurns {
			before := make([]audioStats, len(rooms))
			for k, r := range rooms {
				before[k] = r.bob.audioStats()
				r.turns[i].gap = evenGaps[i%len(evenGaps)]
			}
			turn(i, evenHold)
			time.Sleep(evenGaps[i%len(evenGaps)])
			for k, r := range rooms {
				d := r.bob.audioStats().minus(before[k])
				r.turns[i].delay, r.turns[i].target = d.jitterBufferMs()
			}
		}
	}
	b.StopTimer()
	time.Sleep(time.Second) // the worker taps post every 200 ms
	b.Logf("load average at the end: %s", loadAverage())
	for _, r := range rooms {
		b.Logf("%s: server counts %s", r.name, mediaCounts(b, r.srv))
		// A talker's packets the SFU dropped between its turns are gaps in
		// the sequence numbers the listener sees unless a turn renumbers.
		st := r.bob.audioStats()
		b.Logf("%s: listener %s", r.name, st)
		tag := ""
		if strings.HasPrefix(r.name, "base") {
			tag = "base-"
		}
		b.ReportMetric(st.PacketsLost, tag+"listener-lost")
		b.ReportMetric(st.NACKsSent, tag+"listener-nacks")
	}
	for _, r := range rooms {
		r.analyse(b)
		r.report(b)
	}
}

// mediaCounts is the server's sotto_media_* counters of packets.
func mediaCounts(t testing.TB, srv *runningBinary) string {
	res, err := http.Get("http://" + srv.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "sotto_media_") && strings.Contains(line, "packets_total ") {
			out = append(out, strings.TrimPrefix(line, "sotto_media_"))
		}
	}
	return strings.Join(out, ", ")
}

func loadAverage() string {
	s, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(s))[:3], " ")
}

// analyse fills r.turns from the pages' frame logs.
func (r *evenRoom) analyse(b *testing.B) {
	turns := r.turns
	ons := r.alice.micOns()
	ons = ons[len(ons)-len(turns):]
	sendIn, sendOut := r.alice.evenFrames("send", "in"), r.alice.evenFrames("send", "out")
	recv := r.bob.evenFrames("recv", "in")
	hear := neteqDelays(recv)
	outAt := map[uint32]float64{}
	for _, f := range sendOut {
		outAt[f.TS] = f.T
	}
	for i := range turns {
		on, end := ons[i], math.Inf(1)
		if i+1 < len(ons) {
			end = ons[i+1]
		}
		var first []evenFrame
		for _, f := range sendIn {
			if f.T >= on && f.T < end && f.N > dtxBytes {
				first = append(first, f)
			}
		}
		tr := &turns[i]
		if len(first) == 0 {
			b.Logf("%s, turn %d: no frame at the talker", r.name, i)
			continue
		}
		tr.firstFrame = first[0].T - on
		base := first[0].TS
		lo, loOut := math.Inf(1), math.Inf(1)
		for _, f := range first {
			lo = min(lo, f.T-tsMs(f.TS, base))
			if t, ok := outAt[f.TS]; ok {
				loOut = min(loOut, t-tsMs(f.TS, base))
			}
		}
		for k, f := range first {
			late := f.T - tsMs(f.TS, base) - lo
			if k >= evenFirstFrames {
				tr.talkRest = max(tr.talkRest, late)
			}
			if k%evenSlice == 0 {
				tr.talkSlices = append(tr.talkSlices, 0)
			}
			tr.talkSlices[k/evenSlice] = max(tr.talkSlices[k/evenSlice], late)
		}
		for k, f := range first[:min(evenFirstFrames, len(first))] {
			late := f.T - tsMs(f.TS, base) - lo
			tr.talkStall = max(tr.talkStall, late)
			if k == 0 {
				tr.firstLate = late
			}
			if k > 0 {
				tr.talkGap = max(tr.talkGap, f.T-first[k-1].T)
			}
			if t, ok := outAt[f.TS]; ok {
				tr.workerMax = max(tr.workerMax, t-f.T)
				tr.sentStall = max(tr.sentStall, t-tsMs(f.TS, base)-loOut)
			}
		}
		n := 0
		for k, f := range recv {
			if f.T < on || f.T >= end || f.N <= dtxBytes+sframeOverhead {
				continue
			}
			if n < evenFirstFrames {
				tr.hearStart = max(tr.hearStart, hear[k])
			} else {
				tr.hearRest = max(tr.hearRest, hear[k])
			}
			if n%evenSlice == 0 {
				tr.hearSlices = append(tr.hearSlices, 0)
			}
			tr.hearSlices[n/evenSlice] = max(tr.hearSlices[n/evenSlice], hear[k])
			n++
		}
	}
}

func (r *evenRoom) report(b *testing.B) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s:\nturn gap-before first-frame first-late talker-stall talker-gap talker-rest worker-max sent-stall | listener-start listener-rest target delay (ms)\n", r.name)
	var targets, stalls, starts []float64
	for i, tr := range r.turns {
		gap := time.Duration(0)
		if i > 0 {
			gap = r.turns[i-1].gap
		}
		fmt.Fprintf(&sb, "%3d %6.1fs %8.0f %8.0f %10.0f %10.0f %10.0f %10.0f %10.0f | %10.0f %10.0f %8.0f %6.0f\n", i, gap.Seconds(),
			tr.firstFrame, tr.firstLate, tr.talkStall, tr.talkGap, tr.talkRest, tr.workerMax, tr.sentStall, tr.hearStart, tr.hearRest, tr.target, tr.delay)
		targets, stalls, starts = append(targets, tr.target), append(stalls, tr.sentStall), append(starts, tr.hearStart)
	}
	b.Log("\n" + sb.String())
	count := func(xs []float64) (n float64) {
		for _, x := range xs {
			if x > evenLateMs {
				n++
			}
		}
		return n
	}
	med := func(xs []float64) float64 { s := slices.Clone(xs); slices.Sort(s); return s[len(s)/2] }
	tag := ""
	if strings.HasPrefix(r.name, "base") {
		tag = "base-"
	}
	b.ReportMetric(med(targets), tag+"target-p50-ms")
	b.ReportMetric(slices.Max(targets), tag+"target-max-ms")
	b.ReportMetric(med(targets[len(targets)*4/5:]), tag+"target-last5th-p50-ms")
	b.ReportMetric(count(stalls), tag+"talker-stalls")
	b.ReportMetric(count(starts), tag+"late-starts")
	// Is a turn's start special? The share of first slices with a frame
	// late by more than evenLateMs, against the share of the later full
	// slices of the turns.
	rate := func(slices func(evenTurn) []float64) (first, later float64) {
		var nf, nl, lf, ll float64
		for _, tr := range r.turns {
			for k, x := range slices(tr) {
				if k == len(slices(tr))-1 && k > 0 {
					break // the last slice may be short, and hold the release
				}
				late := 0.0
				if x > evenLateMs {
					late = 1
				}
				if k == 0 {
					nf, lf = nf+1, lf+late
				} else {
					nl, ll = nl+1, ll+late
				}
			}
		}
		return 100 * lf / max(nf, 1), 100 * ll / max(nl, 1)
	}
	tf, tl := rate(func(tr evenTurn) []float64 { return tr.talkSlices })
	hf, hl := rate(func(tr evenTurn) []float64 { return tr.hearSlices })
	b.Logf("%s: slices of %d frames with a frame late > %d ms: at the talker %.0f%% of first slices, %.0f%% of later ones; at the listener (NetEq's count) %.0f%% / %.0f%%",
		r.name, evenSlice, evenLateMs, tf, tl, hf, hl)
	b.ReportMetric(tf, tag+"talker-late-first-slice-%")
	b.ReportMetric(tl, tag+"talker-late-later-slice-%")
	b.ReportMetric(hf, tag+"listener-late-first-slice-%")
	b.ReportMetric(hl, tag+"listener-late-later-slice-%")
	b.Logf("%s: listener's target per turn (ms): %.0f", r.name, targets)
}

// A frame of at most dtxBytes is Opus DTX or its silence updates, not the
// tone or speech; at the listener the E2EE has added at most sframeOverhead
// (the SFrame header and tag).
const (
	dtxBytes       = 10
	sframeOverhead = 1 + 17 + 16
)
