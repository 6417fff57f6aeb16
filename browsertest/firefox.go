package browsertest

// Firefox has no CDP (it was removed) and we take no WebDriver dependency,
// so Firefox is driven without a driver: StartFirefox opens one URL in a
// fresh profile, and the page reports back to the test's HTTP server by
// itself (fetch POST; FirefoxPage.Run serves, starts, waits and decodes).
// The profile's user.js turns on the fake microphone, turns off permission
// prompts and autoplay blocking, and turns off every first-run page and
// background service that would reach for the network (the test machine
// has none); its HTTP proxy is a tripwire that refuses and records
// whatever still tries (OutsideRequests). Tests fail, never skip, when
// firefox-esr is missing: .ci/run installs it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto/internal/syncbuf"
)

// FirefoxPath is Debian's firefox-esr package's binary (apt-get install firefox-esr).
const FirefoxPath = "/usr/bin/firefox-esr"

// MinFirefoxMajor is the first Firefox with RTCRtpScriptTransform.
const MinFirefoxMajor = 117

// offline is where every background-service URL points: a port nothing
// listens on, on the loopback interface.
const offline = "http://127.0.0.1:9/"

// FirefoxPrefs returns the prefs every test profile gets. Sources: the prefs
// Mozilla's own remote agent sets for automation
// (remote/shared/RecommendedPreferences.sys.mjs in omni.ja) and Puppeteer's,
// each checked to exist in firefox-esr 153. With them, a profile left on
// about:blank for 150 s asked for nothing beyond loopback (without them:
// 14 hosts in 40 s, from remote settings to push and captive-portal checks).
func FirefoxPrefs() map[string]any {
	return map[string]any{
		// Media: fake devices (a 1 kHz tone for audio), no permission prompt,
		// autoplay (media elements and WebAudio) without a user gesture.
		"media.navigator.streams.fake":        true,
		"media.navigator.permission.disabled": true,
		"media.autoplay.default":              0, // 0 = allowed
		"media.autoplay.blocking_policy":      0,
		// No sound card: Firefox's mock audio backend plays to nowhere in real time.
		"media.cubeb.force_mock_context": true,
		// WebRTC on a closed machine: host candidates as plain IPs (no mDNS
		// names to resolve), loopback candidates allowed.
		"media.peerconnection.ice.obfuscate_host_addresses": false,
		"media.peerconnection.ice.loopback":                 true,
		// No codec plugin (OpenH264, Widevine) downloads.
		"media.gmp-manager.updateEnabled":                false,
		"media.gmp-manager.url":                          offline,
		"media.gmp-gmpopenh264.autoupdate":               false,
		"media.gmp-widevinecdm.enabled":                  false,
		"media.gmp-widevinecdm.autoupdate":               false,
		"media.eme.enabled":                              false,
		"media.sanity-test.disabled":                     true,
		"media.videocontrols.picture-in-picture.enabled": false,

		// First run: no welcome, what's-new or default-browser pages; a blank start.
		"browser.startup.page":                            0,
		"browser.startup.homepage":                        "about:blank",
		"browser.startup.homepage_override.mstone":        "ignore",
		"browser.startup.firstrunSkipsHomepage":           true,
		"startup.homepage_welcome_url":                    "about:blank",
		"startup.homepage_welcome_url.additional":         "",
		"startup.homepage_override_url":                   "",
		"browser.aboutwelcome.enabled":                    false,
		"termsofuse.bypassNotification":                   true,
		"trailhead.firstrun.didSeeAboutWelcome":           true,
		"browser.shell.checkDefaultBrowser":               false,
		"browser.shell.skipDefaultBrowserCheckOnFirstRun": true,
		"browser.sessionstore.resume_from_crash":          false,
		"browser.tabs.warnOnClose":                        false,
		"browser.warnOnQuit":                              false,
		"browser.uitour.enabled":                          false,
		"toolkit.startup.max_resumed_crashes":             -1,
		"browser.translations.enable":                     false,
		"browser.translations.automaticallyPopup":         false,
		"browser.ml.enable":                               false,
		"browser.ml.chat.enabled":                         false,

		// Updates: application, add-ons, system add-ons, search engines, blocklists.
		"app.update.disabledForTesting":               true,
		"app.update.auto":                             false,
		"app.update.checkInstallTime":                 false,
		"app.update.staging.enabled":                  false,
		"app.update.url":                              offline,
		"extensions.update.enabled":                   false, // Debian's /etc/firefox-esr sets it to true
		"extensions.update.autoUpdateDefault":         false,
		"extensions.update.notifyUser":                false,
		"extensions.systemAddon.update.enabled":       false,
		"extensions.systemAddon.update.url":           offline,
		"extensions.update.url":                       offline,
		"extensions.update.background.url":            offline,
		"extensions.hotfix.url":                       offline,
		"extensions.getAddons.cache.enabled":          false,
		"extensions.getAddons.discovery.api_url":      offline,
		"extensions.blocklist.enabled":                false,
		"extensions.autoDisableScopes":                0,
		"extensions.enabledScopes":                    5, // profile + application only
		"extensions.installDistroAddons":              false,
		"extensions.formautofill.addresses.enabled":   false,
		"extensions.formautofill.creditCards.enabled": false,
		"browser.search.update":                       false,
		"browser.region.network.url":                  "",
		"browser.region.update.enabled":               false,
		// Remote settings feed blocklists, CRLite, intermediates, Nimbus
		// experiments, translation models...: all from this server.
		"services.settings.server":                        "data:,#remote-settings-dummy/v1", // with MOZ_REMOTE_SETTINGS_DEVTOOLS=1
		"services.settings.loglevel":                      "off",
		"security.remote_settings.crlite_filters.enabled": false,
		"security.remote_settings.intermediates.enabled":  false,
		"app.normandy.enabled":                            false,
		"app.normandy.api_url":                            "",
		"app.shield.optoutstudies.enabled":                false,
		"general.useragent.updates.enabled":               false,

		// Telemetry and data reporting.
		"datareporting.policy.dataSubmissionEnabled":                  false,
		"datareporting.policy.dataSubmissionPolicyBypassNotification": true,
		"datareporting.policy.dataSubmissionPolicyAccepted":           false,
		"telemetry.fog.test.localhost_port":                           -1, // Glean uploads nowhere
		"datareporting.healthreport.uploadEnabled":                    false,
		"datareporting.healthreport.service.enabled":                  false,
		"datareporting.usage.uploadEnabled":                           false,
		"toolkit.telemetry.enabled":                                   false,
		"toolkit.telemetry.archive.enabled":                           false,
		"toolkit.telemetry.server":                                    offline,
		"toolkit.telemetry.shutdownPingSender.enabled":                false,
		"toolkit.telemetry.newProfilePing.enabled":                    false,
		"toolkit.telemetry.firstShutdownPing.enabled":                 false,
		"toolkit.telemetry.updatePing.enabled":                        false,
		"toolkit.telemetry.bhrPing.enabled":                           false,
		"toolkit.coverage.opt-out":                                    true,
		"browser.newtabpage.activity-stream.telemetry":                false,
		"browser.newtabpage.activity-stream.feeds.telemetry":          false,
		"browser.tabs.crashReporting.sendReport":                      false,
		"browser.crashReports.unsubmittedCheck.autoSubmit2":           false,

		// Safe browsing and tracking-protection lists.
		"browser.safebrowsing.malware.enabled":             false,
		"browser.safebrowsing.phishing.enabled":            false,
		"browser.safebrowsing.downloads.enabled":           false,
		"browser.safebrowsing.downloads.remote.enabled":    false,
		"browser.safebrowsing.blockedURIs.enabled":         false,
		"browser.safebrowsing.update.enabled":              false,
		"browser.safebrowsing.provider.google.updateURL":   "",
		"browser.safebrowsing.provider.google.gethashURL":  "",
		"browser.safebrowsing.provider.google4.updateURL":  "",
		"browser.safebrowsing.provider.google4.gethashURL": "",
		"browser.safebrowsing.provider.mozilla.updateURL":  "",
		"browser.safebrowsing.provider.mozilla.gethashURL": "",
		"privacy.trackingprotection.enabled":               false,
		"privacy.query_stripping.enabled":                  false,

		// New tab page, sponsored tiles, suggestions, thumbnails.
		"browser.newtabpage.enabled":                                  false,
		"browser.newtabpage.activity-stream.feeds.system.topstories":  false,
		"browser.newtabpage.activity-stream.feeds.section.topstories": false,
		"browser.newtabpage.activity-stream.feeds.topsites":           false,
		"browser.newtabpage.activity-stream.showSponsored":            false,
		"browser.newtabpage.activity-stream.showSponsoredTopSites":    false,
		"browser.newtabpage.activity-stream.default.sites":            "",
		"browser.topsites.contile.enabled":                            false,
		"browser.pagethumbnails.capturing_disabled":                   true,
		"browser.urlbar.suggest.searches":                             false,
		"browser.urlbar.quicksuggest.enabled":                         false,
		"browser.urlbar.merino.endpointURL":                           "",
		"browser.urlbar.merino.ohttpConfigURL":                        "",
		"browser.urlbar.merino.ohttpRelayURL":                         "",
		"places.semanticHistory.featureGate":                          false, // downloads ML models
		"browser.backup.enabled":                                      false,
		"browser.discovery.enabled":                                   false,
		"browser.vpn_promo.enabled":                                   false,
		"identity.fxaccounts.enabled":                                 false,
		"identity.fxaccounts.auth.uri":                                offline,
		"screenshots.browser.component.enabled":                       false,

		// Background connections: Web Push, captive portal and connectivity
		// checks, DNS over HTTPS, speculative and prefetched connections,
		// OCSP, network geolocation.
		"dom.push.enabled":                          false,
		"dom.push.connection.enabled":               false,
		"dom.push.serverURL":                        "",
		"network.captive-portal-service.enabled":    false,
		"network.connectivity-service.enabled":      false,
		"captivedetect.canonicalURL":                "",
		"network.trr.mode":                          5, // DNS over HTTPS off by choice
		"doh-rollout.disable-heuristics":            true,
		"network.dns.disablePrefetch":               true,
		"network.prefetch-next":                     false,
		"network.http.speculative-parallel-limit":   0,
		"browser.urlbar.speculativeConnect.enabled": false,
		"browser.places.speculativeConnect.enabled": false,
		"network.manage-offline-status":             false,
		"security.OCSP.enabled":                     0,
		"security.certerrors.mitm.priming.enabled":  false,
		"geo.provider.network.url":                  "",
		"geo.provider.testing":                      true,
		"geo.wifi.scan":                             false,

		// No dialogs that would stop a headless run; page console to stdout.
		"dom.max_script_run_time":         0,
		"dom.max_chrome_script_run_time":  0,
		"dom.ipc.reportProcessHangs":      false,
		"devtools.console.stdout.content": true,
		"browser.dom.window.dump.enabled": true,
	}
}

