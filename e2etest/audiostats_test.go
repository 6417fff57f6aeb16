package e2etest

// What a page's WebRTC stats say about its audio (issue 16): what the
// listener lost, repaired and concealed, and what the talker was told of
// loss. Read through pcSpyJS's window.__pcs, from the live connection.

import (
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// audioStats are one page's audio counters (W3C webrtc-stats names).
type audioStats struct {
	// inbound-rtp: the floor track.
	PacketsReceived      float64 `json:"packetsReceived"`
	PacketsLost          float64 `json:"packetsLost"`
	FECPacketsReceived   float64 `json:"fecPacketsReceived"`
	ConcealedSamples     float64 `json:"concealedSamples"`
	ConcealmentEvents    float64 `json:"concealmentEvents"`
	TotalSamplesReceived float64 `json:"totalSamplesReceived"`
	NACKsSent            float64 `json:"nackCount"`
	// Seconds summed over every sample the jitter buffer emitted: divided
	// by the count, how long audio waited in it, and what it aimed for.
	JitterBufferDelay       float64 `json:"jitterBufferDelay"`
	JitterBufferTargetDelay float64 `json:"jitterBufferTargetDelay"`
	JitterBufferEmitted     float64 `json:"jitterBufferEmittedCount"`
	// remote-inbound-rtp: what the server's reports said of our mic.
	ReportedFractionLost float64 `json:"fractionLost"`
	// outbound-rtp: our mic.
	PacketsSent       float64 `json:"packetsSent"`
	RetransmittedSent float64 `json:"retransmittedPacketsSent"`
	NACKsReceived     float64 `json:"outNackCount"`
	Connected         bool    `json:"connected"`
}

// jitterBufferMs is how long, on average, played audio waited in the
// jitter buffer, and what the buffer aimed for (ms).
func (s audioStats) jitterBufferMs() (delay, target float64) {
	if s.JitterBufferEmitted == 0 {
		return 0, 0
	}
	return 1000 * s.JitterBufferDelay / s.JitterBufferEmitted, 1000 * s.JitterBufferTargetDelay / s.JitterBufferEmitted
}

// concealedShare is the part of the played samples the decoder made up.
func (s audioStats) concealedShare() float64 {
	if s.TotalSamplesReceived == 0 {
		return 0
	}
	return s.ConcealedSamples / s.TotalSamplesReceived
}

func (s audioStats) String() string {
	return fmt.Sprintf("received %.0f lost %.0f fec %.0f concealed %.1f%% in %.0f events, nacks sent %.0f | told lost %.3f | sent %.0f resent %.0f nacks in %.0f",
		s.PacketsReceived, s.PacketsLost, s.FECPacketsReceived, 100*s.concealedShare(), s.ConcealmentEvents, s.NACKsSent,
		s.ReportedFractionLost, s.PacketsSent, s.RetransmittedSent, s.NACKsReceived)
}

// minus is what happened between before and s (fractionLost is a level, kept).
func (s audioStats) minus(before audioStats) audioStats {
	d := s
	d.PacketsReceived -= before.PacketsReceived
	d.PacketsLost -= before.PacketsLost
	d.FECPacketsReceived -= before.FECPacketsReceived
	d.ConcealedSamples -= before.ConcealedSamples
	d.ConcealmentEvents -= before.ConcealmentEvents
	d.TotalSamplesReceived -= before.TotalSamplesReceived
	d.NACKsSent -= before.NACKsSent
	d.JitterBufferDelay -= before.JitterBufferDelay
	d.JitterBufferTargetDelay -= before.JitterBufferTargetDelay
	d.JitterBufferEmitted -= before.JitterBufferEmitted
	d.PacketsSent -= before.PacketsSent
	d.RetransmittedSent -= before.RetransmittedSent
	d.NACKsReceived -= before.NACKsReceived
	return d
}

const audioStatsJS = `(async () => {
  const out = { connected: false };
  const pc = (window.__pcs ?? []).filter((p) => p.connectionState === 'connected').pop();
  if (!pc) return out;
  out.connected = true;
  (await pc.getStats()).forEach((s) => {
    if (s.kind !== 'audio') return;
    if (s.type === 'inbound-rtp') {
      for (const k of ['packetsReceived', 'packetsLost', 'fecPacketsReceived', 'concealedSamples', 'concealmentEvents', 'totalSamplesReceived', 'nackCount',
        'jitterBufferDelay', 'jitterBufferTargetDelay', 'jitterBufferEmittedCount']) out[k] = s[k] ?? 0;
    } else if (s.type === 'remote-inbound-rtp') {
      out.fractionLost = s.fractionLost ?? 0;
    } else if (s.type === 'outbound-rtp') {
      out.packetsSent = s.packetsSent ?? 0;
      out.retransmittedPacketsSent = s.retransmittedPacketsSent ?? 0;
      out.outNackCount = s.nackCount ?? 0;
    }
  });
  return out;
})()`

func (p *person) audioStats() audioStats { return evalAs[audioStats](p, audioStatsJS) }

// spiedPerson is appRig.person with pcSpyJS in every document, so that its
// audio stats can be read, and then scripts (a benchmark's tweaks of the
// page's WebRTC, run before the app).
func (r *appRig) spiedPerson(t testing.TB, name, url string, scripts ...string) *person {
	t.Helper()
	p := newPerson(t, r.b, r.log, name)
	for _, src := range append([]string{pcSpyJS}, scripts...) {
		if _, err := chromedp.Call(p.page, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
			t.Fatal(err)
		}
	}
	p.visit(url)
	return p
}
