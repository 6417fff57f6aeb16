package operator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"sotto/room"
)

// RoomInfo is what the API tells about a live room: counts, never who.
type RoomInfo struct {
	ID        room.ID
	Members   int // every member, listeners included
	Listeners int // members whose role is listen
}

// ErrNoSuchUser: the room is live but no member joined it with that user id.
// (A Rooms implementation may return room.ErrNoSuchMember instead: package
// room cannot import this one. The API answers both with no_such_user.)
var ErrNoSuchUser = errors.New("no member with this user id in the room")

// Rooms is what the API needs of the room registry. The methods must be safe
// for concurrent use. Errors other than room.ErrNoSuchRoom, ErrNoSuchUser and
// room.ErrNoSuchMember are answered with 500 and never shown.
type Rooms interface {
	// Rooms returns every live room.
	Rooms() []RoomInfo
	// RemoveUser disconnects, at once, every member of room id that joined
	// with this user id, and refuses the user id in that room (any token)
	// until the room is empty and so deleted. The ban holds even when no
	// member has the user id right now (n == 0): the participant may be
	// between a dropped connection and its reconnect. It returns
	// room.ErrNoSuchRoom if the room is not live.
	RemoveUser(id room.ID, user string) (n int, err error)
	// SetUserRole gives every member of room id that joined with this user
	// id the role r, releasing the floor if one of them holds it and r is
	// listen; n counts those members. It returns room.ErrNoSuchRoom, or
	// ErrNoSuchUser (or room.ErrNoSuchMember) if no member has the user id.
	SetUserRole(id room.ID, user string, r room.Role) (n int, err error)
}

// Stable error codes of the API, for scripts to switch on (docs/api.md).
const (
	codeUnauthorized     = "unauthorized"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeBadRoom          = "bad_room"
	codeBadUser          = "bad_user"
	codeBadRole          = "bad_role"
	codeBadBody          = "bad_body"
	codeBodyTooLarge     = "body_too_large"
	codeNoSuchRoom       = "no_such_room"
	codeNoSuchUser       = "no_such_user"
	codeInternal         = "internal"
)

type api struct {
	secret []byte
	rooms  Rooms
	mux    *http.ServeMux
}

