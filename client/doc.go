// Package client is a Sotto member in Go: it speaks the real protocol
// (docs/protocol.md) over the real transports, as the web app does, so that
// tests, bots and load generators exercise exactly what a browser exercises.
//
// The story of one member, in the order the files tell it:
//
//	c, _ := client.Dial(ctx, client.Config{URL: "ws://host/ws", Secret: s, Name: "Ada"}) // client.go, signaling.go
//	_ = c.Join(ctx)            // join, or create on no_such_room; sealed hello; media (room.go, hello.go, media.go)
//	_ = c.WaitConnected(ctx)   // ICE + DTLS up
//	_ = c.RequestFloor(ctx)    // floor.go: while it holds the floor it sends 50 frames/s (talk.go)
//	_ = c.ReleaseFloor(ctx)
//	st := c.Stats()            // listen.go: what it heard, decrypted, lost, reordered
//	_ = c.Close()              // leaves, closes the PeerConnection and the WebSocket, waits for its goroutines
//
// Keys: the room id, auth token, signal key and media key all come from the
// 32-byte room secret (e2ee.DeriveRoomKeys). Each Client is one sender
// session with its own KID; its hello, sealed under the signal key, tells
// the others that KID so their e2ee.Receiver can decrypt its frames.
//
// Frames are synthetic but Opus-shaped (frame.go): a TOC byte, the sender's
// frame counter and filler derived from (KID, counter), 80 to 160 bytes
// before encryption, so a listener can check each one bit for bit.
//
// A Client is one membership: after Leave (or a failed Join) it can only be
// closed. It is safe for concurrent use.
package client
