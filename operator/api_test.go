package operator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"sotto/room"
)

// fakeRooms records what the API asked and answers what the test says.
type fakeRooms struct {
	mu    sync.Mutex
	calls []string

	rooms   []RoomInfo
	n       int
	err     error
	gotID   room.ID
	gotUser string
	gotRole room.Role
}

func (f *fakeRooms) Rooms() []RoomInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "Rooms")
	return f.rooms
}

func (f *fakeRooms) RemoveUser(id room.ID, user string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "RemoveUser")
	f.gotID, f.gotUser = id, user
	return f.n, f.err
}

func (f *fakeRooms) SetUserRole(id room.ID, user string, r room.Role) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "SetUserRole")
	f.gotID, f.gotUser, f.gotRole = id, user, r
	return f.n, f.err
}

type apiResp struct {
	status int
	header http.Header
	body   string
}

// call sends one request to a fresh API over real HTTP, with the right
// bearer unless auth is given.
func call(t *testing.T, f *fakeRooms, method, path, body string, auth ...string) apiResp {
	t.Helper()
	srv := httptest.NewServer(NewAPI(testSecret, f))
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil {
		auth = []string{"Bearer " + string(testSecret)}
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := apiResp{res.StatusCode, res.Header, string(b)}
	// Every answer, whatever it is.
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s %s: Cache-Control %q", method, path, got)
	}
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s %s: X-Content-Type-Options %q", method, path, got)
	}
	if method != "HEAD" {
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, got)
		}
		if !json.Valid(b) {
			t.Errorf("%s %s: body is not JSON: %q", method, path, b)
		}
	}
	return r
}

// wantError checks an error answer: its status and its stable code.
func wantError(t *testing.T, r apiResp, status int, code string) {
	t.Helper()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if r.status != status || e.Error != code || e.Message == "" {
		t.Fatalf("got %d %q, want %d %q (body %q)", r.status, e.Error, status, code, r.body)
	}
}

var (
	roomAText = FormatRoomID(roomA)
	userPath  = "/api/v1/rooms/" + roomAText + "/users/user_42"
	rolePath  = userPath + "/role"
)

// TestAPIUnauthorized: without the right bearer every request, to any path
// with any method, gets the same 401 and reaches nothing.
func TestAPIUnauthorized(t *testing.T) {
	s := string(testSecret)
	auths := map[string][]string{
		"missing":          {},
		"empty":            {""},
		"wrong":            {"Bearer " + strings.Repeat("w", len(s))},
		"short":            {"Bearer " + s[:len(s)-1]},
		"prefix":           {"Bearer " + s[:MinSecretBytes]},
		"long":             {"Bearer " + s + "A"},
		"wrong scheme":     {"Basic " + s},
		"no scheme":        {s},
		"scheme only":      {"Bearer"},
		"two headers":      {"Bearer " + s, "Bearer " + s},
		"wrong first byte": {"Bearer x" + s[1:]},
		"wrong last byte":  {"Bearer " + s[:len(s)-1] + "x"},
	}
	reqs := []struct{ method, path, body string }{
		{"GET", "/api/v1/rooms", ""},
		{"DELETE", userPath, ""},
		{"PUT", rolePath, `{"role":"listen"}`},
		{"POST", "/api/v1/rooms", ""},          // would be 405
		{"GET", "/api/v1/nothing", ""},         // would be 404
		{"GET", "/api/v1/rooms/x/users/y", ""}, // would be 405
		{"DELETE", "/api/v1/rooms/bad/users/user_42", ""},
		{"PUT", rolePath, `not json`},
		{"OPTIONS", "/api/v1/rooms", ""},
		{"GET", "/api//v1/../v1/rooms", ""}, // would be a redirect
	}
	var first string
	for name, auth := range auths {
		for _, rq := range reqs {
			f := &fakeRooms{}
			r := call(t, f, rq.method, rq.path, rq.body, auth...)
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			ch := r.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, "Bearer ") {
				t.Fatalf("%s %s %s: WWW-Authenticate %q", name, rq.method, rq.path, ch)
			}
			if sent := len(auth) > 0 && auth[0] != ""; sent != strings.Contains(ch, `error="invalid_token"`) {
				t.Fatalf("%s: WWW-Authenticate %q", name, ch)
			}
			if len(f.calls) != 0 {
				t.Fatalf("%s %s %s: the registry was called: %v", name, rq.method, rq.path, f.calls)
			}
			if first == "" {
				first = r.body
			} else if r.body != first {
				t.Fatalf("401 bodies differ: %q and %q", first, r.body)
			}
		}
	}
}

