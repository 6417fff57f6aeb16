package e2etest

// Loss repair in real Chromium (issue 16): 10% random loss on the way to
// the listener. With the server's loss repair (sfu/nack.go,
// sfu/lossfeedback.go) the listener asks for and gets its lost packets
// again, the talker's encoder is told of the listener's loss and spends
// bits on FEC, and the speech is heard; without it (--no-loss-repair, the
// build before), the same call is the control: the talker is told nothing,
// no FEC reaches the listener, and it conceals what it lost.
//
// Run: go test -count=1 -run TestTenPercentLossIsRepaired -v ./e2etest/

import (
	"testing"
	"time"

	"sotto/browsertest"
	"sotto/internal/netsim"
)

const (
	// toldLossAtLeast is the fraction lost the talker's stats must show
	// while its listener loses 10%: the listener's share of packets asked
	// for again over one report interval, with room for the draw.
	toldLossAtLeast = 0.04
	// toldLossWait bounds how long the news may take after the recording:
	// the listener's browser reports every ~5 s (two reports make the first
	// share), and the server reports to the talker every 5 s.
	toldLossWait = 20 * time.Second
	// cleanUplinkTold is the most the control's talker may be told on a
	// clean uplink: nothing but rounding.
	cleanUplinkTold = 0.02
)

func TestTenPercentLossIsRepaired(t *testing.T) {
	loss := netsim.Config{Down: netsim.Impairment{Loss: 0.10}}
	// Each call in a subtest of its own, so the first call's browser and
	// server are gone before the second begins: an idle call still encodes
	// its microphone and would load the machine under the other.
	var talker, listener audioStats
	t.Run("today", func(t *testing.T) {
		var corr []float64
		corr, talker, listener = listenThrough(t, loss, "--no-loss-repair")
		t.Logf("today: correlation %.2f", browsertest.Median(corr))
	})
	var now repaired
	t.Run("new", func(t *testing.T) {
		now = runRepaired(t, loss)
		t.Logf("new:   correlation %.2f", now.corr)
	})
	if t.Failed() {
		return
	}

	if talker.ReportedFractionLost > cleanUplinkTold || listener.FECPacketsReceived != 0 {
		t.Errorf("control: the talker was told %.3f lost and the listener got %.0f FEC packets; want nothing told and no FEC, as before the repair",
			talker.ReportedFractionLost, listener.FECPacketsReceived)
	}
	if now.corr < heardCorrelation {
		t.Errorf("with 10%% loss the listener's speech correlation is %.2f, want at least %.2f", now.corr, heardCorrelation)
	}
	if now.told < toldLossAtLeast {
		t.Errorf("the talker was told at most %.3f lost while its listener lost 10%%, want at least %.2f", now.told, toldLossAtLeast)
	}
	if now.fec == 0 {
		t.Error("no FEC-carrying packet reached the listener after the talker was told of its loss")
	}
	// Concealment counted in events, each a run of samples the decoder made
	// up: a lost packet makes one, while a stall of the loaded test machine
	// (the jitter buffer running dry for a second, seen here in either
	// build) is one event of many samples and would decide a comparison of
	// samples alone. Both are logged; BENCHMARKS.md has the samples of a
	// quiet machine.
	if e, was := now.listener.ConcealmentEvents, listener.ConcealmentEvents; e >= was {
		t.Errorf("the listener concealed %.0f times (%.1f%% of samples), today %.0f times (%.1f%%): want fewer",
			e, 100*now.listener.concealedShare(), was, 100*listener.concealedShare())
	}
}

// repaired is what the repaired call showed: the recording's correlation
// and stats, then, as the talker goes on, the most it was told of loss and
// the FEC packets the listener got, until both show or toldLossWait ends.
type repaired struct {
	corr             float64
	talker, listener audioStats
	told, fec        float64
}

func runRepaired(t *testing.T, loss netsim.Config) repaired {
	t.Helper()
	loss.Seed = badnetSeed
	r := startBadnetApp(t, loss, netsim.Config{})
	alice := r.spiedPerson(t, "Alice", r.url)
	alice.click("button", "Create room")
	alice.enter()
	bob := r.spiedPerson(t, "Bob", alice.find("textbox", "Invite link").Value)
	bob.enter()
	bob.listen()
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = talk.Release() }()
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	aliceBefore, bobBefore := alice.audioStats(), bob.audioStats()
	rec := bob.record(badnetRecording)
	out := repaired{corr: browsertest.Median(browsertest.WindowedCorrelation(r.source, rec))}
	out.talker, out.listener = alice.audioStats().minus(aliceBefore), bob.audioStats().minus(bobBefore)
	t.Logf("talker:   %v", out.talker)
	t.Logf("listener: %v", out.listener)
	deadline := time.Now().Add(toldLossWait)
	for {
		out.told = max(out.told, alice.audioStats().ReportedFractionLost)
		out.fec = bob.audioStats().FECPacketsReceived - bobBefore.FECPacketsReceived
		if (out.told >= toldLossAtLeast && out.fec > 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("the talker told at most %.3f lost; %.0f FEC packets reached the listener", out.told, out.fec)
	return out
}
