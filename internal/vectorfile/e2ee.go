package vectorfile

// E2EE is the JSON shape of e2ee/testdata/vectors.json: cmd/e2ee-vectors
// writes it and the Go tests in e2ee/ read it; e2ee/jstest/ reads the same
// field names from JavaScript. Integers are decimal strings, bytes hex.
type E2EE struct {
	Comment     string        `json:"comment"`
	RFCHeaders  []RFCHeader   `json:"rfc9605_headers"`
	RFCSFrame   RFCSFrame     `json:"rfc9605_sframe"`
	KeySchedule []KeySchedule `json:"key_schedule"`
	SenderKeys  []SenderKey   `json:"sender_keys"`
	KIDText     []KIDText     `json:"kid_text"`
	Frames      FrameSequence `json:"frames"`
	FrameCases  []FrameCase   `json:"frame_cases"`
	Blobs       []Blob        `json:"blobs"`
	BlobErrors  []BlobError   `json:"blob_errors"`
	Links       []Link        `json:"links"`
	LinkParses  []LinkParse   `json:"link_parses"`
	LinkErrors  []InputError  `json:"link_errors"` // an input starting with "http" is a full link, else a fragment

	// v2 media keys (docs/keys.md). Sids, epochs and times are decimal strings too.
	SIDText        []SIDText      `json:"sid_text"`
	SIDErrors      []InputError   `json:"sid_errors"`
	EpochKIDs      []EpochKID     `json:"epoch_kids"`
	EpochOrder     []EpochOrder   `json:"epoch_order"`
	X25519         []X25519       `json:"x25519"`
	X25519LowOrder []string       `json:"x25519_low_order"` // public keys every agreement must refuse: bad-public-key
	WrapKeys       []WrapKey      `json:"wrap_keys"`
	KeyBlobs       []KeyBlob      `json:"key_blobs"`
	KeyBlobErrors  []KeyBlobError `json:"key_blob_errors"`
	EpochFrames    EpochFrames    `json:"epoch_frames"`
	KeyRingCases   []KeyRingCase  `json:"key_ring_cases"`
}

type SIDText struct {
	SID  string `json:"sid"`
	Text string `json:"text"`
}

// EpochKID: EpochKID(sid, epoch) = kid, and SplitKID(kid) = (sid, epoch).
type EpochKID struct {
	SID   string `json:"sid"`
	Epoch string `json:"epoch"`
	KID   string `json:"kid"`
}

// EpochOrder: EpochNewer(b, a) = newer.
type EpochOrder struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Newer bool   `json:"b_newer"`
}

// X25519: both sides agree on Shared; Source names a published vector.
type X25519 struct {
	Source   string `json:"source,omitempty"`
	PrivateA string `json:"private_a"`
	PublicA  string `json:"public_a"`
	PrivateB string `json:"private_b"`
	PublicB  string `json:"public_b"`
	Shared   string `json:"shared"`
}

// WrapKey: HKDF-SHA256(ikm = Shared, salt = "sotto/v2", info = Info, 32).
type WrapKey struct {
	Shared  string `json:"shared"`
	RoomID  string `json:"room_id"`
	From    string `json:"from"`
	To      string `json:"to"`
	Epoch   string `json:"epoch"`
	Info    string `json:"info"`
	WrapKey string `json:"wrap_key"`
}

// KeyBlob: sealing SenderKey from the sender's pair to the receiver's, with
// Nonce, gives Blob; the receiver opens it back.
type KeyBlob struct {
	Name            string `json:"name"`
	RoomID          string `json:"room_id"`
	SenderPrivate   string `json:"sender_private"`
	SenderPublic    string `json:"sender_public"`
	ReceiverPrivate string `json:"receiver_private"`
	ReceiverPublic  string `json:"receiver_public"`
	From            string `json:"from"`
	To              string `json:"to"`
	Epoch           string `json:"epoch"`
	Nonce           string `json:"nonce"`
	SenderKey       string `json:"sender_key"`
	WrapKey         string `json:"wrap_key"`
	Blob            string `json:"blob"`
}

// KeyBlobError: opening Blob with the receiver's private key and the
// claimed sender's public key must fail with Error.
type KeyBlobError struct {
	Name            string `json:"name"`
	RoomID          string `json:"room_id"`
	ReceiverPrivate string `json:"receiver_private"`
	SenderPublic    string `json:"sender_public"`
	Blob            string `json:"blob"`
	Error           string `json:"error"`
}

// EpochFrames: a fresh v2 Sender for (SenderKey, KID = EpochKID(SID, Epoch))
// encrypting the plaintexts in order yields exactly these frames.
type EpochFrames struct {
	SenderKey string  `json:"sender_key"`
	SID       string  `json:"sid"`
	Epoch     string  `json:"epoch"`
	KID       string  `json:"kid"`
	BaseKey   string  `json:"base_key"`
	Key       string  `json:"sframe_key"`
	Salt      string  `json:"sframe_salt"`
	Frames    []Frame `json:"frames"`
}

