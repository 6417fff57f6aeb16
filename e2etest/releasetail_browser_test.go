package e2etest

// The release tail (issue 17): "the last 150 ms before release are heard".
//
// Measured by duration, not by lining up waveforms: the fake microphone
// says speech with its pauses cut out (pauseFreeSpeech), so a listener
// hears sound without a break from the first packet of a turn to the last.
// How long Bob hears Alice's turn is then how much of it reached him,
// whatever the network's and the jitter buffer's delay, which no clock
// shared by the two pages would tell apart. If Bob hears at least what
// Alice held the button for plus tailHeardBeyond, he heard everything up
// to the release, its last 150 ms included, and part of the tail. An
// earlier measure (correlating the 150 ms before the release, placed by
// the half second before it) could not tell the tail from its absence in
// one run of four: the decoder's concealment stretches the last sound.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sotto/browsertest"
)

const (
	// tailHold is how long Alice holds the button in a measured turn.
	tailHold = 1500 * time.Millisecond
	// tailListen is how long Bob records after the release: the tail, the
	// network and his jitter buffer's delay, with room to spare.
	tailListen = 1500 * time.Millisecond
	// tailStep is the loudness measure's window.
	tailStep = 10 * time.Millisecond
	// tailLoudShare: a window at least this share of the turn's loud
	// windows (their 90th percentile) is heard sound; below it, the
	// decoder's fade into silence after the last packet.
	tailLoudShare = 0.1
	// tailHeardBeyond: with the default 200 ms tail, Bob must hear at
	// least this much beyond what Alice held: half the tail, the other
	// half a margin for the jitter buffer shortening the turn and the
	// encoder's first frames. Heard to at least there without a break
	// near the end, the 150 ms before the release were heard. It does
	// not prove the tail itself was heard: the jitter buffer stretches
	// turns too (a tail-off turn was heard -114 to +152 ms beyond what
	// was held, default-tail turns +237 to +647 ms).
	tailHeardBeyond = 100 * time.Millisecond
	// tailGap is the longest quiet run near a heard turn's end that is
	// still one stretch of sound: the pause-free speech's own longest is
	// 60 ms, and a listener's jitter buffer adds a stretch of its own now
	// and then (140 ms once in six runs at load 3, the turn heard 206 ms
	// beyond the release). A cut end shows in tailHeardBeyond.
	tailGap = 160 * time.Millisecond
	// tailCheck is the span before the release that must be heard.
	tailCheck = 150 * time.Millisecond
	// tailSentMin: with the default 200 ms tail the mic must stay on at
	// least this long after the release (the timer may fire a little
	// early against the pointerup's mark, never much).
	tailSentMin = 150 * time.Millisecond
	// tailOffMax: with the tail off the mic goes off within this of the
	// release (one main-thread task on a loaded page).
	tailOffMax = 100 * time.Millisecond
	// tailEndMargin widens the end of the heard turn searched for a break:
	// the jitter buffer may stretch the tail and the span before it.
	tailEndMargin = 100 * time.Millisecond
)

// pauseFreeSpeech is testSpeech with every pause longer than 10 ms cut
// out (sox's silence effect), as a WAV at 48 kHz.
func pauseFreeSpeech(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pausefree.wav")
	cmd := exec.Command("sox", browsertest.SpeechWAV(t, testSpeech), out, "silence", "1", "0.01", "2%", "-1", "0.01", "2%")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	return out
}

// TestReleaseTailInBrowser: with the default tail, Bob hears the whole of
// Alice's turn up to her release and beyond it; with the tail off
// (the preference at 0) the mic goes off at the release; Bob's heard
// lengths for both are logged.
func TestReleaseTailInBrowser(t *testing.T) {
	alice, bob, talk := radioRoomSaying(t, pauseFreeSpeech(t))
	withTail := releaseTailTurn(t, alice, bob, talk)
	setReleaseTail(t, alice, "0")
	without := releaseTailTurn(t, alice, bob, talk)
	t.Logf("default tail: %v; tail off: %v", withTail, without)
	if withTail.beyond() < tailHeardBeyond {
		t.Errorf("with the default tail Bob heard %v beyond the %v Alice held (want ≥ %v): the end of her turn was cut", withTail.beyond(), withTail.held, tailHeardBeyond)
	}
	if withTail.gap > tailGap {
		t.Errorf("with the default tail Bob's turn broke off for %v near its end (want ≤ %v): the last %v before the release were not all heard", withTail.gap, tailGap, tailCheck)
	}
	// The control is what the talker sent, not what Bob heard: a turn's
	// heard length is stretched by his jitter buffer as well as by a
	// tail (in a CI run the tail-off turn was heard 152 ms beyond what was
	// held, the default one 237 ms), so comparing the two arms' heard
	// lengths failed on noise. The app must send the tail only when asked.
	if d := withTail.sent - withTail.held; d < tailSentMin {
		t.Errorf("with the default tail the mic went off %v after the release (want ≥ %v)", d, tailSentMin)
	}
	if d := without.sent - without.held; d >= tailOffMax {
		t.Errorf("with the tail off the mic went off %v after the release (want < %v)", d, tailOffMax)
	}
}

