package e2etest

// Pocket mode in a real browser, against the real binary (issue 17): a
// listener's page in the background keeps playing the room, and a page
// frozen for 30 s comes back as the same member and hears the next turn
// within 2 s of its start.
//
// What Chromium does here, measured with this app (the test logs it again
// on every run): a hidden page keeps its WebSocket, its PeerConnection and
// its <audio>, with timers held to one wake-up a second. A frozen page runs
// nothing; Chromium fails its WebSocket at the freeze ("Page entered
// Back-Forward Cache" in the DevTools log) and sends the server a 1001 close
// the moment the page runs again, when the page's script also learns of it.
// While frozen, the socket is alive at the server: Chromium's network
// process answers its pings. Before issue 17 the server took that 1001 for
// a leave, so the page came back as a new member. Now two things each keep
// the membership (each measured alone with this test): the server takes a
// 1001 with no leave before it as a drop (docs/protocol.md), and the
// session, on the page's resume event, closes the socket itself with 4000
// (which goes out first) and resumes at once (static/js/pocket.js), with
// the E2EE worker of its membership, which a resume keeps (session.js).
//
// Run: go test -run '^TestPocketModeInBrowser$' -v ./e2etest/

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

// pocketFreeze is how long the listener's page stays frozen: the issue's
// number, longer than the resume grace (15 s) and the server's ping period
// (20 s).
const pocketFreeze = 30 * time.Second

// pocketHearWithin is the requirement: the first turn after the
// page returns is heard within this of its start.
const pocketHearWithin = 2 * time.Second

// lifeLogJS records the page's lifecycle events with their wall-clock
// times, so the test can show the page was hidden, frozen and resumed.
const lifeLogJS = `(() => {
  if (window.__life) return true;
  const now = () => Math.round(performance.timeOrigin + performance.now());
  const life = window.__life = [];
  for (const ev of ['visibilitychange', 'freeze', 'resume']) {
    document.addEventListener(ev, () => life.push(ev + ':' + document.visibilityState + '@' + now()));
  }
  return true;
})()`

// newStreamRecorderJS installs the recorder afresh when the page plays
// another remote stream than the one marked (a resume builds a new
// PeerConnection), and arms its onset; it reports whether it did.
const newStreamRecorderJS = `(() => {
  const el = document.getElementById('remote');
  if (!el.srcObject || el.srcObject === window.__oldStream) return false;
  window.__oldStream = el.srcObject;
  window.__sottoRec = undefined;
  return true;
})()`

