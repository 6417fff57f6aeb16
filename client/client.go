package client

// The Client and its life: Dial, then Join (room.go), then Close.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"sotto/e2ee"
	"sotto/pake"
)

// Config describes one member.
type Config struct {
	// URL is the server's signaling endpoint, e.g. "ws://127.0.0.1:8080/ws".
	URL string
	// Secret is the room secret S (32 bytes), from which everything else
	// is derived.
	Secret []byte
	// Keys, if set, are used instead of the keys derived from Secret (which
	// may then be nil). Tests use it to build a member with the right room
	// id and auth token but a wrong media key.
	Keys *e2ee.RoomKeys
	// Name is the display name in the member's sealed hello.
	Name string
	// Listen joins listen-only: the server refuses it the floor and never
	// forwards what it sends.
	Listen bool
	// NoMedia makes a signaling-only member: it enters the room and trades
	// hellos but never opens a PeerConnection. Load and cluster tests hold
	// thousands of members this way, where media would only cost CPU.
	NoMedia bool
	// Record keeps every packet the floor track delivers (Packets), for
	// tests that check sequence numbers and timestamps. Off, only counters
	// are kept.
	Record bool
	// API is the pion API to build the PeerConnection with; nil: NewAPI for
	// the URL's host. Load generators share one.
	API *webrtc.API
	// Token is the operator token (docs/tokens.md) a server in operator
	// mode requires; "" for open rooms. Join may present it twice (a join
	// that finds no room, then the create): the server gives a token back
	// when what it was presented for fails.
	Token string
	// OnEvent, if set, is called for every room event, on the signaling
	// reader goroutine: it must return quickly.
	OnEvent func(Event)
	// LocalAddr, if valid, is the address the signaling connection (and a
	// code knock's) is made from. Cluster and load tests give each member
	// an address of its own in 127/8, as members on different networks
	// have, so that per-address limits count them apart.
	LocalAddr netip.Addr
	// TLS, if set, configures wss:// connections (a test's own CA).
	TLS *tls.Config

	// RotationInterval, if positive, replaces e2ee.RotationInterval (10
	// min) as the time after which this member rotates its sender key on
	// its own timer. For tests, which cannot wait 10 minutes; the app uses
	// the constant.
	RotationInterval time.Duration
	// OnFrame, for tests, is called with every frame the floor track
	// delivers, before decryption: the SFrame payload byte for byte as the
	// server forwarded it (what a recording server holds). It runs on the
	// track's goroutine and must not keep frame (copy it).
	OnFrame func(frame []byte)
	// MirrorKeys, for tests only, is given every frame key this member's
	// key ring gives its receiver (SetSenderKey, with the sender key) and
	// every removal, so a test can keep a copy of the member's keys as an
	// attacker that copied its memory would. Nil in anything but a test.
	MirrorKeys e2ee.KeySink
	// KeyPair, for tests only, is the membership's X25519 pair instead of
	// a fresh one: a test playing a party that kept a member's private key
	// makes it with e2ee.KeyPairFromPrivate. The client erases it on Leave.
	KeyPair *e2ee.KeyPair

	clock clock // nil: the real one; unit tests drive a fake one
}

// Event is something that happened in the room.
type Event struct {
	// Type is the server message's type ("member_joined", "member_left",
	// "floor_granted", "floor_released", "floor_busy", "member_role",
	// "removed", "error"), or one of the client's own:
	//
	//   - "hello": a member's sealed v2 hello registered its sid and X25519
	//     public key (SID, Name); v1 hellos are ignored;
	//   - "key": a member's key blob gave this client a new epoch of its
	//     sender key (Member, SID, Epoch, KID): its frames under that epoch
	//     now decrypt here;
	//   - "key_again": a key blob repeated a member's current epoch with the
	//     same key (a resend after a resume): nothing changed;
	//   - "key_refused": a key blob the key ring refused (Member, Code: the
	//     e2ee error code, e.g. "stale-epoch" for a replayed blob);
	//   - "rotate": this client sent a new sender key (SID, Epoch, KID;
	//     Reason "leave", "join", "timer" or "folded"; Members: how many
	//     members it was wrapped for); its frames switch to it
	//     e2ee.KeySwitchDelay later;
	//   - "switch": this client's frames now go out under epoch Epoch (KID);
	//   - "rekey": a member sent this client a new room secret (see
	//     RemoveAndRekey).
	//
	// "rotate", "switch" and expiries run on timers: OnEvent is called from
	// more than one goroutine, but never twice at once, and in order.
	Type    string
	Member  string // the member concerned, if any (floor_busy: the holder; rekey: the sender)
	Reason  string // floor_released: released, left, timeout, role or preempted; removed: operator; rekey: "removed" if it named this client; rotate: why
	By      string // floor_released with reason preempted: the priority member that took the floor
	Role    string // member_role: the member's new role
	Code    string // error: the code of an error that answered no request; key_refused: the e2ee code
	SID     uint32 // hello, key, key_again: the member's sid; rotate, switch: ours
	Epoch   uint16 // key, key_again, rotate, switch
	KID     uint64 // key, key_again, rotate, switch: EpochKID(SID, Epoch)
	Members int    // rotate: the members the new key was wrapped for
	Name    string // hello
	Secret  []byte // rekey: the new room secret
}

