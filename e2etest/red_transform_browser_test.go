package e2etest

// Does an encoded transform see RED (RFC 2198) or Opus frames when a call
// negotiates audio/red (issue 16)? It decides whether RED can go with our
// E2EE: a transform that gets the RED packet would encrypt its block
// headers, which the receiving browser needs in the clear to take the
// packet apart, and each redundant copy would be encrypted again inside
// every later packet. design.md §7: "whether an encoded transform sees RED
// or Opus frames differs by browser and version: measure before relying on
// it". Here it is measured, with two PeerConnections in one page over
// loopback, RED preferred on both, through the API the app uses in each
// browser (attach.js: createEncodedStreams in Chromium,
// RTCRtpScriptTransform in Firefox), and asserted, so that a browser update
// that changes it fails this test.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

// redRunMS is how long the page lets audio flow before it reports: some
// hundred 20 ms frames each way.
const redRunMS = 3000

// redDeadline bounds a browser's start and the page's run.
const redDeadline = 60 * time.Second

// redMaxResult bounds the page's report (30 frame samples per side).
const redMaxResult = 64 << 10

// redCommonJS records what a transform sees, in the page and in the worker.
const redCommonJS = `
export const SAMPLES = 30; // frames kept per side, for their first bytes
export function newLog() { return { frames: 0, byPt: {}, mimes: {}, samples: [] }; }
export function see(log, frame) {
  const md = typeof frame.getMetadata === 'function' ? frame.getMetadata() : {};
  const pt = String(md.payloadType ?? 'none');
  const mime = String(md.mimeType ?? 'none');
  const d = new Uint8Array(frame.data);
  log.frames++;
  log.byPt[pt] = (log.byPt[pt] ?? 0) + 1;
  log.mimes[mime] = (log.mimes[mime] ?? 0) + 1;
  if (d.length > 0 && log.samples.length < SAMPLES) log.samples.push({ pt, size: d.length, head: Array.from(d.slice(0, 16)) });
}
// recording passes frames on after noting them. With mangle, the sender
// XORs each whole frame and the receiver undoes it (the shape of an E2EE
// transform that encrypts whatever frame it gets), and the sender drops
// every dropEvery-th frame (a lost packet, but no sequence gap: RED's
// redundant copy is all the receiver gets of it).
export function recording(log, side = 'send', mangle = false, dropEvery = 0) {
  let n = 0;
  const xor = (frame) => {
    const d = new Uint8Array(frame.data);
    for (let i = 0; i < d.length; i++) d[i] ^= 0x5a;
    frame.data = d.buffer;
  };
  return new TransformStream({ transform(frame, c) {
    try {
      if (side === 'recv' && mangle) xor(frame);
      see(log, frame);
      if (side === 'send' && mangle) {
        xor(frame);
        if (dropEvery > 0 && ++n % dropEvery === 0) return;
      }
    } catch {}
    c.enqueue(frame);
  } });
}
`

// redWorkerJS is the RTCRtpScriptTransform side: it posts its logs back.
const redWorkerJS = `
import { newLog, recording } from './red-common.js';
const logs = {};
onrtctransform = (ev) => {
  const { readable, writable, options } = ev.transformer;
  const log = logs[options.side] = newLog();
  readable.pipeThrough(recording(log, options.side)).pipeTo(writable);
};
onmessage = () => postMessage(logs);
`