// FirefoxVersion runs firefox-esr --version and returns what it printed
// ("Mozilla Firefox 153.7.0esr") and the major version. It fails the test
// when firefox-esr is missing or older than MinFirefoxMajor.
func FirefoxVersion(t testing.TB) (string, int) {
	t.Helper()
	version, major, err := firefoxVersion(FirefoxPath, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return version, major
}

// firefoxVersion is FirefoxVersion for the binary at path.
func firefoxVersion(path, home string) (string, int, error) {
	if err := requireFirefox(path); err != nil {
		return "", 0, err
	}
	cmd := exec.Command(path, "--version")
	cmd.Env = firefoxEnv(home)
	out, err := cmd.Output()
	if err != nil {
		return "", 0, fmt.Errorf("%s --version: %v", path, err)
	}
	version := strings.TrimSpace(string(out))
	m := regexp.MustCompile(`Firefox (\d+)\.`).FindStringSubmatch(version)
	if m == nil {
		return "", 0, fmt.Errorf("%s --version printed %q, not a Firefox version", path, version)
	}
	major, _ := strconv.Atoi(m[1])
	if major < MinFirefoxMajor {
		return version, major, fmt.Errorf("%s is Firefox %d; RTCRtpScriptTransform needs %d+ (apt-get install -y firefox-esr)", path, major, MinFirefoxMajor)
	}
	return version, major, nil
}

// requireFirefox says how to install Firefox when path is missing.
func requireFirefox(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("Firefox is required at %s (apt-get install -y firefox-esr): %v", path, err)
	}
	return nil
}

