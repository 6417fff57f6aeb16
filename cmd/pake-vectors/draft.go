package main

// Published test vectors of draft-irtf-cfrg-cpace-21 (CPace, a CFRG
// Internet-Draft; its source is the repository cfrg/draft-irtf-cfrg-cpace,
// tag draft-irtf-cfrg-cpace-21 of 2026-04-23, commit 8fb4056), transcribed
// as data:
// Appendix A (string utilities) and Appendix B.3 ("Test vector for CPace
// using group ristretto255 and hash SHA-512"). The same B.3 values are in
// that repository's testvectors.json under "G_Coffee25519" and
// "G_Coffee25519_points". Every value here is checked against the
// implementation (sotto/pake/cpace) before vectors.json is written.

const draftSource = "draft-irtf-cfrg-cpace-21, "

// Appendix A.1.2 prepend_len, A.1.4 lv_cat, A.3.3 o_cat, A.3.5
// transcript_ir, A.3.7 transcript_oc.
const stringsSource = draftSource + "Appendix A (CPace function definitions): prepend_len, lv_cat, " +
	"lexiographically_larger, o_cat, transcript_ir and transcript_oc test vectors"

// draftLarger is the draft's table of lexiographically_larger results.
var draftLarger = []struct {
	a, b   string // hex
	larger bool
}{
	{"00", "0000", false},
	{"01", "0000", true},
	{"0000", "00", true},
	{"0000", "01", false},
	{"0001", "01", false},
	{"41424344", "424344", false}, // "ABCD", "BCD"
}

var draftOCat = []struct{ a, b, out string }{
	{"41424344", "424344", "6f6342434441424344"},     // o_cat(b"ABCD", b"BCD")
	{"424344", "4142434445", "6f634243444142434445"}, // o_cat(b"BCD", b"ABCDE")
}

// transcript vectors: Ya, ADa, Yb, ADb as ASCII, the output as hex.
var draftTranscriptIR = []struct{ ya, ada, yb, adb, out string }{
	{"123", "PartyA", "234", "PartyB", "03313233065061727479410332333406506172747942"},
	{"3456", "PartyA", "2345", "PartyB", "043334353606506172747941043233343506506172747942"},
}

var draftTranscriptOC = []struct{ ya, ada, yb, adb, out string }{
	{"123", "PartyA", "234", "PartyB", "6f6303323334065061727479420331323306506172747941"},
	{"3456", "PartyA", "2345", "PartyB", "6f63043334353606506172747941043233343506506172747942"},
}

// Appendix B.3: the protocol run (B.3.1 generator, B.3.2-B.3.3 messages,
// B.3.4 K, B.3.5 ISK initiator/responder, B.3.6 ISK parallel, B.3.7 session
// id output).
const ristrettoSource = draftSource + "Appendix B.3, Test vector for CPace using group ristretto255 and hash SHA-512 " +
	"(B.3.1 calculate_generator, B.3.2-B.3.3 messages, B.3.4 K, B.3.5 ISK initiator/responder, " +
	"B.3.6 ISK parallel execution, B.3.7 session id output)"

var draftRistretto = struct {
	prs, ci, sid, ada, adb            string // PRS, ADa and ADb ASCII, CI and sid hex
	zpad                              int
	generatorString, generatorHash, g string
	ya, yaPub, yb, ybPub, k           string
	transcriptIR, iskInputIR, iskIR   string
	transcriptOC, iskInputOC, iskOC   string
	iskDSI, sidOutputIR, sidOutputOC  string
}{
	prs:  "Password",
	ci:   "0b415f696e69746961746f720b425f726573706f6e646572", // b'\x0bA_initiator\x0bB_responder'
	sid:  "7e4b4791d6a8ef019b936c79fb7f2c57",
	ada:  "ADa",
	adb:  "ADb",
	zpad: 100,
	generatorString: "11435061636552697374726574746f3235350850617373776f726464" +
		"00000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000180b415f696e69746961746f" +
		"720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f" +
		"2c57",
	generatorHash: "da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288" +
		"b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772" +
		"05f90851a657ee27",
	g:     "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56",
	ya:    "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08",
	yaPub: "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157",
	yb:    "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d",
	ybPub: "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258",
	k:     "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f",
	transcriptIR: "20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e" +
		"ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa" +
		"8232b5ebe63324e2d9e7433f725803414462",
	iskDSI: "435061636552697374726574746f3235355f49534b", // b'CPaceRistretto255_ISK'
	iskInputIR: "15435061636552697374726574746f3235355f49534b107e4b4791d6" +
		"a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55" +
		"a2f80ac19c333f917a05fc9887c8b40f20d6bac480f2c386c394efc7" +
		"c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7" +
		"e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f" +
		"725803414462",
	iskIR: "b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc" +
		"ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c" +
		"3fa2068af7900447",
	transcriptOC: "6f6320d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f" +
		"8d0eec482b915703414461203ea7e0b19560d7c0b0f5734f63b95528" +
		"6dfa8232b5ebe63324e2d9e7433f725803414462",
	iskInputOC: "15435061636552697374726574746f3235355f49534b107e4b4791d6" +
		"a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55" +
		"a2f80ac19c333f917a05fc9887c8b40f6f6320d6bac480f2c386c394" +
		"efc7c47adb9925dcd2630b64f240c50f8d0eec482b91570341446120" +
		"3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7" +
		"433f725803414462",
	iskOC: "544199d71f62f8d9a1fee55727e24fe4a45844593c2b6013c4fa3969" +
		"d0e5debb2244675c0b43397cbb68d342b01fc0f98fc961469a25134d" +
		"e9f0f813c1a57476",
	sidOutputIR: "bb1c449b35f0ea79a65c209f329a693d475e0ce2387bed9fe4b78f60" +
		"b2a27c219813fb2cfe175ef40d2222d9261e66da7d78f7c55a303b1b" +
		"8611dcdfab880c47",
	sidOutputOC: "10d5941d4933497fe31b9188d690b84465e2a2d158332a7267284a07" +
		"1a8d0876fc5c8c329dc735d59a9f8ef6623ee23924704a2f929dd631" +
		"ca981227ee82fff2",
}

// Appendix B.3.10-B.3.11 ("Test case for scalar_mult with valid inputs",
// "Invalid inputs for scalar_mult_vfy").
const scalarMultSource = draftSource + "Appendix B.3.10 Test case for scalar_mult with valid inputs; " +
	"B.3.11 Invalid inputs for scalar_mult_vfy (results must be G.I; a protocol run receiving them must abort)"

var draftScalarMult = struct {
	s, x, out string
	invalid   []string
}{
	s:   "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05",
	x:   "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c",
	out: "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e",
	invalid: []string{
		"2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c", // Y_i1: not an encoding
		"0000000000000000000000000000000000000000000000000000000000000000", // Y_i2 = G.I
	},
}

// draftPrependLen: Appendix A.1.2. Inputs are b"", b"1234",
// bytes(range(127)) and bytes(range(128)); outputs are checked against
// these prefixes followed by the input.
var draftPrependLen = []struct {
	input  []byte
	prefix string
}{
	{[]byte{}, "00"},
	{[]byte("1234"), "04"},
	{seq(0, 127), "7f"},
	{seq(0, 128), "8001"},
}

// draftLVCat: Appendix A.1.4, lv_cat(b"1234", b"5", b"", b"678").
var draftLVCat = struct {
	parts []string
	out   string
}{[]string{"1234", "5", "", "678"}, "043132333401350003363738"}
