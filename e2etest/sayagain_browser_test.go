package e2etest

// "Say again" on the real binary: Bob, listening, plays Alice's last turn
// again; his page plays the speech (correlated with the source), sends
// nothing while it does (no request, no WebSocket frame but the keepalive
// ping, and Alice hears silence), and after Leave nothing of the turn is
// left in the page: the store says zero, every block of samples it used was
// zeroed, and a heap snapshot finds neither its turn objects nor buffers of
// its block size. The same snapshot taken before Leave finds them, so the
// check can see what it looks for.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

// sayAgainChunkFrames is static/js/sayagain.js CHUNK_FRAMES: the store's
// blocks are Int16Arrays of this length.
const sayAgainChunkFrames = 24000

// Alice's turn lasts turnHeld; Bob records replayRecorded of its replay
// (as long as talkUntilHeard's recordings, which judge live speech the same
// way), then stops it, well before its end.
const (
	turnHeld       = 6 * time.Second
	replayRecorded = 4 * time.Second
)

// sayAgainSpyJS runs before the app in Bob's page. It is the test's, never
// shipped:
//   - every Int16Array of the store's block length made in the page is
//     remembered in __sayAgainBlocks, so the test can see they were zeroed;
//   - whatever the page connects to an AudioContext's speakers (a replay,
//     a chirp) is also connected to a recorder in that context,
//     __sayAgainRec, which records what the page plays through Web Audio
//     the way browsertest's recorder records the <audio> element.
const sayAgainSpyJS = `(() => {
  const Base = Int16Array;
  const blocks = [];
  window.__sayAgainBlocks = blocks;
  window.Int16Array = class extends Base {
    constructor(...args) {
      super(...args);
      if (this.length === ` + "24000" + ` && window.__sayAgainBlocks) window.__sayAgainBlocks.push(this);
    }
  };
  const rec = { chunks: [], recording: false, rate: 0 };
  window.__sayAgainRec = rec;
  const taps = new WeakMap();
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (dest, ...rest) {
    const out = connect.call(this, dest, ...rest);
    // Not browsertest's own recorder (a ScriptProcessor in a context of
    // its own, playing silence): its frames would interleave with these.
    if (dest instanceof AudioDestinationNode && !(this instanceof ScriptProcessorNode)) {
      const ctx = dest.context;
      let tap = taps.get(ctx);
      if (!tap) {
        // The largest buffer: a busy main thread (a loaded machine) then
        // has a third of a second to take each one before audio is lost.
        tap = ctx.createScriptProcessor(16384, 1, 1);
        tap.onaudioprocess = (e) => {
          if (rec.recording) rec.chunks.push(Float32Array.from(e.inputBuffer.getChannelData(0)));
        };
        connect.call(tap, ctx.destination); // a ScriptProcessor runs only while connected; it outputs silence
        taps.set(ctx, tap);
        rec.rate = ctx.sampleRate;
      }
      connect.call(this, tap);
    }
    return out;
  };
})()`

// sayAgainStopJS stops the Web Audio recorder and returns its rate and
// samples as 16-bit PCM in base64.
const sayAgainStopJS = `(() => {
  const r = window.__sayAgainRec;
  r.recording = false;
  const n = r.chunks.reduce((s, c) => s + c.length, 0);
  const pcm = new Uint16Array(n);
  let i = 0;
  for (const c of r.chunks) for (const v of c) pcm[i++] = Math.max(-32768, Math.min(32767, Math.round(v * 32767))) & 0xffff;
  r.chunks = [];
  let bin = '';
  const bytes = new Uint8Array(pcm.buffer);
  for (let j = 0; j < bytes.length; j += 0x8000) bin += String.fromCharCode(...bytes.subarray(j, j + 0x8000));
  return JSON.stringify({ rate: r.rate, pcm: btoa(bin) });
})()`

type sayAgainState struct {
	Count  int   `json:"count"`
	Bytes  int   `json:"bytes"`
	Listed int   `json:"listed"`
	Gaps   []int `json:"gaps"` // ms of each outage marked, newest first
}

func sayAgainOf(p *person) sayAgainState {
	p.t.Helper()
	return evalAs[sayAgainState](p, `window.sottoState().sayAgain`)
}

