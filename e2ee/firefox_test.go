package e2ee_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"sotto/browsertest"
)

// firefoxEvent is an event the page's E2EE handles reported (worker events
// and watchdog trips).
type firefoxEvent struct {
	Side   string   `json:"side"`
	Type   string   `json:"type"`
	Count  int      `json:"count"`
	Codes  []string `json:"codes"`
	Kids   []string `json:"kids"`
	Reason string   `json:"reason"`
}

type firefoxEvents []firefoxEvent

func (es firefoxEvents) count(side, typ string) int {
	n := 0
	for _, e := range es {
		if e.Side == side && e.Type == typ {
			n += max(e.Count, 1) // watchdog events carry no count
		}
	}
	return n
}

func (es firefoxEvents) kids(side string) []string {
	var kids []string
	for _, e := range es {
		if e.Side == side && e.Type == "unknown-sender" {
			kids = append(kids, e.Kids...)
		}
	}
	return kids
}

type sendCounters struct{ Encrypted, Passed, Dropped int }
type recvCounters struct{ Decrypted, Passed, Dropped int }

// firefoxLoopback mirrors what loopback() in testdata/browser/firefox.js returns.
type firefoxLoopback struct {
	RMS             float64       `json:"rms"`
	RMSLate         float64       `json:"rmsLate"` // v2 rotation: after epoch 0 was erased
	AudioContext    string        `json:"audioContext"`
	Send            sendCounters  `json:"send"`
	Recv            recvCounters  `json:"recv"`
	Events          firefoxEvents `json:"events"`
	Kid             string        `json:"kid"`
	PacketsSent     int           `json:"packetsSent"`
	PacketsReceived int           `json:"packetsReceived"`
	SenderTrack     string        `json:"senderTrack"`
	Spied           *struct {
		spyCounts
		FirstBytes [][]int    `json:"firstBytes"`
		AtMark     *spyCounts `json:"atMark"`
	} `json:"spied"`
	Idle *struct {
		RMS             float64      `json:"rms"`
		Send            sendCounters `json:"send"`
		Recv            recvCounters `json:"recv"`
		PacketsSent     int          `json:"packetsSent"`
		PacketsReceived int          `json:"packetsReceived"`
	} `json:"idle"`
	Death *struct {
		Encrypted     int  `json:"encrypted"`
		PacketsSent   int  `json:"packetsSent"`
		WorkerAnswers bool `json:"workerAnswers"`
	} `json:"death"`
}

// spyCounts are the spy's counts of the frames that reached the receiver.
type spyCounts struct {
	Frames     int `json:"frames"`
	Empty      int `json:"empty"`
	NonEmpty   int `json:"nonEmpty"`
	KidMatches int `json:"kidMatches"`
}

// firefoxDuplexSide mirrors one side of duplex() in firefox.js.
type firefoxDuplexSide struct {
	RMS          float64       `json:"rms"`
	Send         sendCounters  `json:"send"`
	Recv         recvCounters  `json:"recv"`
	Events       firefoxEvents `json:"events"`
	Transceivers []string      `json:"transceivers"`
}

// firefoxResult is what firefox.js POSTs to /result (its "error", when
// the page failed, is browsertest.FirefoxPage's to report).
type firefoxResult struct {
	UserAgent          string                     `json:"userAgent"`
	API                string                     `json:"api"`
	HasScriptTransform bool                       `json:"hasScriptTransform"`
	HasEncodedStreams  bool                       `json:"hasEncodedStreams"`
	Scenarios          map[string]json.RawMessage `json:"scenarios"`
}

// firefoxDeadline bounds the whole run: Firefox's start-up and the eight
// scenarios (about 32 s in all).
const firefoxDeadline = 55 * time.Second

// firefoxResultBytes bounds the page's result: the eight scenarios' counts
// and events.
const firefoxResultBytes = 1 << 22

