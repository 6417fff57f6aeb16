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
