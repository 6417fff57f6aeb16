package b64url

import "testing"

func TestOneSpelling(t *testing.T) {
	for _, tc := range []struct {
		s           string
		alpha, good bool
	}{
		{"", true, true},
		{"AQID", true, true},
		{"AQ", true, true},
		{"AR", true, false},    // unused bits set
		{"AQ==", false, false}, // padding
		{"A+/B", false, false}, // standard alphabet
		{"AQ\nID", false, false},
		{"AQ\rID", false, false},
		{"A", true, false}, // impossible length
	} {
		if got := Alphabet(tc.s); got != tc.alpha {
			t.Errorf("Alphabet(%q) = %v", tc.s, got)
		}
		if got := Valid(tc.s); got != tc.good {
			t.Errorf("Valid(%q) = %v", tc.s, got)
		}
	}
	var two [2]byte
	if !DecodeFixed(two[:], "AQI") || two != [2]byte{1, 2} {
		t.Fatalf("DecodeFixed: %v", two)
	}
	for _, bad := range []string{"AQ", "AQID", "AQJ", "A\nQI"} {
		if DecodeFixed(two[:], bad) {
			t.Errorf("DecodeFixed accepted %q", bad)
		}
	}
}