// TestFirefox runs the E2EE loopback of TestBrowserLoopback in headless
// Firefox (Debian's firefox-esr), where the app uses RTCRtpScriptTransform
// in a dedicated Worker. Firefox has no CDP, so the page
// (testdata/browser/firefox.js) runs every scenario by itself on load and
// POSTs the results here; the subtests check them.
func TestFirefox(t *testing.T) {
	version, _ := browsertest.FirefoxVersion(t)
	t.Log(version)

	mux := http.NewServeMux()
	mux.Handle("/js/", http.FileServerFS(os.DirFS("../static")))
	mux.Handle("/", http.FileServerFS(os.DirFS("testdata/browser")))
	mux.HandleFunc("POST /log", func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Msg string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err == nil {
			t.Logf("page: %s", m.Msg)
		}
	})

	var res firefoxResult
	page := browsertest.FirefoxPage{Handler: mux, Path: "/firefox.html", MaxResult: firefoxResultBytes, Deadline: firefoxDeadline}
	ff := page.Run(t, &res)
	if os.Getenv("SOTTO_FIREFOX_OUTPUT") != "" {
		t.Logf("Firefox printed:\n%s", ff.Output())
	}
	t.Logf("%s: RTCRtpScriptTransform %v, createEncodedStreams %v", res.UserAgent, res.HasScriptTransform, res.HasEncodedStreams)

	scenario := func(t *testing.T, name string, v any) {
		t.Helper()
		raw, ok := res.Scenarios[name]
		if !ok {
			t.Fatalf("scenario %q did not report", name)
		}
		var e struct{ Error string }
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if e.Error != "" {
			t.Fatalf("scenario %q failed in the page: %s", name, e.Error)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
		if testing.Verbose() {
			t.Logf("%s", raw)
		}
	}
	loopbackAllowingWatchdog := func(t *testing.T, name string) firefoxLoopback {
		t.Helper()
		var r firefoxLoopback
		scenario(t, name, &r)
		return r
	}
	// loopback runs a scenario. The watchdogs run as in the app: in no
	// scenario but a dead worker may they trip.
	loopback := func(t *testing.T, name string) firefoxLoopback {
		t.Helper()
		r := loopbackAllowingWatchdog(t, name)
		if n := r.Events.count("send", "watchdog") + r.Events.count("recv", "watchdog"); n > 0 {
			t.Errorf("a watchdog tripped: %+v", r.Events)
		}
		return r
	}

	t.Run("chooseApi picks script-transform", func(t *testing.T) {
		if res.API != "script-transform" {
			t.Fatalf("chooseApi() = %q in %s (RTCRtpScriptTransform %v, createEncodedStreams %v)",
				res.API, res.UserAgent, res.HasScriptTransform, res.HasEncodedStreams)
		}
	})

	t.Run("script-transform to script-transform", func(t *testing.T) {
		r := loopback(t, "right key")
		if r.Send.Encrypted < 50 || r.Recv.Decrypted < 50 {
			t.Fatalf("frames: %+v sent, %+v received", r.Send, r.Recv)
		}
		if r.RMS < heardRMS {
			t.Fatalf("decrypted audio too quiet: RMS %.5f (AudioContext %s)", r.RMS, r.AudioContext)
		}
		if n := r.Events.count("recv", "cant-decrypt"); n > 0 {
			t.Fatalf("%d frames failed to decrypt with the right key", n)
		}
		if n := r.Events.count("recv", "unknown-sender"); n > 0 {
			t.Fatalf("%d frames from an unknown sender, though the sender's KID was announced", n)
		}
		t.Logf("RMS %.4f; %d frames encrypted, %d decrypted, %d dropped, %d empty passed; packets sent %v, received %v",
			r.RMS, r.Send.Encrypted, r.Recv.Decrypted, r.Recv.Dropped, r.Recv.Passed, r.PacketsSent, r.PacketsReceived)
	})

	t.Run("wrong key gives silence", func(t *testing.T) {
		r := loopback(t, "wrong key")
		if r.Recv.Decrypted != 0 || r.Send.Encrypted < 50 || r.Recv.Dropped < 50 {
			t.Fatalf("frames: %+v sent, %+v received", r.Send, r.Recv)
		}
		if r.RMS >= silenceRMS {
			t.Fatalf("a receiver with the wrong key heard RMS %.5f, want digital silence", r.RMS)
		}
		if r.Events.count("recv", "cant-decrypt") == 0 {
			t.Fatal("no cant-decrypt event reached the page")
		}
		t.Logf("RMS %g; %d frames encrypted, %d dropped; cant-decrypt events for %d frames",
			r.RMS, r.Send.Encrypted, r.Recv.Dropped, r.Events.count("recv", "cant-decrypt"))
	})

	t.Run("unannounced sender is not played", func(t *testing.T) {
		r := loopback(t, "unannounced kid")
		if r.Recv.Decrypted != 0 || r.Recv.Dropped < 50 || r.RMS >= silenceRMS {
			t.Fatalf("frames from an unannounced KID were played: %+v, RMS %.5f", r.Recv, r.RMS)
		}
		if r.Events.count("recv", "unknown-sender") == 0 {
			t.Fatal("no unknown-sender event reached the page")
		}
		if kids := r.Events.kids("recv"); !slices.Contains(kids, r.Kid) {
			t.Fatalf("unknown-sender events name KIDs %v, not the sender's %s", kids, r.Kid)
		}
		t.Logf("RMS %g; %d frames dropped; unknown-sender events for %d frames",
			r.RMS, r.Recv.Dropped, r.Events.count("recv", "unknown-sender"))
	})

	t.Run("frames on the wire are SFrame", func(t *testing.T) {
		r := loopback(t, "spy")
		if r.Spied == nil || r.Spied.NonEmpty < 50 || r.Spied.KidMatches != r.Spied.NonEmpty {
			t.Fatalf("spy: %+v (sender KID %s)", r.Spied, r.Kid)
		}
		// Firefox also sends RTP padding (empty payloads, e.g. bandwidth
		// probes) that never passes through the send transform.
		t.Logf("%d of %d non-empty frames carry the sender's SFrame header; %d empty frames",
			r.Spied.KidMatches, r.Spied.NonEmpty, r.Spied.Empty)
	})

	// A worker that stops (crashes) must not let frames out unencrypted.
	t.Run("a dead worker lets nothing out", func(t *testing.T) {
		r := loopbackAllowingWatchdog(t, "worker dies")
		// A worker that stops answering is taken for dead: the send
		// watchdog stops the sender and the app is told (attach.js).
		if r.Events.count("send", "watchdog") == 0 {
			t.Errorf("the send watchdog did not notice the dead worker: %+v", r.Events)
		}
		if r.Death == nil || r.Spied == nil || r.Spied.AtMark == nil {
			t.Fatalf("incomplete result: %+v", r)
		}
		if r.Death.Encrypted < 50 {
			t.Fatalf("only %d frames encrypted before the worker stopped", r.Death.Encrypted)
		}
		if r.Spied.KidMatches != r.Spied.NonEmpty {
			t.Fatalf("after the worker stopped, %d frames without the SFrame header reached the receiver: %+v",
				r.Spied.NonEmpty-r.Spied.KidMatches, r.Spied)
		}
		after := r.Spied.NonEmpty - r.Spied.AtMark.NonEmpty
		t.Logf("%d frames encrypted before the worker stopped; after: %d frames received, %d packets sent (%v then %v); worker answers stats: %v",
			r.Death.Encrypted, after, r.PacketsSent-r.Death.PacketsSent,
			r.Death.PacketsSent, r.PacketsSent, r.Death.WorkerAnswers)
	})

	// The app between talk turns: DTX on, the microphone track disabled;
	// then the floor is ours and the track is enabled. The watchdogs must
	// not mistake either for frames bypassing the transforms.
	t.Run("idle then talk", func(t *testing.T) {
		r := loopback(t, "idle then talk")
		if r.Idle == nil {
			t.Fatal("no idle sample")
		}
		if r.Idle.RMS >= silenceRMS {
			t.Errorf("a disabled microphone track was heard: RMS %.5f", r.Idle.RMS)
		}
		if talk := r.Recv.Decrypted - r.Idle.Recv.Decrypted; talk < 50 || r.RMS < heardRMS {
			t.Errorf("after the track was enabled: %d frames decrypted, RMS %.5f", talk, r.RMS)
		}
		t.Logf("idle 2 s: RMS %g, %d frames encrypted, %d empty passed, %v packets sent; talk 2 s: RMS %.4f, %d frames decrypted",
			r.Idle.RMS, r.Idle.Send.Encrypted, r.Idle.Send.Passed, r.Idle.PacketsSent, r.RMS, r.Recv.Decrypted-r.Idle.Recv.Decrypted)
	})

	// v2 (docs/keys.md): frame keys from sender keys and a rotation
	// mid-stream; after the switch and epoch 0's erasure every frame must be
	// under epoch 1 (a frame left under epoch 0 would be unknown-sender).
	t.Run("v2 sender keys and a rotation mid-stream", func(t *testing.T) {
		r := loopback(t, "v2 rotation")
		if r.Send.Encrypted < 150 || r.Recv.Decrypted < 150 {
			t.Fatalf("frames: %+v sent, %+v received", r.Send, r.Recv)
		}
		if r.RMS < heardRMS || r.RMSLate < heardRMS {
			t.Fatalf("decrypted audio too quiet: RMS %.5f before the rotation, %.5f after epoch 0 was erased", r.RMS, r.RMSLate)
		}
		if n := r.Events.count("recv", "cant-decrypt") + r.Events.count("recv", "unknown-sender") + r.Events.count("send", "cant-encrypt"); n > 0 {
			t.Fatalf("%d frames failed across the rotation: %+v", n, r.Events)
		}
		t.Logf("RMS %.4f before, %.4f after the rotation; %d frames encrypted, %d decrypted", r.RMS, r.RMSLate, r.Send.Encrypted, r.Recv.Decrypted)
	})

	// The app's own shape: one worker per side with both transforms, both
	// directions on one transceiver.
	t.Run("duplex on one connection", func(t *testing.T) {
		var r map[string]firefoxDuplexSide
		scenario(t, "duplex", &r)
		for _, name := range []string{"a", "b"} {
			s := r[name]
			if s.Send.Encrypted < 50 || s.Recv.Decrypted < 50 {
				t.Errorf("%s: frames: %+v sent, %+v received (transceivers %v)", name, s.Send, s.Recv, s.Transceivers)
			}
			if s.RMS < heardRMS {
				t.Errorf("%s: decrypted audio too quiet: RMS %.5f", name, s.RMS)
			}
			if len(s.Events) > 0 {
				t.Errorf("%s: events %+v", name, s.Events)
			}
			t.Logf("%s: RMS %.4f, %d frames encrypted, %d decrypted", name, s.RMS, s.Send.Encrypted, s.Recv.Decrypted)
		}
	})

	// Every background service is off: Firefox sent nothing beyond the
	// loopback interface (its proxy is a tripwire; see browsertest).
	t.Run("Firefox stays off the network", func(t *testing.T) {
		if reqs := ff.OutsideRequests(); len(reqs) > 0 {
			t.Errorf("Firefox tried to reach the network (refused by the tripwire): %q; a pref in browsertest.FirefoxPrefs is missing", reqs)
		}
	})
}

// TestVectorsInFirefox passes every v2 vector in headless Firefox's
// WebCrypto, as TestVectorsInChromium does; the page POSTs its result.
func TestVectorsInFirefox(t *testing.T) {
	version, _ := browsertest.FirefoxVersion(t)
	t.Log(version)
	var r v2VectorsResult
	page := browsertest.FirefoxPage{Handler: v2VectorsHandler(), Path: "/v2vectors.html?post", MaxResult: 1 << 20, Deadline: firefoxDeadline}
	ff := page.Run(t, &r)
	r.check(t)
	if reqs := ff.OutsideRequests(); len(reqs) > 0 {
		t.Errorf("Firefox tried to reach the network (refused by the tripwire): %q", reqs)
	}
}