// Client is one member: a WebSocket, a PeerConnection, one membership's
// media keys (keys.go).
type Client struct {
	cfg     Config
	keys    *e2ee.RoomKeys
	sig     *signaling
	api     *webrtc.API
	k       *keys                       // guarded by mu
	sending atomic.Pointer[e2ee.Sender] // the epoch frames go out under; nil once erased
	ears    *listener

	evMu sync.Mutex // held while OnEvent runs: one call at a time, in order
	evq  []Event    // events waiting for OnEvent; guarded by mu

	wg        sync.WaitGroup // every goroutine of ours
	closeOnce sync.Once
	connected chan struct{} // closed when the PeerConnection first connects

	mu              sync.Mutex
	closed          bool
	state           memberState
	self            string
	members         map[string]*member // the others, by id
	holder          string             // who holds the floor; "" nobody
	forced          bool               // send whether or not we hold the floor
	talkStop        chan struct{}      // non-nil while a talk goroutine runs
	pc              *webrtc.PeerConnection
	mic             *mic
	offered         bool     // our offer is queued: candidates may follow it
	localCands      [][]byte // found before that
	answered        bool     // the answer is applied: remote candidates may be added
	remoteCands     []webrtc.ICECandidateInit
	connectedAt     time.Time
	strayErrors     int                     // error messages that answered no request
	nameplate       string                  // the room's, for its code
	knocks          map[string]*pake.Member // code exchanges this member is answering
	knockFails      map[string]int          // nameplate -> exchanges this member answered that failed
	knockFailsTotal int                     // over all nameplates
}

type memberState int

const (
	outside memberState = iota
	inside
	gone // left, refused, or disconnected: only Close remains
)

// member is another member as this client knows it.
type member struct {
	role     string
	name     string
	later    bool   // joined after us: its hello triggers a rotation
	sid      uint32 // from its hello
	hasHello bool
}

// Dial connects to the server's signaling endpoint. The client is not in a
// room yet: call Join or Create.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	keys := cfg.Keys
	if keys == nil {
		k, err := e2ee.DeriveRoomKeys(cfg.Secret)
		if err != nil {
			return nil, err
		}
		keys = k
	}
	k, err := newKeys(cfg, keys.RoomID[:])
	if err != nil {
		return nil, err
	}
	api := cfg.API
	if api == nil && !cfg.NoMedia {
		if api, err = NewAPI(loopbackURL(cfg.URL)); err != nil {
			return nil, err
		}
	}
	c := &Client{
		cfg: cfg, keys: keys, api: api, k: k,
		ears:       newListener(k.rcv, cfg.Record, cfg.OnFrame),
		connected:  make(chan struct{}),
		members:    make(map[string]*member),
		knocks:     make(map[string]*pake.Member),
		knockFails: make(map[string]int),
	}
	c.sending.Store(k.cur.snd)
	interval := cfg.RotationInterval
	if interval <= 0 {
		interval = e2ee.RotationInterval
	}
	k.sched = schedule{lock: &c.mu, clock: k.clock, interval: interval, delay: e2ee.KeySwitchDelay,
		start: c.startRotationLocked, switchKey: c.switchKeyLocked, flush: c.flushEvents}
	// The room id routes the connection in a cluster (route.go): every
	// message this client sends on it names that room.
	wsURL, err := routedURL(cfg.URL, routeRoomParam, b64.EncodeToString(keys.RoomID[:]))
	if err != nil {
		return nil, err
	}
	c.sig, err = dialSignaling(ctx, cfg, wsURL, c.handle)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Connect is Dial followed by Join.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	c, err := Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Join(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// loopbackURL reports whether the URL's host is a loopback address, where
// the client then gathers loopback candidates only.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := p.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Self returns the member id the server gave this client ("" before Join).
func (c *Client) Self() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.self
}

