package e2etest

// The app and the Go member (client/) in one room on v2 media keys (issue
// 18, docs/keys.md): each reads the other's hello, unwraps the other's key
// blobs and decrypts the other's frames, across rotations made by either
// side mid-turn: Carol (Go) leaving while Alice (Chromium) talks, and Bob
// (Go) rotating on a 2 s timer while he talks. Frames the Go member sends
// are synthetic (client/frame.go), so the page is checked by its E2EE
// counts, not by ear: every frame that arrived was decrypted, none dropped.
//
// Run: go test -count=1 -run '^TestAppAndGoMemberShareKeysInBrowser$' -v ./e2etest/

import (
	"context"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
)

// interopRotation is the Go talker's RotationInterval in this test: a
// timer rotation every 2 s, where the product's is 10 minutes.
const interopRotation = 2 * time.Second

func TestAppAndGoMemberShareKeysInBrowser(t *testing.T) {
	app := startApp(t)
	alice := app.spiedPerson(t, "Alice", "http://"+app.srv.appAddr+"/")
	alice.click("button", "Create room")
	alice.enter()
	secret, err := e2ee.ParseLink(alice.find("textbox", "Invite link").Value)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	join := func(name string, rotation time.Duration) *client.Client {
		c, err := client.Connect(ctx, client.Config{URL: "ws://" + app.srv.appAddr + "/ws", Secret: secret, Name: name, RotationInterval: rotation,
			OnEvent: func(ev client.Event) {
				if ev.Type == "key_refused" {
					t.Errorf("%s refused a key blob of %s: %s", name, ev.Member, ev.Code)
				}
			}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return c
	}
	bob := join("Bob", interopRotation)
	carol := join("Carol", 0)
	alice.waitFor("Bob's and Carol's hellos", 20*time.Second, func() bool {
		names := memberNames(alice.state())
		return len(names) == 3 && names[0] == "Alice" && names[1] == "Bob" && names[2] == "Carol"
	})

	// Alice talks; Bob decrypts her frames, then Carol leaves mid-turn.
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	testutil.WaitFor(t, 20*time.Second, "Bob decrypting Alice", func() bool { return bob.Stats().Decrypted > 0 })
	before, e0 := bob.Stats(), epochOf(alice.keys().Epoch)
	if err := carol.Close(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("Alice's key rotated after Carol left", 20*time.Second, func() bool { return epochOf(alice.keys().Epoch) > e0 })
	time.Sleep(time.Second) // frames under the new epoch, not an assertion
	after := bob.Stats()
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Alice's epoch %d -> %d; Bob, across it: %d packets, %d decrypted, %d failed (%d under a key he did not hold)",
		e0, epochOf(alice.keys().Epoch), after.Packets-before.Packets, after.Decrypted-before.Decrypted, after.Failed-before.Failed, after.UnknownKID-before.UnknownKID)
	if after.Failed != before.Failed {
		t.Errorf("Bob (Go) failed to decrypt %d of Alice's frames across her rotation", after.Failed-before.Failed)
	}
	if after.Decrypted-before.Decrypted < 25 {
		t.Errorf("Bob decrypted only %d of Alice's frames in over a second", after.Decrypted-before.Decrypted)
	}

	// Bob talks through his own timer rotations; Alice's page decrypts
	// every frame that arrives, under each epoch he sends.
	alice.waitFor("the floor free", 10*time.Second, func() bool { return alice.state().Floor.Holder == "" })
	bobID := bob.Self()
	k0, s0, b0 := alice.keys(), alice.audioStats(), bob.Epoch()
	if err := bob.RequestFloor(ctx); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(20*time.Second, func() bool {
		e := bob.Epoch()
		return int(e-b0) >= 2 && epochOf(alice.keys().Held[bobID]) == int(e)
	}) {
		t.Fatalf("Bob's epoch %d -> %d, rotating %v; Alice's page %s", b0, bob.Epoch(), bob.Rotating(), alice.keys())
	}
	time.Sleep(time.Second) // frames under the newest epoch, not an assertion
	k1, s1 := alice.keys(), alice.audioStats()
	if err := bob.ReleaseFloor(ctx); err != nil {
		t.Fatal(err)
	}
	got := s1.minus(s0)
	t.Logf("Bob's epoch %d -> %d; Alice's page got %.0f packets, dropped %d undecryptable and %d under a key not held",
		b0, bob.Epoch(), got.PacketsReceived, k1.CantDecrypt-k0.CantDecrypt, k1.UnknownSender-k0.UnknownSender)
	if got.PacketsReceived < 100 {
		t.Errorf("Alice's page got %.0f of Bob's packets in over 3 s", got.PacketsReceived)
	}
	if k1.CantDecrypt != k0.CantDecrypt || k1.UnknownSender != k0.UnknownSender {
		t.Errorf("Alice's page dropped Bob's frames across his rotations: %d undecryptable, %d under a key not held",
			k1.CantDecrypt-k0.CantDecrypt, k1.UnknownSender-k0.UnknownSender)
	}
}
