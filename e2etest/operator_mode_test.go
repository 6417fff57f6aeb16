package e2etest

// Operator mode end to end (issue #8): the real server with SOTTO_SECRET,
// Go clients with signed tokens, and the operator API over HTTP.

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
	"sotto/operator"
	"sotto/room"
)

const testOperatorSecret = "0123456789abcdef0123456789abcdef-test-secret"

type operatorServer struct {
	*mediaServer
	api string // http://host:port/api/v1
}

func startOperatorServer(t *testing.T) *operatorServer {
	t.Helper()
	srv := startServerEnv(t, map[string]string{"SOTTO_SECRET": testOperatorSecret})
	return &operatorServer{srv, "http" + strings.TrimSuffix(strings.TrimPrefix(srv.ws, "ws"), "/ws") + "/api/v1"}
}

// token signs a token for the room of secret.
func token(t *testing.T, secret []byte, user string, role room.Role) string {
	t.Helper()
	keys, err := e2ee.DeriveRoomKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := operator.Sign([]byte(testOperatorSecret), operator.Claims{
		Room: room.ID(keys.RoomID), User: user, Role: role, Expiry: time.Now().Add(5 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func withToken(tok string) func(*client.Config) { return func(c *client.Config) { c.Token = tok } }

// call makes an API request and decodes the JSON answer into out (if not nil).
func (s *operatorServer) call(t *testing.T, method, path, bearer, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func TestOperatorModeEndToEnd(t *testing.T) {
	srv := startOperatorServer(t)
	secret := e2ee.NewSecret()
	keys, _ := e2ee.DeriveRoomKeys(secret)
	roomID := operator.FormatRoomID(room.ID(keys.RoomID))

	// No token, a forged one, another room's: refused, and no room is made.
	for _, tc := range []struct {
		tok  string
		code string
	}{
		{"", "token_missing"},
		{token(t, secret, "ann", room.RoleTalk)[:60] + "x", "token_invalid"},
		{token(t, e2ee.NewSecret(), "ann", room.RoleTalk), "token_invalid"},
	} {
		_, err := srv.connect(secret, "ann", withToken(tc.tok))
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Code != tc.code {
			t.Fatalf("token %.20q: %v, want %s", tc.tok, err, tc.code)
		}
	}
	if got := srv.gauge(t, "sotto_rooms"); got != "0" {
		t.Fatalf("refused tokens made %s rooms", got)
	}

	// One token: the join finds no room, the create uses the same token.
	annTok := token(t, secret, "ann", room.RoleTalk)
	ann := srv.member(t, secret, "ann", withToken(annTok))
	// Used once: the same token again is a replay.
	if _, err := srv.connect(secret, "ann again", withToken(annTok)); !errors.Is(err, &client.Error{Code: "token_replayed"}) {
		t.Fatalf("replayed token: %v", err)
	}
	bob := srv.member(t, secret, "bob", withToken(token(t, secret, "bob", room.RoleTalk)))
	lis := srv.member(t, secret, "lis", withToken(token(t, secret, "lis", room.RoleListen)))
	knowEachOther(t, ann, bob, lis)

	// The API: 401 without the secret, the room with its counts with it.
	if code := srv.call(t, "GET", "/rooms", "", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("no bearer: %d", code)
	}
	if code := srv.call(t, "GET", "/rooms", "wrong-"+testOperatorSecret, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong bearer: %d", code)
	}
	var list struct {
		Rooms []struct {
			Room      string `json:"room"`
			Members   int    `json:"members"`
			Listeners int    `json:"listeners"`
		} `json:"rooms"`
	}
	if code := srv.call(t, "GET", "/rooms", testOperatorSecret, "", &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	if len(list.Rooms) != 1 || list.Rooms[0].Room != roomID || list.Rooms[0].Members != 3 || list.Rooms[0].Listeners != 1 {
		t.Fatalf("list: %+v", list)
	}

	// A listen token: never the floor, never heard.
	if err := request(t, lis); !errors.Is(err, client.ErrListenOnly) {
		t.Fatalf("listen token took the floor: %v", err)
	}
	lis.ForceSend(true)
	testutil.WaitFor(t, 10*time.Second, "the listener to send 50 frames", func() bool { return lis.Sent() >= 50 })
	takeFloor(t, ann)
	heard(t, ann, 25, bob, lis)
	release(t, ann)
	lis.ForceSend(false)
	for _, c := range []*client.Client{ann, bob} {
		if s := c.From(lis.SID()); s.Packets != 0 {
			t.Fatalf("the listen-only member was heard: %d packets", s.Packets)
		}
	}

	// The operator makes bob listen-only while he talks: he loses the floor
	// and is no longer forwarded.
	takeFloor(t, bob)
	heard(t, bob, 25, ann)
	if code := srv.call(t, "PUT", "/rooms/"+roomID+"/users/bob/role", testOperatorSecret, `{"role":"listen"}`, nil); code != http.StatusOK {
		t.Fatalf("set role: %d", code)
	}
	testutil.WaitFor(t, 5*time.Second, "bob to lose the floor", func() bool { return ann.FloorHolder() == "" })
	// What bob sent while he held the floor may still be on its way to ann.
	before := testutil.Settled(t, 5*time.Second, 300*time.Millisecond, "bob's packets at ann", func() int { return int(ann.From(bob.SID()).Packets) })
	bob.ForceSend(true)
	testutil.WaitFor(t, 10*time.Second, "bob to send 50 more frames", func() bool { return bob.Sent() >= 100 })
	bob.ForceSend(false)
	if after := int(ann.From(bob.SID()).Packets); after > before {
		t.Fatalf("bob, made listen-only, still reached ann: %d packets after, %d before", after, before)
	}
	if err := request(t, bob); !errors.Is(err, client.ErrListenOnly) {
		t.Fatalf("bob asked for the floor after the change: %v", err)
	}

	// The operator removes bob: disconnected at once, and refused with any
	// fresh token until the room empties.
	var removed struct {
		Removed int `json:"removed"`
	}
	if code := srv.call(t, "DELETE", "/rooms/"+roomID+"/users/bob", testOperatorSecret, "", &removed); code != http.StatusOK || removed.Removed != 1 {
		t.Fatalf("remove: %d %+v", code, removed)
	}
	select {
	case <-bob.Disconnected():
	case <-time.After(5 * time.Second):
		t.Fatal("the removed member is still connected")
	}
	testutil.WaitFor(t, 5*time.Second, "ann to see bob go", func() bool { return len(ann.Members()) == 1 })
	if _, err := srv.connect(secret, "bob", withToken(token(t, secret, "bob", room.RoleTalk))); !errors.Is(err, client.ErrRemoved) {
		t.Fatalf("removed user rejoining: %v", err)
	}
	if code := srv.call(t, "DELETE", "/rooms/"+roomID+"/users/bob", "", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("remove without bearer: %d", code)
	}

	// Everyone leaves: the room and its ban are gone; bob may make it anew.
	ann.Close()
	lis.Close()
	testutil.WaitFor(t, 5*time.Second, "the room to go", func() bool { return srv.gauge(t, "sotto_rooms") == "0" })
	bob2 := srv.member(t, secret, "bob", withToken(token(t, secret, "bob", room.RoleTalk)))
	bob2.Close()
}
