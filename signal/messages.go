package signal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"sotto/internal/b64url"
	"sotto/room"
)

// The wire format is specified in docs/protocol.md; keep the two in step.

// Message types, client to server.
const (
	typeCreate       = "create"
	typeJoin         = "join"
	typeLeave        = "leave"
	typeFloorRequest = "floor_request"
	typeFloorRelease = "floor_release"
	typeBlob         = "blob" // also server to client
	typeBlobs        = "blobs"
	typePing         = "ping"
	typeOffer        = "offer"
	typeIce          = "ice"        // also server to client
	typeKnock        = "knock"      // also server to client
	typeKnockData    = "knock_data" // also server to client
	typeKnockDone    = "knock_done" // also server to client
	typeResume       = "resume"
)

// Message types, server to client.
const (
	typeJoined        = "joined"
	typeLeft          = "left"
	typeFloorGranted  = "floor_granted"
	typeFloorBusy     = "floor_busy"
	typeFloorReleased = "floor_released"
	typeMemberJoined  = "member_joined"
	typeMemberLeft    = "member_left"
	typePong          = "pong"
	typeAnswer        = "answer"
	typeError         = "error"
	typeRemoved       = "removed"
	typeMemberRole    = "member_role"
	typeKnocking      = "knocking"
	typeKnockFailed   = "knock_failed"
	typeNameplate     = "nameplate"
	typeMemberBack    = "member_back"
)

// Error codes. They are stable: clients switch on them, so a code is never
// renamed or reused for another meaning.
const (
	codeBadMessage       = "bad_message"
	codeUnknownType      = "unknown_type"
	codeRateLimited      = "rate_limited"
	codeRoomExists       = "room_exists"
	codeNoSuchRoom       = "no_such_room"
	codeBadAuth          = "bad_auth"
	codeRoomFull         = "room_full"
	codeServerFull       = "server_full"
	codeNotInRoom        = "not_in_room"
	codeAlreadyInRoom    = "already_in_room"
	codeListenOnly       = "listen_only"
	codeNotHolder        = "not_holder"
	codeNoSuchMember     = "no_such_member"
	codeBlobTooLarge     = "blob_too_large"
	codeTooManyBlobs     = "too_many_blobs"
	codeTryLater         = "try_later"
	codeMediaUnavailable = "media_unavailable"
	codeInternal         = "internal"
	codeTokenMissing     = "token_missing"
	codeTokenInvalid     = "token_invalid"
	codeTokenExpired     = "token_expired"
	codeTokenReplayed    = "token_replayed"
	codeRoleNotAllowed   = "role_not_allowed"
	codeRemoved          = "removed"
	codeKnockPending     = "knock_pending"
	codeNoSuchKnock      = "no_such_knock"
	codeBadResume        = "bad_resume"
	// codeTooManyRooms: the client's address is in its maximum of rooms
	// (room.Config.MaxRoomsPerOwner). Not fatal, unlike server_full: it
	// clears when one of them is left, or a dropped member's resume grace
	// ends.
	codeTooManyRooms = "too_many_rooms"
	// codeRouteMismatch: a create, join or resume for a room other than the
	// one the connection's URL named (/ws?r=), or a knock at another
	// nameplate than its /ws?np= (route.go). Refused before anything is
	// looked up: it tells nothing, and costs no guess.
	codeRouteMismatch = "route_mismatch"
)

// errorCodes is the fixed set of codes, for metrics labels.
var errorCodes = []string{
	codeBadMessage, codeUnknownType, codeRateLimited, codeRoomExists, codeNoSuchRoom,
	codeBadAuth, codeRoomFull, codeServerFull, codeNotInRoom, codeAlreadyInRoom,
	codeListenOnly, codeNotHolder, codeNoSuchMember, codeBlobTooLarge, codeTooManyBlobs, codeTryLater,
	codeMediaUnavailable, codeInternal, codeTokenMissing, codeTokenInvalid, codeTokenExpired,
	codeTokenReplayed, codeRoleNotAllowed, codeRemoved, codeKnockPending, codeNoSuchKnock,
	codeBadResume, codeTooManyRooms, codeRouteMismatch,
}

// protoError is a failure the client is told about in an error message. msg
// is written by the server and never contains anything the client sent.
type protoError struct{ code, msg string }