func TestSayAgainInBrowser(t *testing.T) {
	app := startApp(t)
	alice := app.creator("Alice")

	// Bob's page has its own log, so what his page sends can be told apart.
	bobLog := &netLog{}
	bob := &person{t: t, name: "Bob", page: app.b.NewPage(t, pageTimeout)}
	bobLog.watch(t, bob.page)
	if _, err := chromedp.Call(bob.page, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: sayAgainSpyJS}); err != nil {
		t.Fatal(err)
	}
	bob.visit(alice.find("textbox", "Invite link").Value)
	bob.enter()
	bob.waitFor("both names", 20*time.Second, func() bool { return bothNamed(bob.state()) })
	if bob.eval(`String(document.getElementById('say-again').disabled)`) != "true" {
		t.Fatal("Say again is enabled with nothing heard")
	}
	if note := bob.eval(`document.getElementById('say-again-note').textContent`); !strings.Contains(note, "Nothing to play again") {
		t.Fatalf("Say again's note with nothing heard: %q", note)
	}

	// Alice talks a turn and Bob's page keeps it. How well Bob heard it
	// live is other tests' business (talkUntilHeard): here the replay is
	// judged, and what it plays is only as good as what was heard.
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	time.Sleep(turnHeld) // the length of the turn, not an assertion
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	bob.waitFor("the turn in Say again's list", 10*time.Second, func() bool {
		return sayAgainOf(bob).Listed == 1 && bob.state().Floor.Holder == ""
	})
	kept := sayAgainOf(bob)
	t.Logf("Bob keeps %d turn(s) in %d bytes", kept.Count, kept.Bytes)
	item := bob.eval(`document.querySelector('#heard button')?.getAttribute('aria-label') ?? ''`)
	if !strings.HasPrefix(item, "Play Alice, ") {
		t.Fatalf("the list's turn reads %q, want Alice's name, time and length", item)
	}

	// Bob presses Say again; his page's speakers are recorded until the
	// replay ends, and Alice's at the same time.
	alice.listen()
	if err := browsertest.StartRecording(alice.page); err != nil {
		t.Fatal(err)
	}
	bob.eval(`(() => { const r = window.__sayAgainRec; r.chunks = []; r.recording = true; return ''; })()`)
	bobLog.mu.Lock()
	sentBefore := len(bobLog.items)
	bobLog.mu.Unlock()
	bob.click("button", "Say again")
	stop := bob.find("button", "Stop playing again")
	time.Sleep(replayRecorded) // collecting samples, not asserting on time
	if err := stop.Click(); err != nil {
		t.Fatal(err)
	}
	bob.waitFor("the replay stopped", 10*time.Second, func() bool {
		return bob.eval(`document.getElementById('say-again').textContent`) == "Say again"
	})
	var got struct {
		Rate int    `json:"rate"`
		PCM  string `json:"pcm"`
	}
	if err := json.Unmarshal([]byte(bob.eval(sayAgainStopJS)), &got); err != nil {
		t.Fatal(err)
	}
	aliceHeard, err := browsertest.StopRecording(alice.page)
	if err != nil {
		t.Fatal(err)
	}
	replay := decodeReplay(t, got.PCM, got.Rate)
	corr := browsertest.WindowedCorrelation(app.source, replay)
	t.Logf("the replay: %.1f s, median correlation %.2f over %d windows", float64(len(replay))/browsertest.AnalysisRate, browsertest.Median(corr), len(corr))
	if len(corr) < 5 || browsertest.Median(corr) <= heardCorrelation {
		t.Fatalf("Bob's replay does not play Alice's turn: median correlation %.2f over %d windows", browsertest.Median(corr), len(corr))
	}
	if rms := browsertest.RMS(aliceHeard); rms >= silentRMS {
		t.Errorf("Alice heard something (RMS %.4f) while Bob played the turn again", rms)
	}
	bobLog.mu.Lock()
	during := append([]string(nil), bobLog.items[sentBefore:]...)
	bobLog.mu.Unlock()
	pings, icons := 0, 0
	for _, it := range during {
		switch {
		case strings.HasPrefix(it, "ws-sent: "):
			var m struct {
				Type string `json:"type"`
			}
			if json.Unmarshal([]byte(strings.TrimPrefix(it, "ws-sent: ")), &m) != nil || m.Type != "ping" {
				t.Errorf("Bob's page sent a WebSocket frame during the replay: %.200s", it)
			}
			pings++
		case strings.HasPrefix(it, "url: "):
			// The browser's own fetches of the app's fixed icons (the lock
			// screen's artwork, the tab's icon) carry nothing of the page's.
			u, err := url.Parse(strings.TrimPrefix(it, "url: "))
			if err != nil || u.Host != app.srv.appAddr || !strings.HasPrefix(u.Path, "/icons/") || u.RawQuery != "" {
				t.Errorf("Bob's page made a request during the replay: %.200s", it)
				continue
			}
			icons++
		case strings.HasPrefix(it, "body: "), strings.HasPrefix(it, "ws-url: "):
			t.Errorf("Bob's page sent something during the replay: %.200s", it)
		}
	}
	t.Logf("during the replay Bob's page sent %d keepalive ping(s) and fetched %d icon(s), nothing else", pings, icons)

	// The check below can see the store's turns while they exist.
	before := heapCensus(t, bob.page)
	if before.turns == 0 || before.blocks == 0 {
		t.Fatalf("before Leave, the heap snapshot finds %d ReplayTurn objects and %d block buffers: it cannot see what it looks for", before.turns, before.blocks)
	}

	bob.click("button", "Leave")
	bob.waitFor("the home screen", 10*time.Second, func() bool { return bob.state().Screen == "home" })
	if left := sayAgainOf(bob); left.Count != 0 || left.Bytes != 0 || left.Listed != 0 {
		t.Errorf("after Leave the page still keeps %+v", left)
	}
	var blocks struct{ N, Nonzero int }
	if err := json.Unmarshal([]byte(bob.eval(`JSON.stringify({ N: window.__sayAgainBlocks.length, Nonzero: window.__sayAgainBlocks.filter((b) => b.some((v) => v !== 0)).length })`)), &blocks); err != nil {
		t.Fatal(err)
	}
	if blocks.N == 0 || blocks.Nonzero != 0 {
		t.Errorf("after Leave, %d of the %d blocks the store used still hold samples", blocks.Nonzero, blocks.N)
	}
	// The test's own references go; what is left is what the app keeps.
	bob.eval(`(() => { window.__sayAgainBlocks.length = 0; window.__sayAgainBlocks = null; return ''; })()`)
	after := heapCensus(t, bob.page)
	t.Logf("heap: %d ReplayTurn objects and %d block buffers before Leave, %d and %d after", before.turns, before.blocks, after.turns, after.blocks)
	if after.turns != 0 || after.blocks != 0 {
		t.Errorf("after Leave the page's heap holds %d ReplayTurn objects and %d buffers of a block's size", after.turns, after.blocks)
	}
}

