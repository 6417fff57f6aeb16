package e2etest

// Media keys that move on in the middle of a turn (issue 18, docs/keys.md):
// in a room of three, Alice (Chromium) holds the floor with a steady tone
// while Dave joins and then leaves; each makes every member rotate its
// sender key, Alice's included, mid-turn. Her listeners, Bob (Chromium) and
// Carol (Firefox, over WebDriver BiDi), must hear the tone throughout: no
// silence over 100 ms, no frame the E2EE worker could not decrypt (it drops
// those; played, they would be noise), and the tone, not something else.
// Epochs are read from the pages' test view (window.sottoState().keys:
// numbers only), so the rotations are seen to happen; no hook in the app.
//
// Run: go test -count=1 -run '^TestKeyRotationMidTurnInBrowser$' -v ./e2etest/

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"sotto/browsertest"
)

const (
	// rotationToneHz is toneWAV's frequency, what Alice's fake microphone plays.
	rotationToneHz = 440
	// maxRotationGap is the limit on silence at a listener while the
	// talker's key moves on.
	maxRotationGap = 100 * time.Millisecond
	// gapBlock is the resolution of the silence search: 10 ms blocks, each
	// silent if its RMS is under toneMinRMS (ten times digital silence; the
	// tone arrives near 0.07-0.2).
	gapBlock = browsertest.AnalysisRate / 100
	// rotationSettle is how long the listeners go on recording after the
	// last rotation: KeySwitchDelay (0.5 s) and the old epoch's OldKeyGrace
	// (3 s), so the switch and the erasure of the old key are both heard.
	rotationSettle = 3500 * time.Millisecond
)

// keysView is window.sottoState().keys (store.js): epoch numbers and drop counts.
type keysView struct {
	Epoch         *int            `json:"epoch"`
	Held          map[string]*int `json:"held"`
	CantDecrypt   int             `json:"cantDecrypt"`
	UnknownSender int             `json:"unknownSender"`
}

func (k keysView) String() string {
	held := map[string]int{}
	for id, e := range k.Held {
		held[id] = epochOf(e)
	}
	return fmt.Sprintf("{epoch %d held %v dropped %d/%d}", epochOf(k.Epoch), held, k.CantDecrypt, k.UnknownSender)
}

const keysJS = `window.sottoState().keys`

func (p *person) keys() keysView { return evalAs[keysView](p, keysJS) }

func (p *firefoxPerson) keys() keysView {
	p.t.Helper()
	k, err := browsertest.EvalBiDi[keysView](p.page, keysJS)
	p.must(err)
	return k
}

func epochOf(e *int) int {
	if e == nil {
		return -1
	}
	return *e
}