func (e *protoError) Error() string { return e.code + ": " + e.msg }

func badMessage(msg string) *protoError { return &protoError{codeBadMessage, msg} }

// field numbers every key a client message may carry.
type field uint8

const (
	fType field = iota
	fID
	fRoom
	fVerifier
	fAuth
	fRole
	fTo
	fData
	fSDP
	fCandidate
	fToken
	fNameplate
	fKnock
	fResume
	fItems
	numFields
)

var fieldNames = [numFields]string{"type", "id", "room", "verifier", "auth", "role", "to", "data", "sdp", "candidate", "token", "nameplate", "knock", "resume", "items"}

func fieldOf(key string) (field, bool) {
	for f, name := range fieldNames {
		if key == name {
			return field(f), true
		}
	}
	return 0, false
}

// fieldSet is a set of fields, one bit each.
type fieldSet uint16

func fields(fs ...field) fieldSet {
	var s fieldSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

func (s fieldSet) has(f field) bool { return s&(1<<f) != 0 }

// msgSpec is what one client message type may and must carry.
type msgSpec struct{ allowed, required fieldSet }

// specs lists every client message type. type and id are allowed in all.
var specs = map[string]msgSpec{
	typeCreate:       {fields(fRoom, fVerifier, fRole, fToken), fields(fRoom, fVerifier)},
	typeJoin:         {fields(fRoom, fAuth, fRole, fToken), fields(fRoom, fAuth)},
	typeLeave:        {},
	typeFloorRequest: {},
	typeFloorRelease: {},
	typeBlob:         {fields(fTo, fData), fields(fData)},
	typeBlobs:        {fields(fItems), fields(fItems)},
	typePing:         {},
	typeOffer:        {fields(fSDP), fields(fSDP)},
	typeIce:          {fields(fCandidate), fields(fCandidate)},
	typeKnock:        {fields(fNameplate, fData), fields(fNameplate, fData)},
	typeKnockData:    {fields(fKnock, fData), fields(fKnock, fData)},
	typeKnockDone:    {fields(fKnock), fields(fKnock)},
	typeResume:       {fields(fRoom, fResume), fields(fRoom, fResume)},
}

// clientTypes is the fixed set of client message types, for metrics labels.
var clientTypes = []string{
	typeCreate, typeJoin, typeLeave, typeFloorRequest, typeFloorRelease,
	typeBlob, typeBlobs, typePing, typeOffer, typeIce, typeKnock, typeKnockData, typeKnockDone,
	typeResume,
}

// inMsg is one decoded client message. Only the fields its type allows are
// set; has records which were present.
type inMsg struct {
	Type      string
	ID        uint32 // 0: the client asked for no id
	Room      room.ID
	Verifier  room.Verifier
	Auth      [32]byte
	Role      room.Role // RoleTalk when absent
	To        uuid.UUID
	Data      string // base64url as received: relayed, never decoded
	SDP       string
	Candidate json.RawMessage // a JSON object, compacted
	Token     string          // operator token: printable ASCII, checked by Config.Admit
	Nameplate string          // knock: digits
	Knock     string          // knock_data, knock_done: the exchange's id (base64url, 16 bytes)
	Resume    [room.ResumeTokenSize]byte
	Items     []blobItem // blobs

	has fieldSet
}

// b64 is the only binary encoding on the wire: RFC 4648 base64url without
// padding, with zero trailing bits so every value has one spelling.
var b64 = b64url.Encoding

// decodeMessage parses one client message strictly: one JSON object, each key
// spelled exactly and at most once, only the keys its type allows, each value
// of the right JSON type and length, nothing after it. On failure the
// message still carries the id, when it could be read, for the error.
func decodeMessage(data []byte, m *inMsg) *protoError {
	*m = inMsg{}
	if !utf8.Valid(data) {
		return badMessage("message is not valid UTF-8")
	}
	// Walk the top-level object by tokens rather than unmarshal into a
	// struct: encoding/json matches keys case-insensitively and lets a
	// repeated key silently win, and a strict protocol wants neither.
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badMessage("message must be one JSON object")
	}
	var raw [numFields]json.RawMessage
	unknown, dup := false, fieldSet(0)
	for keys := 0; dec.More(); keys++ {
		// No message has more keys than there are fields; stopping here
		// keeps a 64 KiB object of tiny keys from costing milliseconds.
		if keys == int(numFields) {
			return badMessage("too many fields")
		}
		tok, err := dec.Token()
		if err != nil {
			return badMessage("malformed JSON")
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return badMessage("malformed JSON")
		}
		f, ok := fieldOf(key)
		if !ok {
			unknown = true
			continue
		}
		if raw[f] != nil {
			dup |= fields(f)
			continue
		}
		raw[f] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return badMessage("malformed JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badMessage("data after the JSON object")
	}

	// The id first, so that every later error can echo it.
	if r := raw[fID]; r != nil {
		if err := json.Unmarshal(r, &m.ID); err != nil || r[0] < '0' || r[0] > '9' {
			return badMessage(`field "id" must be an integer from 0 to 4294967295`)
		}
		m.has |= fields(fID)
	}
	for f := field(0); f < numFields; f++ {
		if dup.has(f) {
			return badMessage(fmt.Sprintf("field %q appears twice", fieldNames[f]))
		}
	}
	if raw[fType] == nil {
		return badMessage(`missing field "type"`)
	}
	t, ok := jsonString(raw[fType])
	if !ok {
		return badMessage(`field "type" must be a string`)
	}
	spec, ok := specs[t]
	if !ok {
		return &protoError{codeUnknownType, "unknown message type"}
	}
	m.Type = typeName(t)
	m.has |= fields(fType)
	if unknown {
		return badMessage(fmt.Sprintf("unknown field in %q message", m.Type))
	}
	allowed := spec.allowed | fields(fType, fID)
	for f := field(0); f < numFields; f++ {
		if raw[f] != nil && !allowed.has(f) {
			return badMessage(fmt.Sprintf("field %q is not allowed in %q message", fieldNames[f], m.Type))
		}
		if raw[f] == nil && spec.required.has(f) {
			return badMessage(fmt.Sprintf("missing field %q", fieldNames[f]))
		}
	}

	m.Role = room.RoleTalk
	for f := fRoom; f < numFields; f++ {
		if raw[f] == nil {
			continue
		}
		if err := m.set(f, raw[f]); err != nil {
			return err
		}
		m.has |= fields(f)
	}
	return nil
}

// set parses the value of one field other than type and id.
func (m *inMsg) set(f field, r json.RawMessage) *protoError {
	name := fieldNames[f]
	if f == fCandidate {
		if r[0] != '{' {
			return badMessage(`field "candidate" must be a JSON object`)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, r); err != nil {
			return badMessage("malformed JSON") // unreachable: the decoder checked it
		}
		if b.Len() > MaxCandidateBytes {
			return badMessage(fmt.Sprintf(`field "candidate" is longer than %d bytes`, MaxCandidateBytes))
		}
		m.Candidate = b.Bytes()
		return nil
	}
	if f == fItems {
		items, err := decodeBlobItems(r)
		if err != nil {
			return err
		}
		m.Items = items
		return nil
	}
	s, ok := jsonString(r)
	if !ok {
		return badMessage(fmt.Sprintf("field %q must be a string", name))
	}
	switch f {
	case fRoom:
		if !b64url.DecodeFixed(m.Room[:], s) {
			return badMessage(`field "room" must be 16 bytes in unpadded base64url`)
		}
	case fVerifier:
		if !b64url.DecodeFixed(m.Verifier[:], s) {
			return badMessage(`field "verifier" must be 32 bytes in unpadded base64url`)
		}
	case fAuth:
		if !b64url.DecodeFixed(m.Auth[:], s) {
			return badMessage(`field "auth" must be 32 bytes in unpadded base64url`)
		}
	case fRole:
		role, ok := room.ParseRole(s)
		if !ok {
			return badMessage(`field "role" must be "talk", "listen" or "priority"`)
		}
		m.Role = role
	case fTo:
		id, err := uuid.Parse(s)
		if err != nil || id.String() != s {
			return badMessage(`field "to" must be a member id`)
		}
		m.To = id
	case fData:
		if m.Type != typeBlob {
			if s == "" || len(s) > MaxKnockDataChars || !b64url.Valid(s) {
				return badMessage(fmt.Sprintf(`field "data" must be 1 to %d characters of unpadded base64url`, MaxKnockDataChars))
			}
			m.Data = s
			break
		}
		if len(s) > MaxBlobChars {
			return &protoError{codeBlobTooLarge, fmt.Sprintf("blob data is longer than %d characters", MaxBlobChars)}
		}
		if s == "" || !b64url.Valid(s) {
			return badMessage(`field "data" must be non-empty unpadded base64url`)
		}
		m.Data = s
	case fNameplate:
		if !validNameplate(s) {
			return badMessage(fmt.Sprintf(`field "nameplate" must be %d to %d digits`, room.MinNameplateDigits, room.MaxNameplateDigits))
		}
		m.Nameplate = s
	case fResume:
		if !b64url.DecodeFixed(m.Resume[:], s) {
			return badMessage(`field "resume" must be 32 bytes in unpadded base64url`)
		}
	case fKnock:
		var id [16]byte
		if !b64url.DecodeFixed(id[:], s) {
			return badMessage(`field "knock" must be 16 bytes in unpadded base64url`)
		}
		m.Knock = s
	case fToken:
		if s == "" || len(s) > MaxTokenBytes || !printableASCII(s) {
			return badMessage(fmt.Sprintf(`field "token" must be 1 to %d printable ASCII characters`, MaxTokenBytes))
		}
		m.Token = s
	case fSDP:
		if len(s) > MaxSDPBytes {
			return badMessage(fmt.Sprintf(`field "sdp" is longer than %d bytes`, MaxSDPBytes))
		}
		if s == "" {
			return badMessage(`field "sdp" must not be empty`)
		}
		m.SDP = s
	}
	return nil
}

// jsonString decodes r if it is a JSON string. (json.Unmarshal alone would
// accept null as an empty string.)
func jsonString(r json.RawMessage) (string, bool) {
	if len(r) == 0 || r[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return "", false
	}
	return s, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// typeName returns the constant spelling of a known type, so a decoded
// message keeps no reference to the client's bytes.
func typeName(t string) string {
	for _, c := range clientTypes {
		if c == t {
			return c
		}
	}
	return ""
}

// Server-to-client messages. Every field is always present unless marked
// omitempty; the id is omitted when the request had none.

type wireMember struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

type wireFloor struct {
	Holder     string `json:"holder"`
	DeadlineMS int64  `json:"deadline_ms"`
}

type joinedMsg struct {
	Type        string       `json:"type"`
	ID          uint32       `json:"id,omitempty"`
	Room        string       `json:"room"`
	Self        string       `json:"self"`
	Nameplate   string       `json:"nameplate"`
	Members     []wireMember `json:"members"`
	Floor       *wireFloor   `json:"floor"`
	TalkLimitMS int64        `json:"talk_limit_ms"`
	Resume      string       `json:"resume"`
	// FloorHoldMS: the server holds a talker's packets this long ahead of
	// its grant, so the client may open the mic on press (the optimistic
	// floor); absent: it may not.
	FloorHoldMS int64 `json:"floor_hold_ms,omitempty"`
}

type replyMsg struct { // left, pong
	Type string `json:"type"`
	ID   uint32 `json:"id,omitempty"`
}

type errorMsg struct {
	Type    string `json:"type"`
	ID      uint32 `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type floorGrantedMsg struct {
	Type       string `json:"type"`
	ID         uint32 `json:"id,omitempty"`
	Member     string `json:"member"`
	DeadlineMS int64  `json:"deadline_ms"`
}

type floorBusyMsg struct {
	Type   string `json:"type"`
	ID     uint32 `json:"id,omitempty"`
	Holder string `json:"holder"`
}

type floorReleasedMsg struct {
	Type   string `json:"type"`
	ID     uint32 `json:"id,omitempty"`
	Member string `json:"member"`
	Reason string `json:"reason"`
	By     string `json:"by,omitempty"` // reason preempted: the priority member that took the floor
}

type memberJoinedMsg struct {
	Type   string     `json:"type"`
	Member wireMember `json:"member"`
}

type memberLeftMsg struct {
	Type   string `json:"type"`
	Member string `json:"member"`
}

type blobMsg struct {
	Type string `json:"type"`
	From string `json:"from"`
	Data string `json:"data"`
}

type answerMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id,omitempty"`
	SDP  string `json:"sdp"`
}

type removedMsg struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

type memberRoleMsg struct {
	Type   string     `json:"type"`
	Member wireMember `json:"member"`
}

type knockingMsg struct {
	Type  string `json:"type"`
	ID    uint32 `json:"id,omitempty"`
	Knock string `json:"knock"`
}

type knockMsg struct { // knock, knock_data
	Type  string `json:"type"`
	Knock string `json:"knock"`
	Data  string `json:"data"`
}

type knockDoneMsg struct {
	Type   string `json:"type"`
	Knock  string `json:"knock"`
	Result string `json:"result"`
}

type nameplateMsg struct {
	Type      string `json:"type"`
	Nameplate string `json:"nameplate"`
}

type iceMsg struct {
	Type      string          `json:"type"`
	Candidate json.RawMessage `json:"candidate"`
}

// encode marshals a server message. The types above cannot fail to marshal
// (json.RawMessage fields hold JSON validated before it was queued).
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("signal: encoding a server message: " + err.Error())
	}
	return b
}

