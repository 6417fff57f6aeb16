// Package e2ee is Sotto's end-to-end encryption in Go: the same key
// schedule, frame format, sealed blobs and links as the browser module in
// static/js/e2ee, for tests, bots and load generators. Both pass the vectors
// in testdata/vectors.json (written by cmd/e2ee-vectors).
//
// A member's flow:
//
//	secret, _ := e2ee.ParseLink(link)          // S from https://host/#1.<base64url(S)>
//	keys, _ := e2ee.DeriveRoomKeys(secret)     // room id, room auth, signal, media, safety code
//	snd, _ := e2ee.NewSender(keys.Media[:], e2ee.NewKID())
//	hello, _ := e2ee.SealBlob(keys.Signal[:], []byte(`{"kid":"`+e2ee.FormatKID(snd.KID())+`"}`))
//	rcv, _ := e2ee.NewReceiver(keys.Media[:])
//	rcv.AddSender(kidFromAnotherMembersHello)
//	out, err := snd.Encrypt(buf[:0], opusFrame) // TOC || SFrame header || ciphertext || tag
//	pt, err := rcv.Decrypt(buf[:0], frame)      // any error: drop the frame
//
// The server side needs only Verifier/CheckRoomAuth.
//
// Files: keys.go (key schedule, KIDs, safety code), header.go (RFC 9605
// header), sframe.go (suite 0x0005 seal/open), sender.go, receiver.go,
// replay.go (replay window), blob.go (sealed blobs), link.go (join links),
// errors.go (error codes shared with JavaScript). docs/security.md says what
// all this protects and how each claim is tested.
package e2ee