// setReleaseTail chooses the tail preference (ms) as a person would.
func setReleaseTail(t testing.TB, p *person, ms string) {
	t.Helper()
	p.find("combobox", "Keep sending after you let go") // by the Hands-free box, named
	p.eval(`(() => { const s = document.getElementById('release-tail'); s.value = '` + ms + `'; s.dispatchEvent(new Event('change')); return ''; })()`)
	if got := p.eval(`String(localStorage.getItem('sotto.releaseTail'))`); got != ms {
		t.Fatalf("the tail chosen as %s ms is stored as %q", ms, got)
	}
}

// tailMeasure is one turn: how long the talker held the button (from her
// microphone switching on to the release), how long the microphone sent
// (to its switching off), and how long, and with what longest break, the
// listener heard sound.
type tailMeasure struct {
	held, sent, heard, gap time.Duration
}

func (m tailMeasure) beyond() time.Duration { return m.heard - m.held }

func (m tailMeasure) String() string {
	return fmt.Sprintf("held %v, sent %v, heard %v (%+v; longest break %v)", m.held, m.sent, m.heard, m.beyond(), m.gap)
}

// releaseTailTurn has the talker hold the button for tailHold while the
// listener records, and measures the turn.
func releaseTailTurn(t testing.TB, talker, listener *person, talk *browsertest.Element) tailMeasure {
	t.Helper()
	if err := browsertest.StartRecording(listener.page); err != nil {
		t.Fatal(err)
	}
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	talker.waitFor("the floor", 10*time.Second, func() bool { return talker.state().Floor.Mine })
	time.Sleep(tailHold)
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(tailListen)
	rec, err := browsertest.StopRecording(listener.page)
	if err != nil {
		t.Fatal(err)
	}
	listener.waitFor("the floor free", 5*time.Second, func() bool { return listener.state().Floor.Holder == "" })

	var marks struct {
		Switches []struct {
			On bool
			At float64
		}
		Released float64
	}
	if err := json.Unmarshal([]byte(talker.eval(`JSON.stringify({ switches: window.__micSwitches, released: window.__releasedAt })`)), &marks); err != nil {
		t.Fatal(err)
	}
	on, off := -1.0, -1.0
	for _, s := range marks.Switches {
		switch {
		case s.On && s.At <= marks.Released:
			on = s.At
		case !s.On && s.At >= marks.Released && off < 0:
			off = s.At
		}
	}
	if on < 0 || off < 0 || marks.Released < 0 {
		t.Fatalf("the talker's microphone switches %+v and release %.0f do not make a turn", marks.Switches, marks.Released)
	}
	ms := func(x float64) time.Duration {
		return time.Duration(x * float64(time.Millisecond)).Round(time.Millisecond)
	}
	m := tailMeasure{held: ms(marks.Released - on), sent: ms(off - on)}
	// The break that matters is near the end: in the 150 ms before the
	// release and the tail after it, which end the heard span, with
	// tailEndMargin for the jitter buffer moving them. A break earlier in
	// the turn (a loaded machine's audio skips there too) is not the
	// tail's.
	m.heard, m.gap = heardSpan(t, rec, m.sent-m.held+tailCheck+tailEndMargin)
	return m
}

// heardSpan is how long rec holds sound, from its first loud tailStep
// window to its last, and the longest quiet run between them within the
// span's last end.
func heardSpan(t testing.TB, rec []float32, end time.Duration) (heard, gap time.Duration) {
	t.Helper()
	step := samplesOf(tailStep)
	var rms []float64
	for i := 0; i+step <= len(rec); i += step {
		rms = append(rms, browsertest.RMS(rec[i:i+step]))
	}
	sorted := slices.Sorted(slices.Values(rms))
	if len(sorted) == 0 || sorted[len(sorted)*9/10] < onsetRMS {
		t.Fatalf("the listener heard nothing of the turn (%d windows)", len(rms))
	}
	loud := tailLoudShare * sorted[len(sorted)*9/10]
	first, last := -1, -1
	for i, r := range rms {
		if r >= loud {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	quiet, longest := 0, 0
	for _, r := range rms[max(first, last+1-int(end/tailStep)) : last+1] {
		if r < loud {
			quiet++
			continue
		}
		longest, quiet = max(longest, quiet), 0
	}
	return time.Duration(last-first+1) * tailStep, time.Duration(longest) * tailStep
}

// samplesOf is d in samples at AnalysisRate.
func samplesOf(d time.Duration) int {
	return int(d.Seconds() * browsertest.AnalysisRate)
}
