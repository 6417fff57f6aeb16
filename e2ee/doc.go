// Package e2ee is Sotto's end-to-end encryption in Go: the same key
// schedule, frame format, sealed blobs and links as the browser module in
// static/js/e2ee, for tests, bots and load generators. Both pass the vectors
// in testdata/vectors.json (written by cmd/e2ee-vectors).
//
// A member's flow in v1 (one media key for the room, from the link):
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
// # v2: sender keys over pairwise ephemeral channels (docs/keys.md)
//
// The link still gives the room id, the auth token and the signal key; frame
// keys now come from each member's random sender key, sent to each other
// member in a 71-byte key blob wrapped under the pair's X25519 agreement.
//
//	// Per membership (every join; a resume keeps all of it):
//	sid := e2ee.NewSID()
//	pair, _ := e2ee.NewKeyPair()
//	rcv := e2ee.NewEpochReceiver()              // decrypts every member's frames
//	ring, _ := e2ee.NewKeyRing(e2ee.KeyRingConfig{RoomID: keys.RoomID[:], Self: sid, Pair: pair, Sink: rcv})
//	hello := `{"name":"Ada","sid":"` + e2ee.FormatSID(sid) + `","dh":"` + base64url(pair.Public()) + `"}`
//	// SealBlob(keys.Signal[:], hello) to everyone, as in v1.
//
//	// A hello arrives: sid and dh from it.
//	err := ring.AddMember(theirSID, theirDH)    // ErrDuplicateSID, ErrBadPublicKey
//	ring.RemoveMember(theirSID)                 // on member_left: their epochs are erased at once
//
//	// Our own key for an epoch (0 first, then +1 per rotation):
//	key := e2ee.NewSenderKey()
//	for _, to := range ring.Members() {
//		blob, _ := ring.SealFor(to, epoch, key) // {"key": base64url(blob)} inside SealBlob, in one `blobs` batch
//	}
//	snd, _ := e2ee.NewEpochSender(key, e2ee.EpochKID(sid, epoch)) // switch to it KeySwitchDelay later
//	clear(key)                                  // the Sender keeps only the derived AEAD
//
//	// A key blob arrives (out of its SealBlob and base64url):
//	acc, err := ring.AcceptBlob(blob, time.Now()) // rules 2-5 of docs/keys.md; the key goes to rcv
//	// err codes: key-blob-format, key-blob-version, key-not-for-us, unknown-sender, key-unwrap, stale-epoch
//	// acc.New: acc.From is now on acc.Epoch; false: a harmless resend
//
//	// Timers: old epochs are erased after OldKeyGrace.
//	if at, ok := ring.NextExpiry(); ok { /* at that time: */ ring.Expire(time.Now()) }
//
//	pt, err := rcv.Decrypt(buf[:0], frame)      // as in v1; unknown or erased epochs: ErrUnknownKID
//	ring.Close()                                // Leave: every key erased, the key pair too
//
// The ring owns no clock and does no I/O; it drives its KeySink (the
// Receiver) so the receiver holds exactly the epochs the ring holds. A
// Receiver made by NewReceiver (v1) also takes SetSenderKey, for a room
// switching over; one made by NewEpochReceiver refuses AddSender.
//
// The server side needs only Verifier/CheckRoomAuth.
//
// Files: keys.go (key schedule, KIDs, safety code), header.go (RFC 9605
// header), sframe.go (suite 0x0005 seal/open), sender.go, receiver.go,
// replay.go (replay window), blob.go (sealed blobs), link.go (join links),
// errors.go (error codes shared with JavaScript); v2: sid.go, epoch.go
// (epoch KIDs and their order), keypair.go (X25519), keyblob.go (key
// wrap), epochkeys.go (frame keys from sender keys), keyring.go (the
// receiving rules, timings and bounds). docs/security.md says what all this
// protects and how each claim is tested.
package e2ee