func wireMemberOf(m room.Member) wireMember {
	return wireMember{ID: m.ID.String(), Role: m.Role.String()}
}

// remainingMS is how long, from now, until deadline: the wire carries
// durations rather than instants so that a phone's wrong clock does not
// matter.
func remainingMS(deadline, now time.Time) int64 {
	d := deadline.Sub(now)
	if d < 0 {
		return 0
	}
	return d.Round(time.Millisecond).Milliseconds()
}

func joinedReply(id uint32, rid room.ID, s room.Snapshot, now time.Time) joinedMsg {
	m := joinedMsg{
		Type:        typeJoined,
		ID:          id,
		Room:        b64.EncodeToString(rid[:]),
		Self:        s.Self.ID.String(),
		Nameplate:   s.Nameplate,
		Members:     make([]wireMember, len(s.Members)),
		TalkLimitMS: s.TalkLimit.Milliseconds(),
		Resume:      b64.EncodeToString(s.Resume),
	}
	for i, mem := range s.Members {
		m.Members[i] = wireMemberOf(mem)
	}
	if s.Floor.Holder != uuid.Nil {
		m.Floor = &wireFloor{Holder: s.Floor.Holder.String(), DeadlineMS: remainingMS(s.Floor.Deadline, now)}
	}
	return m
}

