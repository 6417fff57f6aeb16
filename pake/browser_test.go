package pake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto/browsertest"
	"sotto/internal/vectorfile"
	"sotto/static"
)

// browserRun is what the page script below returns.
type browserRun struct {
	G            string   `json:"g"`
	ISK          string   `json:"isk"`
	Msgs         []string `json:"msgs"`
	Secret       string   `json:"secret"`
	RandomOK     bool     `json:"randomOK"`
	WrongCode    string   `json:"wrongCode"`
	Code         string   `json:"code"`
	FirstLoadJS  []string `json:"firstLoad"`
	LoadedByPAKE []string `json:"loadedByPake"`
}

const browserScript = `(async () => {
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const unhex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
  const fixed = (s) => { let rest = unhex(s); return (n) => { const o = rest.slice(0, n); rest = rest.slice(n); return o; }; };
  const before = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
  const v = await (await fetch('/pake-vectors.json')).json();
  const p = await import('/js/pake/index.js');
  const cpace = await import('/js/pake/cpace.js');
  const r = v.cpace_ristretto255;
  const ya = cpace.scalarFromBytes(unhex(r.ya));
  const out = { g: hex(cpace.calculateGenerator(unhex(r.prs), unhex(r.ci), unhex(r.sid)).toBytes()) };
  out.isk = hex(cpace.isk(unhex(r.sid), unhex(r.K), cpace.transcriptIR(unhex(r.Ya), unhex(r.ADa), unhex(r.Yb), unhex(r.ADb))));
  const e = v.exchanges[0];
  const { joiner, msg1 } = await p.newJoiner(e.nameplate, e.password, { random: fixed(e.sid + e.ya_random) });
  const member = await p.newMember(unhex(e.secret), e.nameplate, { random: fixed(e.yb_random + e.nonce) });
  const msg2 = await member.respond(msg1);
  const msg3 = await joiner.confirm(msg2);
  const msg4 = await member.finish(msg3);
  out.secret = hex(await joiner.open(msg4));
  out.msgs = [msg1, msg2, msg3, msg4].map(hex);
  // A run with the browser's own randomness, from a typed code.
  const S = crypto.getRandomValues(new Uint8Array(32));
  out.code = p.formatCode('4821', await p.codePassword(S, '4821'));
  const typed = p.parseCode(out.code.replaceAll('-', ' '));
  const a = await p.newJoiner(typed.nameplate, typed.password);
  const m = await p.newMember(S, '4821');
  const got = await a.joiner.open(await m.finish(await a.joiner.confirm(await m.respond(a.msg1))));
  out.randomOK = hex(got) === hex(S);
  // A wrong code.
  const w = await p.newJoiner('4821', typed.password === '0000000' ? '0000001' : '0000000');
  const m2 = await p.newMember(S, '4821');
  try { await w.joiner.confirm(await m2.respond(w.msg1)); out.wrongCode = 'accepted'; } catch (err) { out.wrongCode = p.codeOf(err); }
  const after = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
  out.firstLoad = before;
  out.loadedByPake = after.filter((x) => !before.includes(x));
  return out;
})()`

