package operator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"testing"

	"sotto/room"
)

// FuzzAPI sends authenticated requests with any method, path and body to the
// API: it never panics, answers only with the documented statuses, always in
// JSON, and reaches the registry only with a well-formed room, user and role.
func FuzzAPI(f *testing.F) {
	f.Add("GET", "/api/v1/rooms", "")
	f.Add("DELETE", "/api/v1/rooms/q6Uj3K0Hk1hT0k8c9Lr8Ew/users/ann", "")
	f.Add("PUT", "/api/v1/rooms/q6Uj3K0Hk1hT0k8c9Lr8Ew/users/ann/role", `{"role":"listen"}`)
	f.Add("PUT", "/api/v1/rooms/q6Uj3K0Hk1hT0k8c9Lr8Ew/users/ann/role", `{"role":"talk","x":1}`)
	f.Add("POST", "/api/v1/rooms/%2e%2e/users/a", "{")
	statuses := []int{200, 400, 404, 405, 413}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://sotto"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("Authorization", "Bearer "+string(testSecret))
		fake := &fakeRooms{rooms: []RoomInfo{{ID: room.ID{1}, Members: 2, Listeners: 1}}, n: 1}
		rec := httptest.NewRecorder()
		NewAPI(testSecret, fake).ServeHTTP(rec, req)
		if rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusPermanentRedirect {
			// ServeMux sends a path with "." or ".." segments or doubled
			// slashes to its clean form, after the bearer was checked.
			if path.Clean(req.URL.Path) == req.URL.Path && !strings.HasSuffix(req.URL.Path, "/") {
				t.Fatalf("%s %q: redirected, yet the path is clean", method, target)
			}
			return
		}
		if !slices.Contains(statuses, rec.Code) {
			t.Fatalf("%s %q: status %d", method, target, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s %q: answer %q is not JSON", method, target, rec.Body.String())
		}
		if fake.gotUser != "" {
			if !validUser(fake.gotUser) {
				t.Fatalf("the registry was asked about user %q", fake.gotUser)
			}
			// Answers are made of a fixed vocabulary; a user id spelled like
			// one of its words proves nothing.
			fixed := map[string]bool{"removed": true, "changed": true, "role": true, "talk": true, "listen": true,
				"rooms": true, "room": true, "members": true, "listeners": true, "error": true, "message": true}
			if !fixed[fake.gotUser] && strings.Contains(rec.Body.String(), `"`+fake.gotUser+`"`) {
				t.Fatalf("the answer names the user: %s", rec.Body.String())
			}
		}
		if fake.gotRole != 0 && fake.gotRole != room.RoleTalk && fake.gotRole != room.RoleListen {
			t.Fatalf("the registry was given role %d", fake.gotRole)
		}
	})
}
