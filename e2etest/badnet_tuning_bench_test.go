package e2etest

// What else helps a listener on bad networks (issue 16): the listener's
// jitter buffer target and the talker's packet time, each measured with the
// grid's call (listenTweaked: two Chromium pages behind the impairment
// relay, the server's default build) under the conditions it should matter
// for. The settings of one condition alternate within a run, repeated
// tuningRepeats times: the windowed correlation moves with the machine's
// load, and alternating spreads that load over every setting alike.
// Nothing here changes the app: a setting is applied by a script in the
// test's pages only.
//
// Run: go test -count=1 -run '^$' -bench VoiceTuning -benchtime 1x -v ./e2etest/
// (VoiceTuning/jitterbuffer or VoiceTuning/ptime for one half).

import (
	"fmt"
	"strings"
	"testing"

	"sotto/browsertest"
	"sotto/internal/netsim"
)

// tuningRepeats is how often each setting of a condition is run.
const tuningRepeats = 3

// pageTweak changes a test page's WebRTC for a measurement: init runs in
// every document before the app (after pcSpyJS), after runs on both pages
// once they are in the room and must answer a string, logged.
type pageTweak struct {
	name  string
	init  string
	after string
}

func (tw pageTweak) scripts() []string {
	if tw.init == "" {
		return nil
	}
	return []string{tw.init}
}

func (tw pageTweak) applyAfterEnter(t testing.TB, people ...*person) {
	t.Helper()
	if tw.after == "" {
		return
	}
	for _, p := range people {
		t.Logf("%s %s: %s", p.name, tw.name, evalAs[string](p, tw.after))
	}
}

// jitterTargetTweak sets every receiver's jitterBufferTarget (ms) on the
// page's connected PeerConnection; 0 leaves the browser's default.
func jitterTargetTweak(ms int) pageTweak {
	tw := pageTweak{name: fmt.Sprintf("target%d", ms)}
	if ms == 0 {
		return tw
	}
	tw.after = fmt.Sprintf(`(() => {
  const pc = (window.__pcs ?? []).filter((p) => p.connectionState === 'connected').pop();
  if (!pc) return 'no connected PeerConnection';
  for (const r of pc.getReceivers()) r.jitterBufferTarget = %d;
  return 'jitterBufferTarget ' + pc.getReceivers().map((r) => r.jitterBufferTarget).join(',');
})()`, ms)
	return tw
}

// ptimeTweak puts a=ptime:ms into every answer the page applies (the
// server's), so the page's Opus encoder sends ms-long packets (libwebrtc
// takes the remote description's ptime as the encoder's frame size).
func ptimeTweak(ms int) pageTweak {
	return pageTweak{
		name: fmt.Sprintf("ptime%d", ms),
		init: fmt.Sprintf(`(() => {
  const proto = window.RTCPeerConnection && window.RTCPeerConnection.prototype;
  if (!proto || proto.__ptime) return;
  const orig = proto.setRemoteDescription;
  proto.__ptime = %d;
  proto.setRemoteDescription = function (desc, ...rest) {
    if (desc && desc.type === 'answer' && desc.sdp && !/^a=ptime:/m.test(desc.sdp)) {
      desc = { type: desc.type, sdp: desc.sdp.replace(/^(a=rtpmap:\d+ opus\/48000[^\r\n]*)(\r?\n)/im, '$1$2a=ptime:%d$2') };
      window.__ptimeAnswer = (desc.sdp.match(/^a=ptime:.*$/m) || [''])[0];
    }
    return orig.call(this, desc, ...rest);
  };
})();`, ms, ms),
		after: `String(window.__ptimeAnswer ?? 'no answer munged')`,
	}
}

// tuningGrids are the two measurements: which settings, under which
// conditions (names from badnetConditions).
var tuningGrids = []struct {
	name       string
	conditions []string
	tweaks     []pageTweak
}{
	{"jitterbuffer", []string{"loss10jitter100", "jitter100x50", "loss20"},
		[]pageTweak{jitterTargetTweak(0), jitterTargetTweak(100), jitterTargetTweak(200)}},
	// cap32k too: fewer packets spend fewer of its bits on headers.
	{"ptime", []string{"loss10", "bursty5x3", "loss20", "cap32k"},
		[]pageTweak{ptimeTweak(20), ptimeTweak(40), ptimeTweak(60)}},
}

func badnetCondition(tb testing.TB, name string) netsim.Config {
	for _, c := range badnetConditions {
		if c.name == name {
			return c.cfg
		}
	}
	tb.Fatalf("no bad-network condition %q", name)
	return netsim.Config{}
}

// tuningRun is one call's figures.
type tuningRun struct {
	corr              float64
	concealed         float64 // % of the listener's played samples
	jbDelay, jbTarget float64 // the listener's jitter buffer, ms
	talkerPacketRate  float64 // the talker's packets per second
}

func BenchmarkVoiceTuning(b *testing.B) {
	for _, g := range tuningGrids {
		b.Run(g.name, func(b *testing.B) {
			for _, cond := range g.conditions {
				cfg := badnetCondition(b, cond)
				b.Run(cond, func(b *testing.B) {
					runs := map[string][]tuningRun{}
					for rep := 1; rep <= tuningRepeats; rep++ {
						for _, tw := range g.tweaks {
							// A sub-benchmark per call: its browser and
							// server stop before the next call starts.
							b.Run(fmt.Sprintf("%s/rep%d", tw.name, rep), func(b *testing.B) {
								corr, talker, listener := listenTweaked(b, cfg, tw)
								delay, target := listener.jitterBufferMs()
								run := tuningRun{
									corr: browsertest.Median(corr), concealed: 100 * listener.concealedShare(),
									jbDelay: delay, jbTarget: target,
									talkerPacketRate: talker.PacketsSent / badnetRecording.Seconds(),
								}
								runs[tw.name] = append(runs[tw.name], run)
								b.ReportMetric(run.corr, "correlation")
								b.ReportMetric(run.concealed, "%concealed")
								b.ReportMetric(run.jbDelay, "jb-ms")
							})
						}
					}
					for _, tw := range g.tweaks {
						var c, k, d, p []string
						for _, r := range runs[tw.name] {
							c = append(c, fmt.Sprintf("%.2f", r.corr))
							k = append(k, fmt.Sprintf("%.1f", r.concealed))
							d = append(d, fmt.Sprintf("%.0f/%.0f", r.jbDelay, r.jbTarget))
							p = append(p, fmt.Sprintf("%.0f", r.talkerPacketRate))
						}
						b.Logf("SUMMARY %s %s %s: correlation %s | concealed %% %s | jitter buffer delay/target ms %s | talker packets/s %s",
							g.name, cond, tw.name, strings.Join(c, " "), strings.Join(k, " "), strings.Join(d, " "), strings.Join(p, " "))
					}
				})
			}
		})
	}
}
