// Command signtoken signs a Sotto operator-mode token (docs/tokens.md) with
// the Go standard library alone: signToken is the function to copy into a
// backend.
//
//	SOTTO_SECRET=... go run ./docs/examples/signtoken ROOM USER ROLE TTL_SECONDS
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"
)

var (
	roomID = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	userID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// signToken returns a token that lets user create or join room once, with
// role, until ttl from now.
func signToken(secret []byte, room, user, role string, ttl time.Duration) (string, error) {
	switch {
	case !roomID.MatchString(room):
		return "", errors.New("room: a 22-character base64url room id")
	case !userID.MatchString(user):
		return "", errors.New("user: 1-64 characters of A-Z a-z 0-9 _ -")
	case role != "talk" && role != "listen" && role != "priority":
		return "", errors.New("role: talk, listen or priority")
	case ttl < time.Second:
		return "", errors.New("ttl: at least a second")
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	exp := time.Now().Add(ttl).Unix()
	body := fmt.Sprintf("v1.%s.%s.%s.%d.%s", room, user, role, exp, base64.RawURLEncoding.EncodeToString(nonce))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

func main() {
	secret := os.Getenv("SOTTO_SECRET")
	if secret == "" || len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: SOTTO_SECRET=... signtoken ROOM USER talk|listen|priority TTL_SECONDS")
		os.Exit(2)
	}
	ttl, err := strconv.Atoi(os.Args[4])
	if err == nil {
		var tok string
		tok, err = signToken([]byte(secret), os.Args[1], os.Args[2], os.Args[3], time.Duration(ttl)*time.Second)
		if err == nil {
			fmt.Println(tok)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "signtoken:", err)
	os.Exit(2)
}
