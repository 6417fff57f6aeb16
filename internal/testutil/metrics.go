package testutil

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// scrapeTimeout bounds one GET of /metrics.
const scrapeTimeout = 5 * time.Second

// Metric reads one unlabelled metric from a Prometheus /metrics URL, on a
// fresh connection each time (a test may have just shut a server down), and
// fails the test if it is missing.
func Metric(t testing.TB, url, name string) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: scrapeTimeout}
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("metric %s missing", name)
	return ""
}