// FirefoxOptions tune StartFirefox.
type FirefoxOptions struct {
	// Prefs are added to FirefoxPrefs (and override them).
	Prefs map[string]any
}

// Firefox is one headless Firefox process (and its content processes, all
// in one process group) with its own fresh profile.
type Firefox struct {
	cmd      *exec.Cmd
	dir      string // the test's directory: HOME, TMPDIR, profile
	out      *syncbuf.Buffer
	done     chan struct{}
	once     sync.Once
	tripwire *tripwire
}

// StartFirefox starts headless Firefox on url in a fresh profile. Firefox
// is killed (its whole process group) when the test ends, or earlier by Stop.
func StartFirefox(t testing.TB, url string, o FirefoxOptions) *Firefox {
	t.Helper()
	if err := requireFirefox(FirefoxPath); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile")
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	tw, err := startTripwire()
	if err != nil {
		t.Fatalf("starting the network tripwire: %v", err)
	}
	t.Cleanup(tw.close)
	prefs := FirefoxPrefs()
	for k, v := range tw.prefs() {
		prefs[k] = v
	}
	for k, v := range o.Prefs {
		prefs[k] = v
	}
	userJS, err := UserJS(prefs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), userJS, 0o600); err != nil {
		t.Fatal(err)
	}
	f := &Firefox{dir: dir, out: &syncbuf.Buffer{}, done: make(chan struct{}), tripwire: tw}
	f.cmd = exec.Command(FirefoxPath, "--headless", "--no-remote", "--profile", profile, url)
	f.cmd.Env = firefoxEnv(dir)
	f.cmd.Stdout = f.out
	f.cmd.Stderr = f.out
	// Its own process group, so Stop reaches the content processes too;
	// and if the test binary dies, the kernel kills the main process, whose
	// children then lose their IPC channel and exit.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("starting Firefox: %v", err)
	}
	go func() {
		f.cmd.Wait()
		close(f.done)
	}()
	t.Cleanup(f.Stop)
	return f
}

