package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sotto/operator"
	"sotto/room"
	sig "sotto/signal"
)

// testSecret is an operator secret long enough for operator.CheckSecret.
const testSecret = "0123456789abcdef0123456789abcdef-unit-secret"

// SOTTO_SECRET turns operator mode on only when set, and only with a
// secret long enough to resist guessing.
func TestReadOperatorSecret(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == operatorSecretEnv {
				return v
			}
			return ""
		}
	}
	if s, err := readOperatorSecret(env("")); s != nil || err != nil {
		t.Errorf("unset: %q, %v; want operator mode off", s, err)
	}
	if s, err := readOperatorSecret(env("short")); err == nil || !strings.Contains(err.Error(), operatorSecretEnv) {
		t.Errorf("a short secret: %q, %v; want an error naming %s", s, err, operatorSecretEnv)
	}
	if s, err := readOperatorSecret(env(testSecret)); err != nil || string(s) != testSecret {
		t.Errorf("a good secret: %q, %v", s, err)
	}
}

// admitWith turns each of the verifier's verdicts into the signal error the
// client is told, and a good token into its user and role.
func TestAdmitWithMapsVerdicts(t *testing.T) {
	var id, other room.ID
	id[0], other[0] = 1, 2
	sign := func(c operator.Claims) string {
		t.Helper()
		tok, err := operator.Sign([]byte(testSecret), c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	soon := time.Now().Add(time.Minute)
	good := sign(operator.Claims{Room: id, User: "alice", Role: room.RoleListen, Expiry: soon})
	admit := admitWith(operator.NewVerifier([]byte(testSecret)))

	a, err := admit(good, id)
	if err != nil || a.User != "alice" || a.Role != room.RoleListen || a.Undo == nil {
		t.Fatalf("a good token: %+v, %v", a, err)
	}
	for _, tc := range []struct {
		name, token string
		want        error
	}{
		{"no token", "", sig.ErrTokenMissing},
		{"malformed", "not-a-token", sig.ErrTokenInvalid},
		{"another room", sign(operator.Claims{Room: other, User: "bob", Role: room.RoleTalk, Expiry: soon}), sig.ErrTokenInvalid},
		{"forged", sign(operator.Claims{Room: id, User: "bob", Role: room.RoleTalk, Expiry: soon})[:40] + "x", sig.ErrTokenInvalid},
		{"expired", sign(operator.Claims{Room: id, User: "bob", Role: room.RoleTalk, Expiry: time.Now().Add(-time.Minute)}), sig.ErrTokenExpired},
		{"too long-lived", sign(operator.Claims{Room: id, User: "bob", Role: room.RoleTalk, Expiry: time.Now().Add(24 * 365 * time.Hour)}), sig.ErrTokenExpired},
		{"replayed", good, sig.ErrTokenReplayed},
	} {
		if _, err := admit(tc.token, id); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	a.Undo() // the join failed after all: the token may be used again
	if _, err := admit(good, id); err != nil {
		t.Errorf("the token after Undo: %v", err)
	}
}

// The operator API answers under /api/ only; every other path is the app's.
func TestWithOperatorAPIRoutes(t *testing.T) {
	tagged := func(tag string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Handler", tag) })
	}
	h := withOperatorAPI(tagged("app"), tagged("api"))
	for path, want := range map[string]string{"/api/v1/rooms": "api", "/api/": "api", "/": "app", "/ws": "app", "/apiary": "app"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := rec.Header().Get("X-Handler"); got != want {
			t.Errorf("%s went to %q, want %q", path, got, want)
		}
	}
}