func TestAPIListRooms(t *testing.T) {
	f := &fakeRooms{rooms: []RoomInfo{
		{ID: roomB, Members: 3, Listeners: 1},
		{ID: roomA, Members: 50, Listeners: 0},
	}}
	r := call(t, f, "GET", "/api/v1/rooms", "")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got struct {
		Rooms []struct {
			Room      string `json:"room"`
			Members   int    `json:"members"`
			Listeners int    `json:"listeners"`
		} `json:"rooms"`
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	// Sorted by room id text: roomA's "AQID..." before roomB's "EA8O...".
	want := `{"rooms":[{"room":"` + roomAText + `","members":50,"listeners":0},{"room":"` + FormatRoomID(roomB) + `","members":3,"listeners":1}]}` + "\n"
	if r.body != want {
		t.Fatalf("body %s, want %s", r.body, want)
	}

	// No rooms: an empty list, not null.
	r = call(t, &fakeRooms{}, "GET", "/api/v1/rooms", "")
	if r.status != 200 || r.body != `{"rooms":[]}`+"\n" {
		t.Fatalf("no rooms: %d %q", r.status, r.body)
	}
	// HEAD is GET without the body.
	r = call(t, f, "HEAD", "/api/v1/rooms", "")
	if r.status != 200 || r.body != "" {
		t.Fatalf("HEAD: %d %q", r.status, r.body)
	}
}

func TestAPIRemoveUser(t *testing.T) {
	f := &fakeRooms{n: 2}
	r := call(t, f, "DELETE", userPath, "")
	if r.status != 200 || r.body != `{"removed":2}`+"\n" {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	if f.gotID != roomA || f.gotUser != "user_42" || !reflect.DeepEqual(f.calls, []string{"RemoveUser"}) {
		t.Fatalf("registry got %x %q %v", f.gotID, f.gotUser, f.calls)
	}
	// Nobody connected with that id right now: still banned, 0 removed.
	r = call(t, &fakeRooms{n: 0}, "DELETE", userPath, "")
	if r.status != 200 || r.body != `{"removed":0}`+"\n" {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	// A longest user id, and every character allowed.
	long := strings.Repeat("Az09_-", 10) + "abcd"
	f = &fakeRooms{n: 1}
	if r := call(t, f, "DELETE", "/api/v1/rooms/"+roomAText+"/users/"+long, ""); r.status != 200 || f.gotUser != long {
		t.Fatalf("64-char user: %d %q", r.status, f.gotUser)
	}
	wantError(t, call(t, &fakeRooms{err: room.ErrNoSuchRoom}, "DELETE", userPath, ""), 404, "no_such_room")
	wantError(t, call(t, &fakeRooms{err: ErrNoSuchUser}, "DELETE", userPath, ""), 404, "no_such_user")
	r = call(t, &fakeRooms{err: errors.New("registry broke: user_42 in " + roomAText)}, "DELETE", userPath, "")
	wantError(t, r, 500, "internal")
	if strings.Contains(r.body, "broke") {
		t.Fatal("an internal error's text was shown")
	}
}

func TestAPISetRole(t *testing.T) {
	for _, tc := range []struct {
		body string
		role room.Role
	}{
		{`{"role":"listen"}`, room.RoleListen},
		{`{"role":"talk"}`, room.RoleTalk},
		{" \n{ \"role\" : \"listen\" }\n", room.RoleListen},
	} {
		f := &fakeRooms{n: 1}
		r := call(t, f, "PUT", rolePath, tc.body)
		want := `{"changed":1,"role":"` + tc.role.String() + `"}` + "\n"
		if r.status != 200 || r.body != want {
			t.Fatalf("%s: got %d %q", tc.body, r.status, r.body)
		}
		if f.gotID != roomA || f.gotUser != "user_42" || f.gotRole != tc.role {
			t.Fatalf("registry got %x %q %v", f.gotID, f.gotUser, f.gotRole)
		}
	}
	ok := `{"role":"listen"}`
	wantError(t, call(t, &fakeRooms{err: room.ErrNoSuchRoom}, "PUT", rolePath, ok), 404, "no_such_room")
	wantError(t, call(t, &fakeRooms{err: ErrNoSuchUser}, "PUT", rolePath, ok), 404, "no_such_user")
	wantError(t, call(t, &fakeRooms{err: fmt.Errorf("wrapped: %w", room.ErrNoSuchMember)}, "PUT", rolePath, ok), 404, "no_such_user")
	wantError(t, call(t, &fakeRooms{err: fmt.Errorf("wrapped: %w", room.ErrNoSuchRoom)}, "PUT", rolePath, ok), 404, "no_such_room")
	wantError(t, call(t, &fakeRooms{err: errors.New("x")}, "PUT", rolePath, ok), 500, "internal")
}

func TestAPIBadRequests(t *testing.T) {
	base := "/api/v1/rooms/"
	for name, tc := range map[string]struct {
		method, path, body string
		status             int
		code               string
	}{
		"room short":          {"DELETE", base + roomAText[:21] + "/users/u", "", 400, "bad_room"},
		"room long":           {"DELETE", base + roomAText + "A/users/u", "", 400, "bad_room"},
		"room bad char":       {"DELETE", base + "*" + roomAText[1:] + "/users/u", "", 400, "bad_room"},
		"room padded":         {"DELETE", base + roomAText + "==/users/u", "", 400, "bad_room"},
		"room non-canonical":  {"DELETE", base + roomAText[:21] + "B/users/u", "", 400, "bad_room"},
		"room escaped slash":  {"DELETE", base + roomAText[:11] + "%2F" + roomAText[12:] + "/users/u", "", 400, "bad_room"},
		"role path bad room":  {"PUT", base + "nope/users/u/role", `{"role":"talk"}`, 400, "bad_room"},
		"user too long":       {"DELETE", base + roomAText + "/users/" + strings.Repeat("u", MaxUserBytes+1), "", 400, "bad_user"},
		"user dot":            {"DELETE", base + roomAText + "/users/user.42", "", 400, "bad_user"},
		"user escaped slash":  {"DELETE", base + roomAText + "/users/a%2Fb", "", 400, "bad_user"},
		"user escaped space":  {"DELETE", base + roomAText + "/users/a%20b", "", 400, "bad_user"},
		"user unicode":        {"DELETE", base + roomAText + "/users/%C3%A9", "", 400, "bad_user"},
		"role path bad user":  {"PUT", base + roomAText + "/users/a+b/role", `{"role":"talk"}`, 400, "bad_user"},
		"body empty":          {"PUT", rolePath, "", 400, "bad_body"},
		"body not JSON":       {"PUT", rolePath, "listen", 400, "bad_body"},
		"body array":          {"PUT", rolePath, `["listen"]`, 400, "bad_body"},
		"body string":         {"PUT", rolePath, `"listen"`, 400, "bad_body"},
		"body empty object":   {"PUT", rolePath, `{}`, 400, "bad_body"},
		"body null role":      {"PUT", rolePath, `{"role":null}`, 400, "bad_body"},
		"body number role":    {"PUT", rolePath, `{"role":1}`, 400, "bad_body"},
		"body object role":    {"PUT", rolePath, `{"role":{"name":"talk"}}`, 400, "bad_body"},
		"body key case":       {"PUT", rolePath, `{"Role":"talk"}`, 400, "bad_body"},
		"body unknown key":    {"PUT", rolePath, `{"role":"talk","user":"x"}`, 400, "bad_body"},
		"body unknown first":  {"PUT", rolePath, `{"x":1,"role":"talk"}`, 400, "bad_body"},
		"body repeated key":   {"PUT", rolePath, `{"role":"talk","role":"listen"}`, 400, "bad_body"},
		"body trailing data":  {"PUT", rolePath, `{"role":"talk"}{}`, 400, "bad_body"},
		"body trailing junk":  {"PUT", rolePath, `{"role":"talk"}x`, 400, "bad_body"},
		"body unclosed":       {"PUT", rolePath, `{"role":"talk"`, 400, "bad_body"},
		"role unknown":        {"PUT", rolePath, `{"role":"speak"}`, 400, "bad_role"},
		"role case":           {"PUT", rolePath, `{"role":"Listen"}`, 400, "bad_role"},
		"role empty":          {"PUT", rolePath, `{"role":""}`, 400, "bad_role"},
		"role priority":       {"PUT", rolePath, `{"role":"priority"}`, 400, "bad_role"}, // only a token grants it
		"body too large":      {"PUT", rolePath, `{"role":"talk"` + strings.Repeat(" ", maxBodyBytes) + `}`, 413, "body_too_large"},
		"unknown path":        {"GET", "/api/v1/nothing", "", 404, "not_found"},
		"unknown version":     {"GET", "/api/v2/rooms", "", 404, "not_found"},
		"api root":            {"GET", "/api/", "", 404, "not_found"},
		"trailing slash":      {"GET", "/api/v1/rooms/", "", 404, "not_found"},
		"one room":            {"GET", base + roomAText, "", 404, "not_found"},
		"users without user":  {"DELETE", base + roomAText + "/users", "", 404, "not_found"},
		"role extra segment":  {"PUT", rolePath + "/x", `{"role":"talk"}`, 404, "not_found"},
		"rooms POST":          {"POST", "/api/v1/rooms", "", 405, "method_not_allowed"},
		"rooms DELETE":        {"DELETE", "/api/v1/rooms", "", 405, "method_not_allowed"},
		"user GET":            {"GET", userPath, "", 405, "method_not_allowed"},
		"user PUT":            {"PUT", userPath, "", 405, "method_not_allowed"},
		"role GET":            {"GET", rolePath, "", 405, "method_not_allowed"},
		"role POST":           {"POST", rolePath, `{"role":"talk"}`, 405, "method_not_allowed"},
		"role DELETE":         {"DELETE", rolePath, "", 405, "method_not_allowed"},
		"method before room":  {"GET", base + "bad/users/bad.user", "", 405, "method_not_allowed"},
		"role PATCH bad body": {"PATCH", rolePath, "x", 405, "method_not_allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeRooms{n: 1}
			r := call(t, f, tc.method, tc.path, tc.body)
			wantError(t, r, tc.status, tc.code)
			if len(f.calls) != 0 {
				t.Fatalf("the registry was called: %v", f.calls)
			}
			if tc.status == 405 {
				allow := map[string]string{"/api/v1/rooms": "GET, HEAD", userPath: "DELETE", rolePath: "PUT"}[tc.path]
				if allow == "" {
					allow = "DELETE"
				}
				if got := r.header.Get("Allow"); got != allow {
					t.Fatalf("Allow %q, want %q", got, allow)
				}
			}
		})
	}
}

// TestAPINamesNobody: no answer holds a user id, not even the request's, nor
// anything of the room but its id in the listing.
func TestAPINamesNobody(t *testing.T) {
	f := &fakeRooms{n: 1, rooms: []RoomInfo{{ID: roomA, Members: 1}}}
	for _, rq := range []struct{ method, path, body string }{
		{"DELETE", userPath, ""},
		{"PUT", rolePath, `{"role":"listen"}`},
		{"PUT", rolePath, `{"role":"bad"}`},
		{"GET", userPath, ""},
	} {
		if r := call(t, f, rq.method, rq.path, rq.body); strings.Contains(r.body, "user_42") {
			t.Fatalf("%s %s answered with the user id: %s", rq.method, rq.path, r.body)
		}
	}
	if r := call(t, f, "DELETE", userPath, ""); strings.Contains(r.body, roomAText) {
		t.Fatalf("answered with the room id: %s", r.body)
	}
}

func TestNewAPIPanicsOnWeakSecret(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewAPI([]byte("short"), &fakeRooms{})
}