// redPageJS runs the call and resolves window.__redResult; with ?post it
// also POSTs the result to /result (browsertest.FirefoxPage).
const redPageJS = `
import { newLog, recording } from './red-common.js';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lower = (c) => c.mimeType.toLowerCase();

// parseRED reads a sample as an RFC 2198 payload whose blocks all carry
// opusPt: 'red' with its redundant block count if every header names Opus
// and the lengths fit, else 'bare' (an Opus TOC byte does not parse so).
function parseRED(s, opusPt) {
  const h = s.head;
  let i = 0, blocks = 0, lens = 0;
  while (i < h.length && (h[i] & 0x80)) {
    if ((h[i] & 0x7f) !== opusPt || i + 3 >= h.length) return { kind: 'bare' };
    lens += ((h[i + 2] & 0x03) << 8) | h[i + 3];
    i += 4;
    blocks++;
  }
  if (i >= h.length || (h[i] & 0x7f) !== opusPt || lens + i + 1 > s.size) return { kind: 'bare' };
  return { kind: 'red', blocks };
}

async function run() {
  const q = new URLSearchParams(location.search);
  const mangle = q.has('mangle'), dropEvery = Number(q.get('drop') ?? 0);
  const caps = RTCRtpSender.getCapabilities('audio').codecs;
  const red = q.get('codec') === 'opus' ? [] : caps.filter((c) => lower(c) === 'audio/red');
  const opus = caps.filter((c) => lower(c) === 'audio/opus');
  const legacy = typeof RTCRtpSender.prototype.createEncodedStreams === 'function' && q.get('api') !== 'script';
  const api = legacy ? 'encoded-streams' : 'script-transform';
  const config = legacy ? { encodedInsertableStreams: true } : {};
  const worker = legacy ? null : new Worker('./red-worker.js', { type: 'module' });
  const logs = { send: newLog(), recv: newLog() };
  const attach = (target, side) => {
    if (legacy) {
      const { readable, writable } = target.createEncodedStreams();
      readable.pipeThrough(recording(logs[side], side, mangle, dropEvery)).pipeTo(writable);
    } else {
      target.transform = new RTCRtpScriptTransform(worker, { side });
    }
  };
  const pc1 = new RTCPeerConnection(config), pc2 = new RTCPeerConnection(config);
  pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate);
  pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate);
  pc2.ontrack = (e) => {
    attach(e.receiver, 'recv');
    const a = document.createElement('audio');
    a.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    a.play().catch(() => {});
  };
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const tr = pc1.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
  attach(tr.sender, 'send');
  tr.setCodecPreferences([...red, ...opus]);
  await pc1.setLocalDescription(await pc1.createOffer());
  await pc2.setRemoteDescription(pc1.localDescription);
  const rcaps = RTCRtpReceiver.getCapabilities('audio').codecs;
  pc2.getTransceivers()[0].setCodecPreferences([...(red.length ? rcaps.filter((c) => lower(c) === 'audio/red') : []), ...rcaps.filter((c) => lower(c) === 'audio/opus')]);
  await pc2.setLocalDescription(await pc2.createAnswer());
  await pc1.setRemoteDescription(pc2.localDescription);
  await sleep(${RUN_MS});

  const answerCodecs = {};
  for (const m of pc2.localDescription.sdp.matchAll(/^a=rtpmap:(\d+) ([^\r\n]+)$/gm)) answerCodecs[m[1]] = m[2];
  const ptOf = (name) => Number(Object.keys(answerCodecs).find((pt) => answerCodecs[pt].toLowerCase().startsWith(name)) ?? -1);
  const codecOf = async (pc, type) => {
    const st = await pc.getStats();
    let mime = '';
    st.forEach((s) => { if (s.type === type && s.kind === 'audio' && s.codecId) mime = st.get(s.codecId)?.mimeType ?? ''; });
    return mime;
  };
  const played = { concealed: 0, samples: 0, packets: 0 };
  (await pc2.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
    played.concealed = s.concealedSamples ?? 0;
    played.samples = s.totalSamplesReceived ?? 0;
    played.packets = s.packetsReceived ?? 0;
  });
  if (worker) {
    const got = await new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.postMessage('logs'); });
    Object.assign(logs, got);
  }
  const opusPt = ptOf('opus/'), redPt = ptOf('red/');
  const kinds = (log) => {
    const k = { red: 0, bare: 0, blocks: {} };
    for (const s of log.samples) {
      const r = parseRED(s, opusPt);
      k[r.kind]++;
      if (r.kind === 'red') k.blocks[r.blocks] = (k.blocks[r.blocks] ?? 0) + 1;
    }
    return k;
  };
  return {
    agent: navigator.userAgent, api,
    capabilities: caps.map(lower),
    answerCodecs, opusPt, redPt,
    outboundCodec: await codecOf(pc1, 'outbound-rtp'),
    inboundCodec: await codecOf(pc2, 'inbound-rtp'),
    send: logs.send, recv: logs.recv,
    sendKinds: kinds(logs.send), recvKinds: kinds(logs.recv), played,
  };
}

window.__redResult = run().catch((e) => ({ error: String(e && e.stack || e) }));
if (new URLSearchParams(location.search).has('post')) {
  window.__redResult.then((r) => fetch('/result', { method: 'POST', body: JSON.stringify(r) }));
}
`