// decodeReplay turns 16-bit PCM in base64 at rate (the page's AudioContext
// rate: 44.1 kHz here, 48 kHz on many phones) into samples at AnalysisRate.
// Another rate is first brought to RecordRate by linear interpolation: its
// images lie far above what Decimate keeps of speech.
func decodeReplay(t *testing.T, b64 string, rate int) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	if rate <= 0 {
		t.Fatalf("the page's audio rate is %d", rate)
	}
	x := make([]float32, len(raw)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
	}
	if rate != browsertest.RecordRate && len(x) > 1 {
		step := float64(rate) / browsertest.RecordRate
		y := make([]float32, int(float64(len(x)-1)/step))
		for i := range y {
			pos := float64(i) * step
			j := int(pos)
			f := float32(pos - float64(j))
			y[i] = x[j]*(1-f) + x[j+1]*f
		}
		x = y
	}
	return browsertest.Decimate(x, browsertest.RecordRate/browsertest.AnalysisRate)
}

type census struct{ turns, blocks int }

// heapCensus takes a heap snapshot of the page (after a collection) and
// counts the turn objects of static/js/sayagain.js and the buffers the size
// of one of its blocks (the backing store of an Int16Array of
// sayAgainChunkFrames).
func heapCensus(t *testing.T, pg context.Context) census {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	chromedp.Listen(pg, func(ev any) {
		if c, ok := ev.(*heapprofiler.EventAddHeapSnapshotChunk); ok {
			mu.Lock()
			buf.WriteString(c.Chunk)
			mu.Unlock()
		}
	})
	if _, err := chromedp.Call(pg, heapprofiler.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(pg, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(pg, heapprofiler.TakeHeapSnapshot, heapprofiler.TakeHeapSnapshotParams{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var snap struct {
		Snapshot struct {
			Meta struct {
				NodeFields []string          `json:"node_fields"`
				NodeTypes  []json.RawMessage `json:"node_types"`
			} `json:"meta"`
		} `json:"snapshot"`
		Nodes   []int64  `json:"nodes"`
		Strings []string `json:"strings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &snap); err != nil {
		t.Fatalf("heap snapshot: %v", err)
	}
	fields := snap.Snapshot.Meta.NodeFields
	idx := func(name string) int {
		for i, f := range fields {
			if f == name {
				return i
			}
		}
		t.Fatalf("heap snapshot nodes have no %q field: %v", name, fields)
		return 0
	}
	var types []string
	if err := json.Unmarshal(snap.Snapshot.Meta.NodeTypes[0], &types); err != nil {
		t.Fatal(err)
	}
	fType, fName, fSize := idx("type"), idx("name"), idx("self_size")
	var c census
	for i := 0; i+len(fields) <= len(snap.Nodes); i += len(fields) {
		typ := types[snap.Nodes[i+fType]]
		name := snap.Strings[snap.Nodes[i+fName]]
		size := snap.Nodes[i+fSize]
		switch {
		case typ == "object" && name == "ReplayTurn":
			c.turns++
		case typ == "native" && size == 2*sayAgainChunkFrames:
			c.blocks++
		}
	}
	return c
}