// longestSilence is the longest run of silent 10 ms blocks in x. The
// recordings start after the tone was heard and end before the talker lets
// go, so any silence in them is a gap.
func longestSilence(x []float32) time.Duration {
	longest, run := 0, 0
	for i := 0; i+gapBlock <= len(x); i += gapBlock {
		if browsertest.RMS(x[i:i+gapBlock]) >= toneMinRMS {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return time.Duration(longest) * 10 * time.Millisecond
}

func TestKeyRotationMidTurnInBrowser(t *testing.T) {
	start := time.Now()
	app := startAppSaying(t, toneWAV(t))
	alice := app.creator("Alice")
	invite := alice.find("textbox", "Invite link").Value
	// Bob's audio stats are read (pcSpyJS): what his decoder concealed.
	bob := app.spiedPerson(t, "Bob", invite)
	bob.enter()
	ff := browsertest.StartFirefoxBiDi(t)
	carol := openFirefoxPerson(t, ff, "Carol", invite, "")
	t.Logf("Firefox %s; three in the room after %v", ff.Version, time.Since(start).Round(time.Millisecond))

	aliceID, bobID, carolID := alice.state().Self, bob.state().Self, carol.state().Self
	// Everyone holds everyone's key: the room is set up.
	settled := func() bool {
		a, b, c := alice.keys(), bob.keys(), carol.keys()
		return epochOf(a.Held[bobID]) >= 0 && epochOf(a.Held[carolID]) >= 0 &&
			epochOf(b.Held[aliceID]) == epochOf(a.Epoch) && epochOf(b.Held[carolID]) >= 0 &&
			epochOf(c.Held[aliceID]) == epochOf(a.Epoch) && epochOf(c.Held[bobID]) >= 0
	}
	for deadline := time.Now().Add(30 * time.Second); !settled(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			app.log.mu.Lock()
			errs := slices.Clone(app.log.errors)
			app.log.mu.Unlock()
			t.Fatalf("not every key held by every member after 30 s: Alice (%s) %s, Bob (%s) %s, Carol (%s) %s; page errors %q",
				aliceID, alice.keys(), bobID, bob.keys(), carolID, carol.keys(), errs)
		}
	}

	// Dave's page is open at the lobby, his name typed: entering is one click.
	dave := app.person("Dave", invite)
	if err := dave.find("textbox", "Your name").Type(dave.name); err != nil {
		t.Fatal(err)
	}
	dave.waitFor(`"Enter room" enabled`, 20*time.Second, func() bool {
		return dave.eval(`String([...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Enter room')?.disabled)`) == "false"
	})

	// Alice talks until both hear the tone. Bob's recorder takes long
	// blocks: on two loaded cores short ones come late and are lost from
	// the recording (pocket_browser_test.go), which would look like gaps.
	listenSteady(bob)
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	bob.waitFor("the tone", 20*time.Second, func() bool { return browsertest.RMS(bob.record(300*time.Millisecond)) >= toneMinRMS })
	carol.waitFor("the tone", firefoxWaitLonger, func() bool {
		rms := browsertest.RMS(carol.record(300 * time.Millisecond))
		if rms < toneMinRMS {
			t.Logf("Carol hears RMS %.4f; her keys %s, Alice's %s", rms, carol.keys(), alice.keys())
		}
		return rms >= toneMinRMS
	})
	bobStats := bob.audioStats()
	before := map[string]keysView{"Alice": alice.keys(), "Bob": bob.keys(), "Carol": carol.keys()}
	e0 := epochOf(before["Alice"].Epoch)
	t.Logf("Alice talks under epoch %d; %v in", e0, time.Since(start).Round(time.Millisecond))

	// Record both listeners across two rotations of Alice's key.
	if err := browsertest.StartRecording(bob.page); err != nil {
		t.Fatal(err)
	}
	carol.must(browsertest.StartRecordingBiDi(carol.page))
	recStart := time.Now()

	// Dave joins mid-turn: his hello makes everyone rotate.
	dave.click("button", "Enter room")
	dave.waitFor("a connected room", 30*time.Second, func() bool {
		s := dave.state()
		if s.Connection == "closed" {
			t.Fatalf("Dave's page gave up: %q", dave.eval(`document.getElementById('room-notice').textContent`))
		}
		return s.Screen == "room" && s.Connection == "connected" && s.Self != ""
	})
	heldBy := func(e int) func() bool {
		return func() bool {
			return epochOf(alice.keys().Epoch) >= e && epochOf(bob.keys().Held[aliceID]) >= e && epochOf(carol.keys().Held[aliceID]) >= e
		}
	}
	alice.waitFor("Alice's key rotated for Dave, at Bob and Carol", 20*time.Second, heldBy(e0+1))
	e1 := epochOf(alice.keys().Epoch)
	joinedAt := time.Since(recStart)
	// Dave holds only keys made after he came.
	daveKeys := dave.keys()
	t.Logf("Dave in at %v: Alice at epoch %d; Dave holds Alice's %d", joinedAt.Round(time.Millisecond), e1, epochOf(daveKeys.Held[aliceID]))

	// Dave leaves mid-turn: everyone rotates again, and he gets none of it.
	dave.click("button", "Leave")
	dave.waitFor("home", 20*time.Second, func() bool { return dave.state().Screen == "home" })
	alice.waitFor("Alice's key rotated after Dave left, at Bob and Carol", 20*time.Second, heldBy(e1+1))
	e2 := epochOf(alice.keys().Epoch)
	leftAt := time.Since(recStart)
	time.Sleep(rotationSettle) // recording the switch and the old key's grace, not asserting on time

	recorded := time.Since(recStart)
	bobRec, err := browsertest.StopRecording(bob.page)
	if err != nil {
		t.Fatal(err)
	}
	carolRec, err := browsertest.StopRecordingBiDi(carol.page)
	carol.must(err)
	// What Bob's decoder made up for missing audio while the keys moved:
	// frames dropped for want of a key would be concealed (and then
	// silent); a loaded machine's jitter conceals a little anyway.
	concealed := bob.audioStats().minus(bobStats)
	concealedMs := 1000 * concealed.ConcealedSamples / 48000
	t.Logf("Bob's decoder over the rotations: %s; %.0f ms concealed", concealed, concealedMs)
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %v: Dave in at %v, out at %v; Alice's epochs %d -> %d -> %d",
		time.Since(recStart).Round(time.Millisecond), joinedAt.Round(time.Millisecond), leftAt.Round(time.Millisecond), e0, e1, e2)

	if e1 <= e0 || e2 <= e1 {
		t.Errorf("Alice's epochs %d -> %d -> %d: not two rotations", e0, e1, e2)
	}
	after := map[string]keysView{"Alice": alice.keys(), "Bob": bob.keys(), "Carol": carol.keys()}
	for _, who := range []string{"Alice", "Bob", "Carol"} {
		b, a := before[who], after[who]
		t.Logf("%s: own epoch %d -> %d; frames dropped: %d undecryptable, %d under a key not held", who, epochOf(b.Epoch), epochOf(a.Epoch),
			a.CantDecrypt-b.CantDecrypt, a.UnknownSender-b.UnknownSender)
		if epochOf(a.Epoch) < epochOf(b.Epoch)+2 {
			t.Errorf("%s's own epoch %d -> %d: it did not rotate for the join and the leave", who, epochOf(b.Epoch), epochOf(a.Epoch))
		}
		if a.CantDecrypt != b.CantDecrypt {
			t.Errorf("%s: %d frames failed to decrypt during the rotations", who, a.CantDecrypt-b.CantDecrypt)
		}
	}
	for who, k := range map[string]keysView{"Bob": after["Bob"], "Carol": after["Carol"]} {
		if got := epochOf(k.Held[aliceID]); got != e2 {
			t.Errorf("%s holds Alice's epoch %d, she sends under %d", who, got, e2)
		}
		if k.UnknownSender != before[who].UnknownSender {
			t.Errorf("%s dropped %d of Alice's frames for want of her key", who, k.UnknownSender-before[who].UnknownSender)
		}
	}
	if got := epochOf(daveKeys.Held[aliceID]); got >= 0 && got < e1 {
		t.Errorf("Dave, who joined during epoch %d, holds Alice's epoch %d", e1, got)
	}

	for _, l := range []struct {
		name string
		rec  []float32
	}{{"Bob (Chromium)", bobRec}, {"Carol (Firefox)", carolRec}} {
		gap := longestSilence(l.rec)
		share := browsertest.ToneWindows(l.rec, rotationToneHz, toneMinRMS)
		all := len(l.rec) / (browsertest.AnalysisRate / 4)
		got := fmt.Sprintf("%s: %.1f s of %.1f s recorded, longest silence %v, %d of %d windows loud, median %.2f of their energy in the %d Hz tone, RMS %.3f",
			l.name, float64(len(l.rec))/browsertest.AnalysisRate, recorded.Seconds(), gap, len(share), all, browsertest.Median(share), rotationToneHz, browsertest.RMS(l.rec))
		t.Log(got)
		if gap > maxRotationGap {
			t.Errorf("%s: a silence of %v during the rotations (limit %v)", l.name, gap, maxRotationGap)
		}
		if len(share) < all-1 || browsertest.Median(share) < toneHeardShare {
			t.Errorf("%s does not hear Alice's tone throughout", l.name)
		}
	}
	if reqs := ff.OutsideRequests(); len(reqs) > 0 {
		t.Errorf("Firefox tried to reach beyond loopback: %q", reqs)
	}
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}