// encodeEvent turns a room event into the message one member receives. id is
// set only on the requester's own floor_granted or floor_released.
func encodeEvent(e room.Event, id uint32, now time.Time) []byte {
	switch e.Kind {
	case room.MemberJoined:
		return encode(memberJoinedMsg{Type: typeMemberJoined, Member: wireMemberOf(e.Member)})
	case room.MemberLeft:
		return encode(memberLeftMsg{Type: typeMemberLeft, Member: e.Member.ID.String()})
	case room.FloorGranted:
		return encode(floorGrantedMsg{Type: typeFloorGranted, ID: id, Member: e.Member.ID.String(), DeadlineMS: remainingMS(e.Deadline, now)})
	case room.FloorReleased:
		m := floorReleasedMsg{Type: typeFloorReleased, ID: id, Member: e.Member.ID.String(), Reason: e.Reason.String()}
		if e.Reason == room.ReasonPreempted {
			m.By = e.By.String()
		}
		return encode(m)
	case room.Message:
		// Data is the base64url text the sender sent, checked on the way in.
		return encode(blobMsg{Type: typeBlob, From: e.Member.ID.String(), Data: string(e.Data)})
	case room.Removed:
		return encode(removedMsg{Type: typeRemoved, Reason: "operator"})
	case room.RoleChanged:
		return encode(memberRoleMsg{Type: typeMemberRole, Member: wireMemberOf(e.Member)})
	case room.KnockFailed:
		return encode(replyMsg{Type: typeKnockFailed})
	case room.NameplateChanged:
		return encode(nameplateMsg{Type: typeNameplate, Nameplate: e.Nameplate})
	case room.Signal:
		return e.Data // encoded by the signaling layer when it was made
	case room.MemberBack:
		return encode(memberLeftMsg{Type: typeMemberBack, Member: e.Member.ID.String()})
	}
	return nil
}