// SID returns this membership's sender id (docs/keys.md).
func (c *Client) SID() uint32 { return c.k.sid }

// KID returns the KID this client's frames go out under now (its sid and
// current epoch), 0 once its keys are erased.
func (c *Client) KID() uint64 {
	if s := c.sending.Load(); s != nil {
		return s.KID()
	}
	return 0
}

// Epoch returns the epoch of this client's current sender key.
func (c *Client) Epoch() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.k.cur.epoch
}

// Keys returns the room keys the client uses.
func (c *Client) Keys() *e2ee.RoomKeys { return c.keys }

// Members returns the ids of the other members, as far as the client knows.
func (c *Client) Members() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.members))
	for id := range c.members {
		ids = append(ids, id)
	}
	return ids
}

// HasKeyFrom reports whether this client holds a sender key of the member
// with sid, so that its frames would decrypt here.
func (c *Client) HasKeyFrom(sid uint32) bool {
	_, ok := c.k.ring.Current(sid)
	return ok
}

// CanDecrypt reports whether this client holds the key of kid (a sender's
// sid and epoch, e.g. another client's KID()), so that frames under it
// decrypt here now.
func (c *Client) CanDecrypt(kid uint64) bool {
	sid, epoch, err := e2ee.SplitKID(kid)
	if err != nil {
		return false
	}
	return slices.Contains(c.k.ring.Held(sid), epoch)
}

// Rotating reports whether this client has sent a new sender key and not
// yet switched to it, or has a rotation waiting to follow: its KID is about
// to change.
func (c *Client) Rotating() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.k.next != nil || c.k.sched.folded
}

// EpochOf returns the current epoch this client holds of sid's sender key.
func (c *Client) EpochOf(sid uint32) (uint16, bool) { return c.k.ring.Current(sid) }

// HeldEpochs returns the epochs of sid's sender key this client holds now,
// oldest first: the current one and those still in their grace.
func (c *Client) HeldEpochs(sid uint32) []uint16 { return c.k.ring.Held(sid) }

// Disconnected is closed when the signaling connection is gone (closed by
// either side).
func (c *Client) Disconnected() <-chan struct{} { return c.sig.done() }

// StrayErrors returns how many error messages answered no request (a
// refused blob or candidate, a rate limit).
func (c *Client) StrayErrors() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.strayErrors
}

// spawnLocked runs f in a goroutine Close waits for, unless the client is
// closed. Called with c.mu held.
func (c *Client) spawnLocked(f func()) bool {
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// enter registers the calling goroutine (one pion started) with Close, unless
// the client is closed.
func (c *Client) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// Close leaves the room (if in one), closes the PeerConnection and the
// WebSocket, and returns once every goroutine the client started has ended.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		in := c.state == inside
		c.mu.Unlock()
		if in {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if e := c.Leave(ctx); e != nil && !errors.Is(e, ErrClosed) {
				err = fmt.Errorf("client: leaving on close: %w", e)
			}
			cancel()
		}
		c.mu.Lock()
		c.closed = true
		c.state = gone
		c.stopTalkLocked()
		c.eraseKeysLocked()
		pc := c.pc
		c.mu.Unlock()
		if pc != nil {
			_ = pc.GracefulClose()
		}
		c.sig.close()
		c.wg.Wait()
	})
	return err
}

// queueEventLocked queues ev for OnEvent. Called with c.mu held; the
// caller calls flushEvents once it has let go of c.mu, so that OnEvent may
// call the client's methods.
func (c *Client) queueEventLocked(ev Event) {
	if c.cfg.OnEvent != nil {
		c.evq = append(c.evq, ev)
	}
}

// flushEvents hands the queued events to OnEvent, in order, one call at a
// time whatever goroutine queued them. Called without c.mu held.
func (c *Client) flushEvents() {
	if c.cfg.OnEvent == nil {
		return
	}
	c.evMu.Lock()
	defer c.evMu.Unlock()
	for {
		c.mu.Lock()
		q := c.evq
		c.evq = nil
		c.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, ev := range q {
			c.cfg.OnEvent(ev)
		}
	}
}