// redHandler serves the experiment's page, its module and its worker.
func redHandler() http.Handler {
	mux := http.NewServeMux()
	file := func(path, ctype, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			io.WriteString(w, body)
		})
	}
	file("/red.html", "text/html; charset=utf-8", `<!doctype html><meta charset="utf-8"><script type="module" src="./red-page.js"></script>`)
	file("/red-page.js", "text/javascript", strings.ReplaceAll(redPageJS, "${RUN_MS}", strconv.Itoa(redRunMS)))
	file("/red-common.js", "text/javascript", redCommonJS)
	file("/red-worker.js", "text/javascript", redWorkerJS)
	return mux
}

// redLog is what one side's transform saw.
type redLog struct {
	Frames  int            `json:"frames"`
	ByPT    map[string]int `json:"byPt"`
	Mimes   map[string]int `json:"mimes"`
	Samples []struct {
		PT   string `json:"pt"`
		Size int    `json:"size"`
		Head []int  `json:"head"`
	} `json:"samples"`
}

// redKinds counts a side's sampled frames that parse as RED and that do not.
type redKinds struct {
	RED    int            `json:"red"`
	Bare   int            `json:"bare"`
	Blocks map[string]int `json:"blocks"`
}

type redResult struct {
	Error         string            `json:"error"`
	Agent         string            `json:"agent"`
	API           string            `json:"api"`
	Capabilities  []string          `json:"capabilities"`
	AnswerCodecs  map[string]string `json:"answerCodecs"`
	OpusPT        int               `json:"opusPt"`
	REDPT         int               `json:"redPt"`
	OutboundCodec string            `json:"outboundCodec"`
	InboundCodec  string            `json:"inboundCodec"`
	Send          redLog            `json:"send"`
	Recv          redLog            `json:"recv"`
	SendKinds     redKinds          `json:"sendKinds"`
	RecvKinds     redKinds          `json:"recvKinds"`
	Played        struct {
		Concealed float64 `json:"concealed"`
		Samples   float64 `json:"samples"`
		Packets   float64 `json:"packets"`
	} `json:"played"`
}

// concealed is the share of the receiver's played samples its decoder made up.
func (r redResult) concealed() float64 {
	if r.Played.Samples == 0 {
		return 0
	}
	return r.Played.Concealed / r.Played.Samples
}

func (r redResult) log(t *testing.T) {
	t.Helper()
	t.Logf("%s, %s: capabilities %v; answer %v; outbound %s, inbound %s; receiver played %.0f samples (%.1f%% concealed) from %.0f packets",
		r.Agent, r.API, r.Capabilities, r.AnswerCodecs, r.OutboundCodec, r.InboundCodec, r.Played.Samples, 100*r.concealed(), r.Played.Packets)
	for _, s := range []struct {
		side  string
		log   redLog
		kinds redKinds
	}{{"sender", r.Send, r.SendKinds}, {"receiver", r.Recv, r.RecvKinds}} {
		t.Logf("%s transform: %d frames, payload types %v, mime types %v; sampled frames: %d RED (redundant blocks %v), %d bare", s.side, s.log.Frames, s.log.ByPT, s.log.Mimes, s.kinds.RED, s.kinds.Blocks, s.kinds.Bare)
		for i, f := range s.log.Samples {
			if i == 4 {
				break
			}
			t.Logf("  %s frame pt %s, %d bytes, starts % x", s.side, f.PT, f.Size, f.Head)
		}
	}
}