// KeyRingCase: a fresh key ring (RoomID, Self, SelfPrivate) feeding a fresh
// v2 Receiver runs Steps in order. Each step's Error must match ("" for
// success), and after it the ring must hold exactly Held (sid -> epochs,
// oldest first; members without a key are absent).
type KeyRingCase struct {
	Name        string        `json:"name"`
	RoomID      string        `json:"room_id"`
	Self        string        `json:"self"`
	SelfPrivate string        `json:"self_private"`
	Steps       []KeyRingStep `json:"steps"`
}

// KeyRingStep ops:
//
//	"add-member"    SID, Public       AddMember
//	"remove-member" SID               RemoveMember
//	"accept"        Blob, NowMS       AcceptBlob; on success New, From, Epoch are what it returns
//	"expire"        NowMS             Expire
//	"decrypt"       Frame             the Receiver's Decrypt; on success Plaintext
type KeyRingStep struct {
	Op        string              `json:"op"`
	SID       string              `json:"sid,omitempty"`
	Public    string              `json:"public,omitempty"`
	Blob      string              `json:"blob,omitempty"`
	Frame     string              `json:"frame,omitempty"`
	NowMS     string              `json:"now_ms,omitempty"`
	Error     string              `json:"error"`
	New       bool                `json:"new,omitempty"`
	From      string              `json:"from,omitempty"`
	Epoch     string              `json:"epoch,omitempty"`
	Plaintext string              `json:"plaintext,omitempty"`
	Held      map[string][]string `json:"held"`
}

type RFCHeader struct {
	KID    string `json:"kid"`
	CTR    string `json:"ctr"`
	Header string `json:"header"`
}

type RFCSFrame struct {
	CipherSuite uint16 `json:"cipher_suite"`
	KID         string `json:"kid"`
	CTR         string `json:"ctr"`
	BaseKey     string `json:"base_key"`
	KeyLabel    string `json:"sframe_key_label"`
	SaltLabel   string `json:"sframe_salt_label"`
	Secret      string `json:"sframe_secret"`
	Key         string `json:"sframe_key"`
	Salt        string `json:"sframe_salt"`
	Metadata    string `json:"metadata"`
	Nonce       string `json:"nonce"`
	AAD         string `json:"aad"`
	PT          string `json:"pt"`
	CT          string `json:"ct"`
}

type KeySchedule struct {
	Secret     string `json:"secret"`
	RoomID     string `json:"room_id"`
	RoomAuth   string `json:"room_auth"`
	Verifier   string `json:"verifier"`
	Signal     string `json:"signal"`
	Media      string `json:"media"`
	SAS        string `json:"sas"`
	SafetyCode string `json:"safety_code"`
}

type SenderKey struct {
	Media   string `json:"media"`
	KID     string `json:"kid"`
	BaseKey string `json:"base_key"`
	Key     string `json:"key"`
	Salt    string `json:"salt"`
}

type KIDText struct {
	KID  string `json:"kid"`
	Text string `json:"text"`
}

// FrameSequence: a fresh Sender (Secret, KID) encrypting the plaintexts in
// order yields exactly these frames; a Receiver decrypts them back.
type FrameSequence struct {
	Secret string  `json:"secret"`
	KID    string  `json:"kid"`
	Frames []Frame `json:"frames"`
}

type Frame struct {
	Name      string `json:"name"`
	Plaintext string `json:"plaintext"`
	Frame     string `json:"frame"`
}

// FrameCase: a fresh Receiver for Secret with the KIDs in Register gets the
// frames of Steps in order; each must succeed (Error "") or fail with Error.
type FrameCase struct {
	Name     string      `json:"name"`
	Secret   string      `json:"secret"`
	Register []string    `json:"register"`
	Steps    []FrameStep `json:"steps"`
}

type FrameStep struct {
	Frame     string `json:"frame"`
	Error     string `json:"error"`
	Plaintext string `json:"plaintext,omitempty"`
}

type Blob struct {
	Key       string `json:"key"`
	Nonce     string `json:"nonce"`
	Plaintext string `json:"plaintext"`
	Blob      string `json:"blob"`
}

type BlobError struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	Blob  string `json:"blob"`
	Error string `json:"error"`
}

type Link struct {
	Base   string `json:"base"`
	Secret string `json:"secret"`
	Link   string `json:"link"`
}

// LinkParse: an input starting with "http" is a full link (ParseLink),
// anything else a fragment (ParseFragment).
type LinkParse struct {
	Input  string `json:"input"`
	Secret string `json:"secret"`
}
