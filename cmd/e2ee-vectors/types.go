package main

// The JSON shape of vectors.json. The tests in e2ee/ and e2ee/jstest/ read
// the same field names.

type vectors struct {
	Comment     string           `json:"comment"`
	RFCHeaders  []headerVector   `json:"rfc9605_headers"`
	RFCSFrame   rfcSFrameVector  `json:"rfc9605_sframe"`
	KeySchedule []keyScheduleVec `json:"key_schedule"`
	SenderKeys  []senderKeyVec   `json:"sender_keys"`
	KIDText     []kidTextVec     `json:"kid_text"`
	Frames      frameSequence    `json:"frames"`
	FrameCases  []frameCase      `json:"frame_cases"`
	Blobs       []blobVec        `json:"blobs"`
	BlobErrors  []blobErrorVec   `json:"blob_errors"`
	Links       []linkVec        `json:"links"`
	LinkParses  []linkParseVec   `json:"link_parses"`
	LinkErrors  []linkErrorVec   `json:"link_errors"`
}

type headerVector struct {
	KID    string `json:"kid"`
	CTR    string `json:"ctr"`
	Header string `json:"header"`
}

type rfcSFrameVector struct {
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

type keyScheduleVec struct {
	Secret     string `json:"secret"`
	RoomID     string `json:"room_id"`
	RoomAuth   string `json:"room_auth"`
	Verifier   string `json:"verifier"`
	Signal     string `json:"signal"`
	Media      string `json:"media"`
	SAS        string `json:"sas"`
	SafetyCode string `json:"safety_code"`
}

type senderKeyVec struct {
	Media   string `json:"media"`
	KID     string `json:"kid"`
	BaseKey string `json:"base_key"`
	Key     string `json:"key"`
	Salt    string `json:"salt"`
}

type kidTextVec struct {
	KID  string `json:"kid"`
	Text string `json:"text"`
}

// frameSequence: a fresh Sender (Secret, KID) encrypting the plaintexts in
// order yields exactly these frames; a Receiver decrypts them back.
type frameSequence struct {
	Secret string     `json:"secret"`
	KID    string     `json:"kid"`
	Frames []frameVec `json:"frames"`
}

type frameVec struct {
	Name      string `json:"name"`
	Plaintext string `json:"plaintext"`
	Frame     string `json:"frame"`
}

// frameCase: a fresh Receiver for Secret with the KIDs in Register gets the
// frames of Steps in order; each must succeed (Error "") or fail with Error.
type frameCase struct {
	Name     string      `json:"name"`
	Secret   string      `json:"secret"`
	Register []string    `json:"register"`
	Steps    []frameStep `json:"steps"`
}

type frameStep struct {
	Frame     string `json:"frame"`
	Error     string `json:"error"`
	Plaintext string `json:"plaintext,omitempty"`
}

type blobVec struct {
	Key       string `json:"key"`
	Nonce     string `json:"nonce"`
	Plaintext string `json:"plaintext"`
	Blob      string `json:"blob"`
}

type blobErrorVec struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	Blob  string `json:"blob"`
	Error string `json:"error"`
}

type linkVec struct {
	Base   string `json:"base"`
	Secret string `json:"secret"`
	Link   string `json:"link"`
}

// linkParseVec and linkErrorVec: an input starting with "http" is a full
// link (ParseLink), anything else a fragment (ParseFragment).
type linkParseVec struct {
	Input  string `json:"input"`
	Secret string `json:"secret"`
}

type linkErrorVec struct {
	Name  string `json:"name"`
	Input string `json:"input"`
	Error string `json:"error"`
}