// redChromium runs the page in Chromium with query and returns its report.
func redChromium(t *testing.T, b *browsertest.Browser, base, query string) redResult {
	t.Helper()
	page := b.NewPage(t, redDeadline)
	if err := chromedp.Do(page, chromedp.Navigate(base+"/red.html?"+query)); err != nil {
		t.Fatal(err)
	}
	// The module sets window.__redResult when it has loaded.
	deadline := time.Now().Add(redDeadline)
	for {
		ready, err := browsertest.Eval[bool](page, "window.__redResult !== undefined")
		if err != nil {
			t.Fatal(err)
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page's module never ran")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r, err := browsertest.Eval[redResult](page, "window.__redResult")
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != "" {
		t.Fatalf("the page failed: %s", r.Error)
	}
	t.Logf("?%s", query)
	r.log(t)
	return r
}

// redConcealedRatio is how much less the receiver must conceal with RED
// than without when every fifth frame is dropped (measured: 3.4% against
// 18.6%).
const redConcealedRatio = 0.5

// redDropMinConcealed is the least a receiver conceals without RED when
// every fifth frame is dropped, or the drop did not happen (measured 18.6%).
const redDropMinConcealed = 0.08

// seesFrames asserts which frames both of r's transforms saw: all RED
// packets (payload type red, every sample parsing as RFC 2198 with Opus
// blocks) or all bare Opus.
func seesFrames(t *testing.T, r redResult, red bool) {
	t.Helper()
	pt, kind := r.OpusPT, "Opus"
	if red {
		pt, kind = r.REDPT, "RED"
	}
	for _, s := range []struct {
		side  string
		log   redLog
		kinds redKinds
	}{{"sender", r.Send, r.SendKinds}, {"receiver", r.Recv, r.RecvKinds}} {
		if s.log.Frames == 0 || s.log.ByPT[strconv.Itoa(pt)] != s.log.Frames {
			t.Errorf("%s (%s): the %s transform saw payload types %v, not only %s's %d", r.Agent, r.API, s.side, s.log.ByPT, kind, pt)
		}
		if got := s.kinds.RED > 0 && s.kinds.Bare == 0; got != red || s.kinds.RED+s.kinds.Bare == 0 {
			t.Errorf("%s (%s): the %s transform's sampled frames: %d parse as RED, %d not; want all %s", r.Agent, r.API, s.side, s.kinds.RED, s.kinds.Bare, kind)
		}
	}
}

// Chromium 156 negotiates RED, and both of its transform APIs get the RED
// packet, block headers and all, on the sender and on the receiver: a
// transform that encrypts the frame it gets encrypts the whole packet. It
// still works end to end, because the receiving transform gets the whole
// packet too and the browser takes it apart only after decryption: with
// every frame XORed whole and every fifth one dropped, the redundant copies
// in the next packets fill the gaps.
func TestREDThroughEncodedTransformChromium(t *testing.T) {
	srv := httptest.NewServer(redHandler())
	defer srv.Close()
	b := browsertest.Start(t, browsertest.Options{})
	for _, query := range []string{"", "api=script"} {
		r := redChromium(t, b, srv.URL, query)
		if !slices.Contains(r.Capabilities, "audio/red") || r.REDPT < 0 {
			t.Fatalf("%s: audio/red not offered or not negotiated: capabilities %v, answer %v", r.Agent, r.Capabilities, r.AnswerCodecs)
		}
		seesFrames(t, r, true)
	}
	red := redChromium(t, b, srv.URL, "mangle&drop=5")
	seesFrames(t, red, true)
	opus := redChromium(t, b, srv.URL, "mangle&drop=5&codec=opus")
	seesFrames(t, opus, false)
	if opus.concealed() < redDropMinConcealed {
		t.Errorf("without RED, every fifth frame dropped: %.1f%% concealed; the drop did not take", 100*opus.concealed())
	}
	if red.Played.Samples == 0 || red.concealed() > redConcealedRatio*opus.concealed() {
		t.Errorf("RED through a whole-frame transform: %.1f%% concealed of %.0f samples, against %.1f%% without RED",
			100*red.concealed(), red.Played.Samples, 100*opus.concealed())
	}
}

// Firefox ESR 153 has no audio/red: asked for it, the call is plain Opus,
// and its RTCRtpScriptTransform sees Opus frames. When a Firefox offers RED,
// this fails: measure then what its transform sees.
func TestREDThroughEncodedTransformFirefox(t *testing.T) {
	var r redResult
	browsertest.FirefoxPage{Handler: redHandler(), Path: "/red.html?post", MaxResult: redMaxResult, Deadline: redDeadline}.Run(t, &r)
	r.log(t)
	if slices.Contains(r.Capabilities, "audio/red") || r.REDPT >= 0 {
		t.Fatalf("%s now offers audio/red (capabilities %v, answer %v): measure what its transform sees", r.Agent, r.Capabilities, r.AnswerCodecs)
	}
	seesFrames(t, r, false)
}