// NewAPI returns the operator API: the endpoints under /api/v1/ of
// docs/api.md, each behind "Authorization: Bearer <secret>". Mount it at
// /api/. Every request is authenticated before anything else is looked at,
// its path included, so without the secret every request gets the same 401.
// It panics if CheckSecret refuses the secret (main checks it first).
//
// It logs nothing, and no answer holds a user id, not even the request's.
func NewAPI(secret []byte, rooms Rooms) http.Handler {
	if err := CheckSecret(secret); err != nil {
		panic("operator.NewAPI: " + err.Error())
	}
	a := &api{secret: append([]byte(nil), secret...), rooms: rooms, mux: http.NewServeMux()}
	const (
		roomsPath = "/api/v1/rooms"
		userPath  = "/api/v1/rooms/{room}/users/{user}"
		rolePath  = "/api/v1/rooms/{room}/users/{user}/role"
	)
	a.mux.HandleFunc("GET "+roomsPath, a.listRooms)
	a.mux.HandleFunc("DELETE "+userPath, a.removeUser)
	a.mux.HandleFunc("PUT "+rolePath, a.setRole)
	// The same paths without a method answer every other method (a method
	// pattern is more specific, so it wins where it matches): ServeMux's own
	// 405 would be plain text.
	a.mux.HandleFunc(roomsPath, methodNotAllowed("GET, HEAD"))
	a.mux.HandleFunc(userPath, methodNotAllowed("DELETE"))
	a.mux.HandleFunc(rolePath, methodNotAllowed("PUT"))
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such endpoint")
	})
	return a
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if !BearerOK(r, a.secret) {
		// RFC 6750 §3: error="invalid_token" only when a token was sent.
		challenge := `Bearer realm="sotto"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", challenge)
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "a valid Authorization: Bearer header is required")
		return
	}
	a.mux.ServeHTTP(w, r)
}

type roomJSON struct {
	Room      string `json:"room"`
	Members   int    `json:"members"`
	Listeners int    `json:"listeners"`
}

func (a *api) listRooms(w http.ResponseWriter, r *http.Request) {
	infos := a.rooms.Rooms()
	out := make([]roomJSON, 0, len(infos))
	for _, ri := range infos {
		out = append(out, roomJSON{Room: FormatRoomID(ri.ID), Members: ri.Members, Listeners: ri.Listeners})
	}
	// A stable order, and none that hints at when rooms were made.
	slices.SortFunc(out, func(x, y roomJSON) int { return strings.Compare(x.Room, y.Room) })
	writeJSON(w, http.StatusOK, struct {
		Rooms []roomJSON `json:"rooms"`
	}{out})
}

func (a *api) removeUser(w http.ResponseWriter, r *http.Request) {
	id, user, ok := roomAndUser(w, r)
	if !ok {
		return
	}
	n, err := a.rooms.RemoveUser(id, user)
	if err != nil {
		registryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Removed int `json:"removed"`
	}{n})
}

func (a *api) setRole(w http.ResponseWriter, r *http.Request) {
	id, user, ok := roomAndUser(w, r)
	if !ok {
		return
	}
	role, status, code, msg := readRole(w, r)
	if status != 0 {
		writeError(w, status, code, msg)
		return
	}
	n, err := a.rooms.SetUserRole(id, user, role)
	if err != nil {
		registryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Changed int    `json:"changed"`
		Role    string `json:"role"`
	}{n, role.String()})
}

// roomAndUser reads the path's room id and user id, answering 400 if either
// is not well formed.
func roomAndUser(w http.ResponseWriter, r *http.Request) (room.ID, string, bool) {
	id, ok := ParseRoomID(r.PathValue("room"))
	if !ok {
		writeError(w, http.StatusBadRequest, codeBadRoom, "the room id must be 16 bytes in base64url without padding (22 characters)")
		return room.ID{}, "", false
	}
	user := r.PathValue("user")
	if !validUser(user) {
		writeError(w, http.StatusBadRequest, codeBadUser, "the user id must be 1-64 characters of A-Z a-z 0-9 _ -")
		return room.ID{}, "", false
	}
	return id, user, true
}

// readRole reads the body {"role":"talk"|"listen"} strictly: one JSON object,
// the key "role" spelled exactly, once, nothing else in it or after it.
// (encoding/json alone would match "ROLE" and let a repeated key win.)
func readRole(w http.ResponseWriter, r *http.Request) (role room.Role, status int, code, msg string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return 0, http.StatusRequestEntityTooLarge, codeBodyTooLarge, "the body must be at most 1024 bytes"
		}
		return 0, http.StatusBadRequest, codeBadBody, "the body could not be read"
	}
	const want = `the body must be one JSON object {"role":"talk"} or {"role":"listen"}`
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, http.StatusBadRequest, codeBadBody, want
	}
	var roleName string
	seen := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil || key != "role" || seen {
			return 0, http.StatusBadRequest, codeBadBody, want
		}
		seen = true
		val, err := dec.Token()
		s, isString := val.(string)
		if err != nil || !isString {
			return 0, http.StatusBadRequest, codeBadBody, want
		}
		roleName = s
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') || !seen {
		return 0, http.StatusBadRequest, codeBadBody, want
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, http.StatusBadRequest, codeBadBody, want
	}
	// Priority comes only with a token, at join (docs/tokens.md): a role
	// change can take it away, never give it.
	role, ok := room.ParseRole(roleName)
	if !ok || role == room.RolePriority {
		return 0, http.StatusBadRequest, codeBadRole, `the role must be "talk" or "listen" (priority comes only with a token)`
	}
	return role, 0, "", ""
}

func registryError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, room.ErrNoSuchRoom):
		writeError(w, http.StatusNotFound, codeNoSuchRoom, "no live room has this id")
	case errors.Is(err, ErrNoSuchUser), errors.Is(err, room.ErrNoSuchMember):
		writeError(w, http.StatusNotFound, codeNoSuchUser, "no member of this room has this user id")
	default:
		writeError(w, http.StatusInternalServerError, codeInternal, "the server failed")
	}
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "this endpoint allows only "+allow)
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only plain structs of strings and ints are written
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal","message":"the server failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
