// Package logmarker is what the log-privacy tests share: a marker string for
// client input, terminal escapes included, and a check that finds any part
// of it in a log. A test puts the marker in every field a client controls
// and requires Leaks to find nothing, at any log level.
package logmarker

import (
	"math/rand/v2"
	"strings"
)

// New returns a marker and the random token inside it. The escapes (a colour
// change, a window-title sequence and a bell) are what a hostile client would
// send to a terminal reading the log.
func New() (marker, token string) {
	b := make([]byte, 16)
	for i := range b {
		b[i] = 'a' + byte(rand.IntN(26))
	}
	token = "zq" + string(b)
	return "\x1b[31m" + token + "\x1b]0;\a", token
}

// Leaks returns the lines of log holding any part of the marker: an escape
// or bell byte, raw or quoted, or any 6 letters of its token.
func Leaks(log, token string) []string {
	parts := []string{"\x1b", "\a", `\x1b`, `\u001b`, `\x07`, `\a`}
	for i := 0; i+6 <= len(token); i++ {
		parts = append(parts, token[i:i+6])
	}
	var bad []string
	for _, line := range strings.Split(log, "\n") {
		for _, p := range parts {
			if strings.Contains(line, p) {
				bad = append(bad, line)
				break
			}
		}
	}
	return bad
}