// Stop kills Firefox's process group and waits for the main process.
func (f *Firefox) Stop() {
	f.once.Do(func() {
		pgid := f.cmd.Process.Pid // Setpgid: the group is named after its leader
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
		}
		killFirefoxLeftovers(pgid, f.dir)
	})
}

// killFirefoxLeftovers makes sure nothing of a killed Firefox outlives it:
// the content processes are in its process group pgid, but the crash helper
// (crashhelper) puts itself in a session of its own; it is known by the
// profile path (in dir) in its command line.
func killFirefoxLeftovers(pgid int, dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := strays(dir)
		if !groupAlive(pgid) && len(left) == 0 || time.Now().After(deadline) {
			return
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupAlive reports whether any process is left in the process group.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}

// strays lists the processes whose command line names a path in dir (this
// test's own temporary directory, so only processes this Firefox started).
func strays(dir string) []int {
	inDir := []byte(dir + string(filepath.Separator))
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, inDir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// OutsideRequests lists the requests Firefox tried to send beyond the
// loopback interface ("CONNECT host:443", "GET http://host/path"). Every
// profile's proxy is a tripwire that answers them all with an error, so
// none reaches the network; a request here means a background service
// that FirefoxPrefs does not turn off yet.
func (f *Firefox) OutsideRequests() []string { return f.tripwire.requests() }

// Exited is closed when the main Firefox process has exited.
func (f *Firefox) Exited() <-chan struct{} { return f.done }

// Output returns what Firefox printed so far (stdout and stderr, including
// the page's console with devtools.console.stdout.content).
func (f *Firefox) Output() string { return f.out.String() }

// tripwire is the HTTP proxy of every test profile: it records each
// request and refuses it.
type tripwire struct {
	ln  net.Listener
	srv *http.Server
	mu  sync.Mutex
	got []string
}

func startTripwire() (*tripwire, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tw := &tripwire{ln: ln}
	tw.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := r.Method + " " + r.URL.String()
			if r.Method == http.MethodConnect {
				req = r.Method + " " + r.Host
			}
			tw.mu.Lock()
			tw.got = append(tw.got, req)
			tw.mu.Unlock()
			http.Error(w, "this test machine has no network", http.StatusForbidden)
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go tw.srv.Serve(ln)
	return tw, nil
}

// prefs point Firefox's HTTP, HTTPS and WebSocket traffic at the tripwire.
// The loopback interface is never proxied
// (network.proxy.allow_hijacking_localhost is false), so the test's own
// server is reached directly.
func (tw *tripwire) prefs() map[string]any {
	port := tw.ln.Addr().(*net.TCPAddr).Port
	return map[string]any{
		"network.proxy.type":                      1, // manual
		"network.proxy.http":                      "127.0.0.1",
		"network.proxy.http_port":                 port,
		"network.proxy.ssl":                       "127.0.0.1",
		"network.proxy.ssl_port":                  port,
		"network.proxy.share_proxy_settings":      true,
		"network.proxy.no_proxies_on":             "",
		"network.proxy.allow_hijacking_localhost": false,
	}
}

func (tw *tripwire) requests() []string {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return slices.Clone(tw.got)
}

func (tw *tripwire) close() { tw.srv.Close() }

// UserJS writes prefs as a profile's user.js, sorted by name.
func UserJS(prefs map[string]any) ([]byte, error) {
	names := make([]string, 0, len(prefs))
	for k := range prefs {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("// Written by sotto/browsertest for a throwaway test profile.\n")
	for _, k := range names {
		switch prefs[k].(type) {
		case bool, string, int:
		default:
			return nil, fmt.Errorf("pref %s: %T is not a Firefox pref type (bool, string, int)", k, prefs[k])
		}
		name, err := jsonString(k)
		if err != nil {
			return nil, err
		}
		value, err := jsonString(prefs[k])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "user_pref(%s, %s);\n", name, value)
	}
	return b.Bytes(), nil
}

func jsonString(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// firefoxEnv is the environment Firefox runs in: HOME in the test's
// temporary directory (nothing lands in the real one), headless, no crash
// reporter, no safe-mode prompt after a kill.
func firefoxEnv(home string) []string {
	env := []string{
		"HOME=" + home,
		"TMPDIR=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"MOZ_HEADLESS=1",
		"MOZ_CRASHREPORTER_DISABLE=1",
		"MOZ_DISABLE_AUTO_SAFE_MODE=1",
		"MOZ_NO_REMOTE=1",
		// Release builds ignore services.settings.server without it.
		"MOZ_REMOTE_SETTINGS_DEVTOOLS=1",
		"LANG=C.UTF-8",
	}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	}
	return env
}
