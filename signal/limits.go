package signal

import (
	"time"

	"sotto/room"
)

// Subprotocol is the protocol version. A client names it in
// Sec-WebSocket-Protocol; a connection that does not negotiate it is closed
// with CloseUnsupportedVersion. A future incompatible protocol gets a new name
// ("sotto.v2") and the server may speak both.
const Subprotocol = "sotto.v1"

// Defaults for the Config fields of the same name. Each bounds one resource a
// client could otherwise take without limit; docs/protocol.md tells clients
// the ones they can observe.
const (
	// DefaultReadLimit is the largest message a client may send. The largest
	// legitimate message is an SDP offer (MaxSDPBytes) inside its JSON. With
	// compression off this counts bytes on the wire, so a small compressed
	// message cannot expand past it.
	DefaultReadLimit = 64 << 10

	// DefaultPingPeriod is how often the server pings a client. Some mobile
	// networks and NATs drop a TCP mapping idle for a minute or less; 20 s
	// keeps it, and lets a phone that is gone be noticed.
	DefaultPingPeriod = 20 * time.Second
	// DefaultPongWait is how long the server waits for any frame from a
	// client before it gives up on it. More than two ping periods, so one
	// lost pong (a phone waking up, a network handover) is forgiven.
	DefaultPongWait = 45 * time.Second
	// DefaultWriteWait bounds one write to a client. A client that cannot
	// take a message in this time is gone or hopelessly slow.
	DefaultWriteWait = 10 * time.Second
	// DefaultCloseGrace is how long the server waits, once it has decided to
	// close, for the client to answer its close frame before dropping the TCP
	// connection. Reading until then keeps unread client bytes from turning
	// the close into a TCP reset that could destroy the close frame.
	DefaultCloseGrace = 2 * time.Second

	// DefaultSendQueue is how many messages may wait for a slow client.
	// Events are delivered with the room registry's lock held, so they are
	// never waited for: a client that falls this far behind is closed with
	// CloseTooSlow and leaves its room. Signaling is a trickle between
	// bursts, but the bursts are real: a phone joining a full 50-member room
	// gets a member list and then up to 49 encrypted hellos at once, and a
	// busy 2-vCPU server can leave a writer unscheduled for 10 ms (measured:
	// 64 dropped a healthy client in BenchmarkJoinLeave). The queue is empty
	// and costs nothing while idle, so the bound is set well above the
	// largest burst a room can cause, about twice its member cap.
	DefaultSendQueue = 256

	// DefaultMessageRate and DefaultMessageBurst are each connection's token
	// bucket, in messages per second. A joining client sends a burst (join,
	// offer, a dozen ICE candidates, hellos); a talking client a few per turn.
	DefaultMessageRate  = 20
	DefaultMessageBurst = 40
	// DefaultRateStrikes is how many rate-limited messages ("strikes") close
	// the connection with ClosePolicyViolation. Strikes are forgiven at
	// strikeForgiveRate, so a client that bursts now and then is throttled,
	// never closed, while one that keeps sending into an empty bucket is
	// closed within DefaultRateStrikes messages if it floods, or within
	// seconds if it merely sends a little faster than the rate. (Resetting
	// the count whenever a message gets through would let a client sending
	// at, say, 7x the rate go on for ever, drawing an error per message.)
	DefaultRateStrikes = 10
	// strikeForgiveRate is how many strikes are forgiven per second.
	strikeForgiveRate = 1.0

	// DefaultMaxConnsPerIP caps open connections per client address (an IPv4
	// address or an IPv6 /64, which is what one home or phone gets). A family
	// behind one NAT with a few tabs each stays far below it.
	DefaultMaxConnsPerIP = 32

	// DefaultFailedJoinRate and DefaultFailedJoinBurst are a server-wide
	// budget for joins that name a missing room or present a wrong token,
	// resumes with an unknown token, creates that name an existing room and
	// knocks at an unknown nameplate: the answers that would help someone
	// guess. It is global, not per address, so the guessing rate is bounded
	// however many addresses an attacker has: at most this rate, plus the
	// burst, whatever else happens. Each such request reserves a guess
	// before the registry is asked (budget.go) and gets it back unless it
	// failed as a guess: a create, join or resume that succeeds costs
	// nothing. When a guess cannot be reserved the request gets try_later
	// without being checked. Honest clients fail rarely (a stale link, a
	// race between two creators), so the burst absorbs them.
	DefaultFailedJoinRate  = 20
	DefaultFailedJoinBurst = 200
	// DefaultFailedJoinAddrRate and DefaultFailedJoinAddrBurst are each
	// client address's share (the key MaxConnsPerIP counts against): one
	// failed join per 2 s after a burst of 3 x DefaultMaxConnsPerIP. That
	// covers every connection an address may have coming back after a
	// server restart: each member's resume finds no room (or, once another
	// member made it again, a spent token: bad_resume, which costs the
	// address nothing, see guessBudget.keep), each room's first
	// member spends a second on its join, and its create then needs one more
	// reserved while the registry is asked (given back when it succeeds).
	// (20 made more than ~18 people behind one NAT wait try_later: review of
	// issue 12, item 9.) Those misses are held only until the member is
	// in: its connection then gets back what it spent on that room
	// (repay.go), so a restart, or a cluster node's failure, costs the
	// address nothing once everyone is back; and a member that got its
	// first answer goes on even when the budget is spent, so on a node of
	// a cluster of N (a burst of 96/N, cluster.go) members of one address
	// arriving together that find it spent are refused only on their first
	// request, holding nothing, and find it given back when they retry
	// (TestNodeFailureStorm: 32 behind one NAT on a node of 3, at once,
	// all in by the app's first retry; before, none in 31 s). The failing
	// address is refused first: its burst (96) is under the share of the server-wide budget
	// (200) a suspect address may take, and at its rate one address cannot
	// empty that budget (20/s); and since addresses that failed within
	// FailedJoinMemory may not take its last FailedJoinPriority share,
	// others keep creating, joining and resuming
	// until an attacker brings fresh addresses faster than the budget
	// refills (more than 20 a second, each then suspect for a minute: over
	// 1,200 addresses).
	DefaultFailedJoinAddrRate  = 0.5
	DefaultFailedJoinAddrBurst = 3 * DefaultMaxConnsPerIP
	// FailedJoinMemory is how long an address that failed a join stays
	// suspect: see FailedJoinPriority.
	FailedJoinMemory = time.Minute
	// FailedJoinPriority is the share of the server-wide failed-join budget
	// kept for addresses that have not failed within FailedJoinMemory.
	FailedJoinPriority = 0.5
	// MaxFailedJoinAddrs bounds the per-address failed-join table (about
	// 2.5 MB when full). An entry whose bucket has refilled and whose last
	// failure is older than FailedJoinMemory is dropped by the next sweep
	// (AddrTableSweep). An address that finds the table
	// full is checked against the server-wide budget only, as a suspect:
	// the global bound still holds, and nothing is evicted early.
	MaxFailedJoinAddrs = 16384
	// AddrTableSweep is how often the per-address failed-join, blob and
	// knock tables drop the entries that no longer count (a refilled
	// bucket, no recent failure; for knocks, a minute idle and refilled).
	// A timer sweeps each table this often while it has entries (and a
	// request finding the last sweep this old sweeps too), so an address is
	// held in memory, never logged, only while it counts and for up to
	// this long after, even on a quiet server: about 10 s after a
	// successful join or a blob budget refilled, about 70 s after a failed
	// join or a knock. Each sweep walks the table, at most 16,384 entries,
	// under its lock.
	AddrTableSweep = 10 * time.Second

	// BlobFanoutRate and BlobFanoutBurst (the defaults of Config.BlobRate
	// and BlobBurst) bound the blob bytes the server
	// relays for one client address (the key MaxConnsPerIP counts
	// against), counted as they go out: each blob costs its data plus
	// blobOverhead, times the members it goes to. Without it the only
	// bound was the message rate, which each connection has its own of: an
	// address with 16 connections in a room of 30 sent 331 blobs of 8 KiB a
	// second, and the server sent out 79 MB/s (issue 12 #11). What clients
	// need is small and bursty: a hello to everyone on joining and on
	// member_back, one to each newcomer, one re-key blob per member when
	// someone is removed (docs/protocol.md); realistic blobs are a few
	// hundred bytes. The burst covers a full room's worth of the largest
	// blobs twice over (8192 x 49 x 2 = 784 KiB: a hello and a re-key of
	// the largest size, to 49 others), or a household of 20 members of one
	// room all sending realistic hellos at once; the rate is a full-size
	// hello to a full room every 6 s. Over it, a blob gets too_many_blobs.
	// One address is thus held to 64 KiB/s out, 1,200 times less than
	// measured.
	BlobFanoutRate  = 64 << 10 // bytes per second
	BlobFanoutBurst = 1 << 20  // bytes
	// blobOverhead is what a blob costs beyond its data: the relayed
	// message's JSON around it ({"type":"blob","from":"<36>","data":""}).
	blobOverhead = 64
	// MaxBlobAddrs bounds the per-address blob table (about 2.3 MB when
	// full); an entry is dropped once its bucket has refilled (the next
	// sweep, AddrTableSweep). An address that finds it still full gets
	// too_many_blobs: memory and bandwidth stay bounded.
	MaxBlobAddrs = 16384

	// FloodCooldown is how long an address is refused (HTTP 429, reason
	// flooding_cooldown) after one of its connections was closed with 1008
	// for flooding. Without it every reconnect brings a fresh token bucket
	// and fresh strikes, so a flooder that reconnects at once multiplies the
	// per-connection limit by its reconnect rate (docs/abuse.md §2: ~250
	// reconnects and ~12,000 answered messages a second from one client).
	// The address is the one MaxConnsPerIP counts against (an IPv4 address
	// or an IPv6 /64; behind a proxy, the forwarded client address). Its
	// connections already open are left alone: other tabs behind the same
	// NAT keep working, each held to its own limits.
	FloodCooldown = 10 * time.Second
	// MaxFloodCooldown caps the cooldown, which doubles for each 1008 that
	// an address earns with a connection opened after its previous cooldown
	// ended (10 s, 20 s, 40 s, ... 5 min). An address forgets its cooldowns
	// once it has gone as long as its last one without a 1008 after it
	// ended; its next flood starts again at FloodCooldown. So one flood a
	// day costs 10 s; a flooder that comes back the moment it may is
	// refused for 5 minutes at a time within six rounds.
	MaxFloodCooldown = 5 * time.Minute
	// MaxFloodCooldownAddrs bounds the table of addresses in cooldown
	// (2.3 MB when full, measured: ~140 bytes an entry with the map's
	// overhead). A forgotten entry is dropped by a sweep, which runs at most
	// every FloodCooldown, on the next handshake or flood: the table holds
	// an address (in memory only, never logged) for about twice its last
	// cooldown, 20 s to 10 min. When the table is full, a new flooding
	// address is not put in cooldown, and no entry is evicted. That is safe:
	// such an address is still held to every per-connection limit (rate,
	// strikes, 1008) and to MaxConnsPerIP, which is all the server had
	// before the cooldown; and since nothing is evicted, an attacker who
	// fills the table from many addresses cannot free one of them early.
	// Filling it takes this many addresses flooding within 20 s or more,
	// and is logged (once until the table has room again).
	MaxFloodCooldownAddrs = 16384

	// handshakeTimeout bounds writing the HTTP 101 response.
	handshakeTimeout = 10 * time.Second
	// readBufferSize is each connection's read buffer. Buffer size does not
	// limit message size (longer reads bypass the buffer), and 512 bytes
	// rather than the 4 KiB net/http read the request with saves each idle
	// connection ~4 KiB (measured by BenchmarkIdleConnMemory). gorilla needs
	// room for a control frame, 127 bytes.
	readBufferSize = 512
	// writeBufferSize is the size of the pooled frame buffers. Signaling
	// messages are small; a larger message is simply sent in more frames.
	writeBufferSize = 4096
)

// Limits of the v1 wire format. They are part of the protocol contract
// (docs/protocol.md), so unlike the limits above they are not configurable:
// a client must be able to rely on them whatever server it talks to.
const (
	// MaxBlobChars is the longest blob, in base64url characters (6 KiB of
	// ciphertext): room for an encrypted hello with a display name and keys.
	MaxBlobChars = 8192
	// MaxSDPBytes is the longest SDP offer or answer. An audio-only offer
	// is 1-3 KiB.
	MaxSDPBytes = 16 << 10
	// MaxCandidateBytes is the longest ICE candidate object, as JSON. A
	// candidate line is under 200 bytes.
	MaxCandidateBytes = 2 << 10
	// MaxBlobsItems is the most items one blobs message carries: one for
	// each other member of a room at the default member cap, so that a key
	// rotation or a re-key in a full room is one message rather than 49,
	// which would be over the message burst (docs/keys.md). Being part of
	// the wire format it does not follow --max-members: in larger rooms a
	// client splits the batch. The read limit (DefaultReadLimit) bounds the
	// whole message, and so the sum of its items' data, as for any message.
	MaxBlobsItems = room.DefaultMaxMembersPerRoom - 1
)