// TestBrowserExchange runs the browser module in headless Chromium, served
// the way the server serves it (the embedded app, static.Handler): the
// vendored noble modules must resolve and load in a browser (their
// rewritten imports, the embedded _md.js and _u64.js), reproduce the draft's
// generator and ISK and the exchange vector byte for byte, and complete a
// random run. It also checks that the app's first load fetches neither
// the PAKE module nor the curve library: they arrive only on import.
func TestBrowserExchange(t *testing.T) {
	mux, vectors := appWithVectors(t)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := browsertest.Start(t, browsertest.Options{})
	page := b.NewPage(t, 60*time.Second)
	// The app's own page: what it loads first must not include the PAKE.
	if err := chromedp.Do(page, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(page, chromedp.Poll[bool]("document.readyState === 'complete'")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the app's module graph settle
	res, err := browsertest.Eval[browserRun](page, browserScript)
	if err != nil {
		t.Fatal(err)
	}

	checkBrowserRun(t, "Chromium", vectors, res)
	if len(res.FirstLoadJS) < 5 {
		t.Errorf("the app loaded only %v: not the real first load", res.FirstLoadJS)
	}
	for _, p := range res.FirstLoadJS {
		if strings.Contains(p, "/pake/") || strings.Contains(p, "/noble-") {
			t.Errorf("the app's first load fetched %s", p)
		}
	}
	t.Logf("first load: %d files; importing the PAKE added %d: %v", len(res.FirstLoadJS), len(res.LoadedByPAKE), res.LoadedByPAKE)
	noble := 0
	for _, p := range res.LoadedByPAKE {
		if strings.Contains(p, "/vendor/noble-") {
			noble++
		}
	}
	if noble < 10 {
		t.Errorf("importing the PAKE loaded %d vendored noble modules: %v", noble, res.LoadedByPAKE)
	}
}

// appWithVectors serves the app the way the server does (static.Handler)
// and the vectors file at /pake-vectors.json; it returns the mux, for a
// test's own routes, and the vectors.
func appWithVectors(t *testing.T) (*http.ServeMux, []byte) {
	t.Helper()
	h, err := static.Handler()
	if err != nil {
		t.Fatal(err)
	}
	vectors, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/pake-vectors.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(vectors)
	})
	mux.Handle("/", h)
	return mux, vectors
}

// checkBrowserRun compares a page's run of browserScript with the vectors.
func checkBrowserRun(t *testing.T, browser string, vectors []byte, res browserRun) {
	t.Helper()
	var v vectorfile.PAKE
	if err := json.Unmarshal(vectors, &v); err != nil {
		t.Fatal(err)
	}
	e := v.Exchanges[0]
	if res.G != v.Ristretto.G || res.ISK != v.Ristretto.ISKIR {
		t.Errorf("draft vectors in %s: g %s, ISK %s", browser, res.G, res.ISK)
	}
	if strings.Join(res.Msgs, " ") != strings.Join([]string{e.Msg1, e.Msg2, e.Msg3, e.Msg4}, " ") || res.Secret != e.Secret {
		t.Errorf("exchange vector in %s: %v, secret %s", browser, res.Msgs, res.Secret)
	}
	if !res.RandomOK || res.WrongCode != "wrong-code" {
		t.Errorf("%s: random run ok: %v; wrong code: %q (code %s)", browser, res.RandomOK, res.WrongCode, res.Code)
	}
}

// firefoxPage runs browserScript on load and POSTs what it returns (or the
// error) to /result: Firefox has no CDP to evaluate it from here.
const firefoxPage = `<!doctype html><meta charset="utf-8"><title>PAKE in Firefox</title>
<script type="module">
const post = (v) => fetch('/result', { method: 'POST', body: JSON.stringify(v) });
try { await post(await ` + browserScript + `); } catch (err) { await post({ error: String(err && err.stack || err) }); }
</script>`

// firefoxDeadline bounds Firefox's start-up and the page's run.
const firefoxDeadline = 45 * time.Second

// firefoxResultBytes bounds the page's result: a few hex strings.
const firefoxResultBytes = 1 << 20

// TestFirefoxExchange runs the same script in headless Firefox (Debian's
// firefox-esr), the other engine the app supports: the vendored noble
// modules load there too, and the vectors and a random run come out the
// same. (The first-load check is Chromium's: this page is not the app.)
func TestFirefoxExchange(t *testing.T) {
	version, _ := browsertest.FirefoxVersion(t)
	mux, vectors := appWithVectors(t)
	mux.HandleFunc("/pake-firefox.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, firefoxPage)
	})
	var res browserRun
	page := browsertest.FirefoxPage{Handler: mux, Path: "/pake-firefox.html", MaxResult: firefoxResultBytes, Deadline: firefoxDeadline}
	page.Run(t, &res)
	checkBrowserRun(t, version, vectors, res)
	t.Logf("%s: draft vectors, exchange vector, a random run and a wrong code as in Go", version)
}
