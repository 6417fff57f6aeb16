package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirefoxMissingSaysHowToInstall(t *testing.T) {
	_, _, err := firefoxVersion(filepath.Join(t.TempDir(), "no-firefox-here"), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y firefox-esr") {
		t.Fatalf("got %v, want a message saying to apt-get install firefox-esr", err)
	}
}

func TestFirefoxTooOld(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "firefox")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'Mozilla Firefox 115.9.0esr'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	version, major, err := firefoxVersion(fake, t.TempDir())
	if err == nil || major != 115 || version != "Mozilla Firefox 115.9.0esr" || !strings.Contains(err.Error(), "117+") {
		t.Fatalf("got %q, %d, %v; want Firefox 115 refused", version, major, err)
	}
}

func TestUserJS(t *testing.T) {
	got, err := UserJS(map[string]any{
		"b.int":    5,
		"a.bool":   true,
		"c.string": `say "hi" <there> \ & bye`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `user_pref("a.bool", true);
user_pref("b.int", 5);
user_pref("c.string", "say \"hi\" <there> \\ & bye");
`
	if !strings.HasSuffix(string(got), want) {
		t.Fatalf("got\n%s\nwant it to end with\n%s", got, want)
	}
	if _, err := UserJS(map[string]any{"x": 1.5}); err == nil {
		t.Fatal("a float pref was accepted; Firefox prefs are bool, int or string")
	}
}

// FirefoxPrefs must keep the three things the E2EE tests rely on.
func TestFirefoxPrefsTurnOnFakeMediaWithoutPrompts(t *testing.T) {
	p := FirefoxPrefs()
	for name, want := range map[string]any{
		"media.navigator.streams.fake":        true,
		"media.navigator.permission.disabled": true,
		"media.autoplay.default":              0,
		"media.cubeb.force_mock_context":      true,
	} {
		if p[name] != want {
			t.Errorf("%s = %v, want %v", name, p[name], want)
		}
	}
	if _, err := UserJS(p); err != nil {
		t.Fatal(err)
	}
}
