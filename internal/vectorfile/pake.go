package vectorfile

// PAKE is the JSON shape of pake/testdata/vectors.json: cmd/pake-vectors
// writes it and the Go tests in pake/ read it; pake/jstest/ and the browser
// tests read the same field names from JavaScript. Bytes are hex; PRS, AD
// and other text inputs are noted where they are ASCII.
type PAKE struct {
	Comment       string          `json:"comment"`
	Strings       CPaceStrings    `json:"cpace_strings"`
	Ristretto     CPaceRistretto  `json:"cpace_ristretto255"`
	ScalarMult    CPaceScalarMult `json:"cpace_scalar_mult"`
	Codes         []Code          `json:"codes"`
	CodeParses    []CodeParse     `json:"code_parses"`
	CodeErrors    []InputError    `json:"code_errors"`
	Exchanges     []Exchange      `json:"exchanges"`
	WrongCode     WrongCode       `json:"wrong_code"`
	MessageErrors []MessageError  `json:"message_errors"`
}

// CPaceStrings are the draft's string-function vectors.
type CPaceStrings struct {
	Source       string       `json:"source"`
	PrependLen   []BytesIO    `json:"prepend_len"`
	LVCat        LVCat        `json:"lv_cat"`
	Larger       []Larger     `json:"lexiographically_larger"`
	OCat         []OCat       `json:"o_cat"`
	TranscriptIR []Transcript `json:"transcript_ir"`
	TranscriptOC []Transcript `json:"transcript_oc"`
}

type BytesIO struct {
	Input  string `json:"input"`
	Output string `json:"output"`
}

type LVCat struct {
	Inputs []string `json:"inputs"`
	Output string   `json:"output"`
}

type Larger struct {
	A      string `json:"a"`
	B      string `json:"b"`
	Larger bool   `json:"larger"`
}

type OCat struct {
	A      string `json:"a"`
	B      string `json:"b"`
	Output string `json:"output"`
}

type Transcript struct {
	Ya     string `json:"Ya"`
	ADa    string `json:"ADa"`
	Yb     string `json:"Yb"`
	ADb    string `json:"ADb"`
	Output string `json:"output"`
}

// CPaceRistretto is the draft's Appendix B.3 run, from the generator string
// to ISK in both transcript settings.
type CPaceRistretto struct {
	Source          string `json:"source"`
	DSI             string `json:"dsi"`
	PRS             string `json:"prs"`
	CI              string `json:"ci"`
	SID             string `json:"sid"`
	ZPadLen         int    `json:"zpad_len"`
	GeneratorString string `json:"generator_string"`
	GeneratorHash   string `json:"generator_hash"`
	G               string `json:"g"`
	YaScalar        string `json:"ya"`
	ADa             string `json:"ADa"`
	Ya              string `json:"Ya"`
	YbScalar        string `json:"yb"`
	ADb             string `json:"ADb"`
	Yb              string `json:"Yb"`
	K               string `json:"K"`
	TranscriptIR    string `json:"transcript_ir"`
	ISKDSI          string `json:"isk_dsi"`
	ISKInputIR      string `json:"isk_input_ir"`
	ISKIR           string `json:"isk_ir"`
	TranscriptOC    string `json:"transcript_oc"`
	ISKInputOC      string `json:"isk_input_oc"`
	ISKOC           string `json:"isk_oc"`
	SIDOutputIR     string `json:"sid_output_ir"`
	SIDOutputOC     string `json:"sid_output_oc"`
}

type CPaceScalarMult struct {
	Source        string   `json:"source"`
	S             string   `json:"s"`
	X             string   `json:"X"`
	ScalarMult    string   `json:"scalar_mult"`
	ScalarMultVfy string   `json:"scalar_mult_vfy"`
	Invalid       []string `json:"invalid"`
	Identity      string   `json:"identity"`
}

// Code is a room code derived from a secret and a nameplate.
type Code struct {
	Secret    string `json:"secret"`
	Nameplate string `json:"nameplate"`
	Info      string `json:"hkdf_info"`
	HKDF      string `json:"hkdf_output"`
	Password  string `json:"password"`
	Code      string `json:"code"`
}

// CodeParse is a typed code and what ParseCode makes of it.
type CodeParse struct {
	Input     string `json:"input"`
	Nameplate string `json:"nameplate"`
	Password  string `json:"password"`
}

// Exchange is one whole exchange with fixed randomness, message by message.
type Exchange struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	Nameplate string `json:"nameplate"`
	Password  string `json:"password"`
	Code      string `json:"code"`
	CI        string `json:"ci"`
	SID       string `json:"sid"`
	YaRandom  string `json:"ya_random"`
	YaScalar  string `json:"ya"`
	YbRandom  string `json:"yb_random"`
	YbScalar  string `json:"yb"`
	Nonce     string `json:"nonce"`
	G         string `json:"g"`
	Ya        string `json:"Ya"`
	Yb        string `json:"Yb"`
	K         string `json:"K"`
	ISK       string `json:"isk"`
	TH        string `json:"transcript_hash"`
	KCMember  string `json:"kc_member"`
	KCJoiner  string `json:"kc_joiner"`
	SealKey   string `json:"seal_key"`
	TagM      string `json:"tag_m"`
	TagJ      string `json:"tag_j"`
	Msg1      string `json:"msg1"`
	Msg2      string `json:"msg2"`
	Msg3      string `json:"msg3"`
	Msg4      string `json:"msg4"`
}

// WrongCode is an exchange in which the joiner typed a wrong password part.
type WrongCode struct {
	Name           string `json:"name"`
	Secret         string `json:"secret"`
	Nameplate      string `json:"nameplate"`
	MemberPassword string `json:"member_password"`
	JoinerPassword string `json:"joiner_password"`
	SID            string `json:"sid"`
	YaRandom       string `json:"ya_random"`
	YbRandom       string `json:"yb_random"`
	Msg1           string `json:"msg1"`
	Msg2           string `json:"msg2"`
	JoinerError    string `json:"joiner_error"` // from Confirm(msg2): the joiner sends no msg3
	ForgedMsg3     string `json:"forged_msg3"`  // what a relay might send the member instead
	MemberError    string `json:"member_error"` // from Finish(forged_msg3)
	AbortError     string `json:"abort_error"`  // from Abort() when no msg3 ever comes
}

// MessageError is one bad message at one step of the first exchange
// (exchanges[0], same randomness): "respond" feeds a fresh member,
// "confirm" a fresh joiner, "finish" the member after Respond(msg1),
// "open" the joiner after Confirm(msg2).
type MessageError struct {
	Name  string `json:"name"`
	Step  string `json:"step"`
	Input string `json:"input"`
	Error string `json:"error"`
}