// TestPocketModeInBrowser: Alice talks to Bob, whose page is first hidden
// (another tab of his in front) and must go on playing her turn, then
// frozen and hidden for 30 s, then active and in front again. Alice starts
// her next turn the moment Bob's page is back: Bob must be the same member
// (his id, in his own view and in Alice's, which never lost him) and hear
// her within 2 s of her press.
func TestPocketModeInBrowser(t *testing.T) {
	start := time.Now()
	srv := startBinary(t)
	c := newCall(t, "http://"+srv.appAddr+"/", browsertest.Options{})
	t.Logf("in the room after %v", time.Since(start).Round(time.Millisecond))
	alice, bob := c.alice, c.bob
	self := bob.state().Self
	if !evalAs[bool](bob, lifeLogJS) {
		t.Fatal("no lifecycle log")
	}
	socketLog := watchSockets(bob)
	listenSteady(bob)
	bob.eval(`(() => { window.__oldStream = document.getElementById('remote').srcObject; return ''; })()`)
	talk := alice.find("button", "Hold to talk")

	// Hidden, not frozen: another tab of Bob's in front, as when the phone
	// shows another app or the screen goes off.
	_, err := chromedp.CallBrowser(bob.page, target.CreateTarget, target.CreateTargetParams{
		URL: "about:blank", BrowserContextID: chromedp.FromContext(bob.page).BrowserContextID,
	})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFor("a hidden page", 10*time.Second, func() bool { return bob.eval(`document.visibilityState`) == "hidden" })
	if err := browsertest.ArmOnset(bob.page, onsetRMS); err != nil {
		t.Fatal(err)
	}
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	hiddenPress := time.Now()
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	// The same press-to-hear on a page that never went away, for
	// comparison with the one after the freeze (a loaded machine's jitter
	// buffer alone can take a second or more).
	if at := bob.waitOnset(hiddenPress.Add(10 * time.Second)); at > 0 {
		t.Logf("hidden page: Bob hears Alice %v after her press", time.UnixMilli(int64(at)).Sub(hiddenPress).Round(time.Millisecond))
	}
	c.hears(bob, alice, "Bob's page hidden")
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor free", 10*time.Second, func() bool { return alice.state().Floor.Holder == "" })
	if v := bob.eval(`document.visibilityState`); v != "hidden" {
		t.Fatalf("Bob's page was %s while Alice talked; the test needs it hidden", v)
	}

	t.Logf("hidden turn heard, %v in", time.Since(start).Round(time.Millisecond))

	// Frozen and hidden.
	if _, err := chromedp.Call(bob.page, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateFrozen}); err != nil {
		t.Fatal(err)
	}
	frozenAt := time.Now()
	for time.Since(frozenAt) < pocketFreeze {
		time.Sleep(time.Second) // the freeze itself is the test's subject
		if !slices.ContainsFunc(alice.state().Members, func(m member) bool { return m.ID == self }) {
			t.Fatalf("%v into the freeze, Alice's list has no Bob (%s): %+v", time.Since(frozenAt).Round(time.Second), self, alice.state().Members)
		}
	}

	// Back: active, then in front, and Alice talks at once.
	if _, err := chromedp.Call(bob.page, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateActive}); err != nil {
		t.Fatal(err)
	}
	backAt := time.Now()
	if _, err := chromedp.Call(bob.page, page.BringToFront, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	pressed := time.Now()
	deadline := pressed.Add(3 * pocketHearWithin) // past the limit, to say by how much
	armed := false
	var onset float64
	for onset == 0 && time.Now().Before(deadline) {
		if !armed && evalAs[bool](bob, newStreamRecorderJS) {
			listenSteady(bob)
			if err := browsertest.ArmOnset(bob.page, onsetRMS); err != nil {
				t.Fatal(err)
			}
			armed = true
		}
		if armed {
			if at, err := browsertest.Onset(bob.page); err != nil {
				t.Fatal(err)
			} else {
				onset = at
			}
		}
		time.Sleep(onsetPoll)
	}
	s := bob.state()
	t.Logf("Bob's page: %s; his sockets: %s; conn %s", bob.eval(`window.__life.join(" ")`), socketLog.String(), bob.eval(`JSON.stringify(window.__connLog)`))
	if onset == 0 {
		t.Fatalf("Bob hears nothing %v after Alice's press, %v after his page came back (recorder on a new stream: %v); Bob %+v",
			time.Since(pressed).Round(time.Millisecond), time.Since(backAt).Round(time.Millisecond), armed, s)
	}
	heardAfter := time.UnixMilli(int64(onset)).Sub(pressed)
	t.Logf("after %v frozen: Alice pressed %v after Bob's page came back; Bob hears her %v after her press",
		pocketFreeze, pressed.Sub(backAt).Round(time.Millisecond), heardAfter.Round(time.Millisecond))
	if s.Self != self {
		t.Fatalf("Bob came back as %s, was %s: a new member, not the same membership", s.Self, self)
	}
	if heardAfter > pocketHearWithin {
		t.Errorf("Bob hears the next turn %v after it starts; the issue allows %v", heardAfter.Round(time.Millisecond), pocketHearWithin)
	}
	// What started is Alice's speech going on, not a click. (Whether it is
	// her speech the hidden turn showed: a correlation needs 4 s or more
	// here, as the jitter buffer settles on the new connection.)
	if rms := browsertest.RMS(bob.record(time.Second)); rms < onsetRMS {
		t.Fatalf("after its onset Bob's speaker plays RMS %.4f, under %.2f: not speech", rms, onsetRMS)
	}
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(alice.state().Members, func(m member) bool { return m.ID == self }) {
		t.Fatalf("Alice's list has no Bob (%s) after his return: %+v", self, alice.state().Members)
	}
}

// listenSteady is person.listen with the recorder for a hidden page
// (browsertest.InstallSteadyRecorder).
func listenSteady(p *person) {
	p.t.Helper()
	p.waitFor("remote audio", 30*time.Second, func() bool {
		ok, err := browsertest.InstallSteadyRecorder(p.page)
		if err != nil {
			p.t.Fatal(err)
		}
		return ok
	})
}

// member is one entry of appState.Members.
type member = struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// socketEvents notes, from the browser's side (DevTools network events,
// which arrive while the page is frozen), when a page's WebSockets opened,
// failed and closed, and the type of each message on them.
type socketEvents struct {
	mu     sync.Mutex
	events []string
}

func (l *socketEvents) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s@%d", s, time.Now().UnixMilli()))
}

func (l *socketEvents) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.events)
}

// typeOf is a signaling message's type: all the log keeps of it.
func typeOf(payload []byte) string {
	var m struct{ Type string }
	if json.Unmarshal(payload, &m) != nil {
		return "?"
	}
	return m.Type
}

func watchSockets(p *person) *socketEvents {
	l := &socketEvents{}
	chromedp.Listen(p.page, func(ev any) {
		switch e := ev.(type) {
		case *network.EventWebSocketCreated:
			l.add("opened")
		case *network.EventWebSocketFrameError:
			l.add(fmt.Sprintf("failed (%s)", e.ErrorMessage))
		case *network.EventWebSocketClosed:
			l.add("closed")
		case *network.EventWebSocketFrameReceived:
			l.add("got " + typeOf(e.Response.PayloadData))
		case *network.EventWebSocketFrameSent:
			l.add("sent " + typeOf(e.Response.PayloadData))
		}
	})
	return l
}
