//go:build shots

package e2etest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The phone the screenshots in docs/screenshots/ are taken on.
const (
	shotWidth  = 390
	shotHeight = 844
)

// TestScreenshotsTalkKey writes docs/screenshots/room-talk-key-{light,dark}.png:
// the room on a phone, scrolled to the Talk key control while it learns.
// Not part of make test (build tag shots):
//
//	go test -tags shots -count=1 -run TestScreenshotsTalkKey ./e2etest/
func TestScreenshotsTalkKey(t *testing.T) {
	app := startApp(t)
	alice := shotRoom(t, app)
	alice.click("button", "Talk key: Space")
	shoot(t, alice, "talk-key", "room-talk-key")
}

// TestScreenshotsBluetoothButton writes
// docs/screenshots/room-bluetooth-{light,dark}.png: the room on a phone,
// scrolled to the Bluetooth button control with a (simulated) button paired.
//
//	go test -tags shots -count=1 -run TestScreenshotsBluetoothButton ./e2etest/
func TestScreenshotsBluetoothButton(t *testing.T) {
	app := startBluetoothApp(t)
	alice := shotRoom(t, app)
	btn := newSimButton(t, alice.page)
	btn.pickIn(alice)
	alice.click("button", "Pair a Bluetooth button")
	alice.waitFor("the button connected", 10*time.Second, func() bool {
		return alice.eval(`document.getElementById('bt-note').textContent`) == simButtonName+" is connected: hold it to talk. Only this device remembers it."
	})
	shoot(t, alice, "bt-button", "room-bluetooth")
}

// shotRoom has Alice create a room that Bob enters, on a phone's screen.
func shotRoom(t *testing.T, app *appRig) *person {
	t.Helper()
	alice := app.creator("Alice")
	bob := app.person("Bob", alice.find("textbox", "Invite link").Value)
	bob.enter()
	alice.waitFor("both names", 20*time.Second, func() bool { return bothNamed(alice.state()) })
	onPhone(t, alice)
	return alice
}

// shoot writes docs/screenshots/<name>-{light,dark}.png of p's page
// scrolled to the element with id.
func shoot(t *testing.T, p *person, id, name string) {
	t.Helper()
	shootAt(t, p, `document.getElementById('`+id+`')`, name)
}

// shootAt is shoot with the element to centre given as a JavaScript
// expression.
func shootAt(t *testing.T, p *person, element, name string) {
	t.Helper()
	for _, theme := range []string{"light", "dark"} {
		p.eval(`(() => { document.documentElement.dataset.theme = '` + theme + `'; ` + element + `.scrollIntoView({ block: 'center' }); return ''; })()`)
		time.Sleep(300 * time.Millisecond) // not an assertion: the theme's transitions settle
		shot, err := chromedp.Call(p.page, page.CaptureScreenshot, page.CaptureScreenshotParams{})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join("..", "docs", "screenshots", name+"-"+theme+".png")
		if err := os.WriteFile(out, shot.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", out)
	}
}

// TestScreenshotsSayAgain writes docs/screenshots/room-say-again-{light,dark}.png:
// Bob's room on a phone after two turns of Alice's, scrolled to Say again.
//
//	go test -tags shots -count=1 -run TestScreenshotsSayAgain ./e2etest/
func TestScreenshotsSayAgain(t *testing.T) {
	app := startApp(t)
	alice := app.creator("Alice")
	bob := app.person("Bob", alice.find("textbox", "Invite link").Value)
	bob.enter()
	bob.waitFor("both names", 20*time.Second, func() bool { return bothNamed(bob.state()) })
	talk := alice.find("button", "Hold to talk")
	for _, hold := range []time.Duration{3 * time.Second, 5 * time.Second} {
		if err := talk.Press(); err != nil {
			t.Fatal(err)
		}
		alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
		time.Sleep(hold) // the turn's length, not an assertion
		if err := talk.Release(); err != nil {
			t.Fatal(err)
		}
		bob.waitFor("nobody talking", 10*time.Second, func() bool { return bob.state().Floor.Holder == "" })
		time.Sleep(time.Second) // a gap between the turns' times
	}
	bob.waitFor("two turns to say again", 10*time.Second, func() bool { return sayAgainOf(bob).Listed == 2 })
	onPhone(t, bob)
	shootAt(t, bob, `document.getElementById('say-again').closest('section')`, "room-say-again")
}

// TestScreenshotsRoom writes docs/screenshots/room-{,talking-,listening-}{light,dark}.png:
// the room on a phone with nobody talking, Alice holding to talk, and Bob
// listening to her (the room's top: who talks, the talk button and the
// controls under it, Hands-free first).
//
//	go test -tags shots -count=1 -run TestScreenshotsRoom$ ./e2etest/
func TestScreenshotsRoom(t *testing.T) {
	app := startApp(t)
	alice := app.creator("Alice")
	bob := app.person("Bob", alice.find("textbox", "Invite link").Value)
	bob.enter()
	for _, p := range []*person{alice, bob} {
		p.waitFor("both names", 20*time.Second, func() bool { return bothNamed(p.state()) })
		onPhone(t, p)
	}
	shoot(t, alice, "room-title", "room")
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	bob.waitFor("Alice talking", 10*time.Second, func() bool { return bob.state().Floor.Holder != "" })
	shoot(t, alice, "room-title", "room-talking")
	shoot(t, bob, "room-title", "room-listening")
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
}

// onPhone gives p's page the phone's screen and touch.
func onPhone(t *testing.T, p *person) {
	t.Helper()
	if _, err := chromedp.Call(p.page, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: shotWidth, Height: shotHeight, DeviceScaleFactor: 1, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(p.page, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
}
