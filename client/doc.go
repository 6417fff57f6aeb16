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
// Keys (v2, docs/keys.md): the room id, auth token and signal key come from
// the 32-byte room secret (e2ee.DeriveRoomKeys); media keys do not. Each
// Client is one membership with its own sid and ephemeral X25519 pair,
// announced in a hello sealed under the signal key (hello.go). Its frames go
// out under a random sender key per epoch, wrapped for each member whose
// hello it holds (keys.go); it rotates on a leave, on a later joiner's
// hello and on a timer (rotate.go), and erases everything on Leave.
// Events "hello", "key", "rotate" and "switch" (client.go) let tests follow.
//
// Frames are synthetic but Opus-shaped (frame.go): a TOC byte, the sender's
// frame counter and filler derived from (sid, counter), 80 to 160 bytes
// before encryption, so a listener can check each one bit for bit.
//
// A Client is one membership: after Leave (or a failed Join) it can only be
// closed. It is safe for concurrent use.
package client
