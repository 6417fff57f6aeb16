package browsertest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"sotto/internal/testutil"
)

// pageDeadline bounds Firefox's start-up and a one-line page's run.
const pageDeadline = 45 * time.Second

// reportingPage serves a page whose module POSTs report (a JS expression)
// to /result on load.
func reportingPage(report string) FirefoxPage {
	mux := http.NewServeMux()
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><meta charset="utf-8"><script type="module">
await fetch('/result', { method: 'POST', body: JSON.stringify(`+report+`) });
</script>`)
	})
	return FirefoxPage{Handler: mux, Path: "/page.html", MaxResult: 1 << 10, Deadline: pageDeadline}
}

// Run hands over what the page POSTs, with Firefox stopped, and fails the
// test with the page's own error when it reports one.
func TestFirefoxPageRun(t *testing.T) {
	var got struct {
		Sum   int    `json:"sum"`
		Agent string `json:"agent"`
	}
	ff := reportingPage(`{ sum: 40 + 2, agent: navigator.userAgent }`).Run(t, &got)
	if got.Sum != 42 || !strings.Contains(got.Agent, "Firefox") {
		t.Errorf("the page reported %+v", got)
	}
	select {
	case <-ff.Exited():
	default:
		t.Error("Firefox still runs after Run returned")
	}

	msg := testutil.CatchFatal(t, func(tb testing.TB) {
		reportingPage(`{ error: 'no ' + 'luck' }`).Run(tb, &got)
	})
	if !strings.HasPrefix(msg, "the page failed: no luck\n") {
		t.Errorf("a page that reported an error: failed with %q", msg)
	}
}
