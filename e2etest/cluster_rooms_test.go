package e2etest

// The rooms TestCluster makes and breaks: each a creator, link joiners and a
// code joiner, every one a signaling-only Go member from an address of its
// own; what it takes to rebuild one when its node dies, modelled on the
// app; and the join-latency comparison, through HAProxy and direct.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/testutil"
)

// appRetryMS is the app's reconnect schedule (static/js/reconnect.js
// RETRY_MS, JITTER): the rebuild below waits as the app would.
var appRetryMS = []int{300, 1000, 2000}

const appRetryJitter = 0.25

// appRetryDelay is the app's wait before its try after `retries` failed
// ones (reconnect.js retryDelay).
func appRetryDelay(retries int) time.Duration {
	base := appRetryMS[min(retries, len(appRetryMS)-1)]
	return time.Duration(float64(base)*(1-appRetryJitter+rand.Float64()*2*appRetryJitter)) * time.Millisecond
}

// clusterKnocksAtOnce is how many code exchanges placeRoom runs at once
// over the cluster. Each exchange in progress holds one of its node's
// failure reservations until it succeeds (docs/security.md: the bound on
// wrong codes counts exchanges in flight), and a node of three has
// signal.KnockFailureBurst / 3 = 6 of them: more at once, and the rest get
// try_later, as people typing codes at the same moment would. People type
// codes seconds apart; the test, milliseconds.
const clusterKnocksAtOnce = 6

var clusterKnockSlots = make(chan struct{}, clusterKnocksAtOnce)

// clusterAttemptTimeout bounds one try to connect and enter again, as the
// app's own timeouts do: a try that hangs is given up and made again.
const clusterAttemptTimeout = 5 * time.Second

// clusterRoom is one room of TestCluster and its members.
type clusterRoom struct {
	c      *clusterRig
	secret []byte
	id     string // the room id as the wire and HAProxy's stick table write it

	mu      sync.Mutex
	cfgs    []client.Config // each member's, to come back as from the same place
	members []*client.Client

	failedTries atomic.Int64 // rebuild's tries that failed
	lastErr     atomic.Value // the last one's error (a string)

	watching atomic.Bool
	events   atomic.Int64 // joins and leaves seen while watching
}

// onEvent counts what a member of a room on a surviving node must not see.
func (r *clusterRoom) onEvent(ev client.Event) {
	switch ev.Type {
	case "member_joined", "member_left", "member_back", "removed":
		if r.watching.Load() {
			r.events.Add(1)
		}
	}
}

func (r *clusterRoom) watch()       { r.watching.Store(true) }
func (r *clusterRoom) noticed() int { return int(r.events.Load()) }

// placeRoom makes a room through HAProxy: its creator, clusterLinkJoiners
// joiners by link and one by the code the creator's app shows, and checks
// that each joiner is in the creator's room.
func (c *clusterRig) placeRoom(ctx context.Context) (*clusterRoom, error) {
	secret := e2ee.NewSecret()
	keys, err := e2ee.DeriveRoomKeys(secret)
	if err != nil {
		return nil, err
	}
	r := &clusterRoom{c: c, secret: secret, id: b64url(keys.RoomID[:])}
	cfg := c.member(secret, "creator")
	cfg.OnEvent = r.onEvent
	creator, err := client.Dial(ctx, cfg)
	if err != nil {
		return r, err
	}
	r.add(cfg, creator)
	if err := creator.Create(ctx); err != nil {
		return r, fmt.Errorf("create: %w", err)
	}
	code := creator.Code()
	if code == "" {
		return r, errors.New("the creator has no room code")
	}
	for i := range clusterLinkJoiners {
		cfg := c.member(secret, fmt.Sprintf("link %d", i))
		cfg.OnEvent = r.onEvent
		m, err := client.Connect(ctx, cfg)
		if err != nil {
			return r, fmt.Errorf("link joiner: %w", err)
		}
		r.add(cfg, m)
	}
	cfg = c.member(nil, "by code")
	cfg.OnEvent = r.onEvent
	clusterKnockSlots <- struct{}{}
	m, err := client.ConnectByCode(ctx, cfg, code)
	<-clusterKnockSlots
	if err != nil {
		return r, fmt.Errorf("code joiner: %w", err)
	}
	cfg.Secret = secret
	r.add(cfg, m)
	for _, m := range r.members[1:] {
		if !slices.Contains(m.Members(), creator.Self()) {
			return r, errors.New("a joiner is not in its creator's room: it landed on another node")
		}
	}
	return r, nil
}

func (r *clusterRoom) add(cfg client.Config, m *client.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfgs = append(r.cfgs, cfg)
	r.members = append(r.members, m)
}

// nodeOf is the server HAProxy's stick table names for the room.
func (c *clusterRig) nodeOf(t *testing.T, r *clusterRoom) string {
	t.Helper()
	return c.lb.StickEntry(t, r.id)
}

// rebuild brings every member of a room whose node died back, as the app
// does: each notices its connection is gone, waits the app's retry delay,
// and connects again through HAProxy with the room's link (join; no room:
// create; made meanwhile by another: join), again after a failed try. It
// returns the time from since until the room is whole again (every member
// sees all the others).
func (r *clusterRoom) rebuild(ctx context.Context, since time.Time) (time.Duration, error) {
	r.mu.Lock()
	old, cfgs := r.members, r.cfgs
	r.mu.Unlock()
	back := make([]*client.Client, len(cfgs))
	errs := make(chan error, len(cfgs))
	for i, cfg := range cfgs {
		go func() {
			select {
			case <-old[i].Disconnected():
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
			old[i].Close()
			for retries := 0; ; retries++ {
				select {
				case <-time.After(appRetryDelay(retries)):
				case <-ctx.Done():
					errs <- ctx.Err()
					return
				}
				actx, cancel := context.WithTimeout(ctx, clusterAttemptTimeout)
				m, err := client.Connect(actx, cfg)
				cancel()
				if err == nil {
					back[i] = m
					errs <- nil
					return
				}
				r.failedTries.Add(1)
				r.lastErr.Store(err.Error())
			}
		}()
	}
	for range cfgs {
		if err := <-errs; err != nil {
			return 0, fmt.Errorf("%w (%d failed tries, the last: %v)", err, r.failedTries.Load(), r.lastErr.Load())
		}
	}
	r.mu.Lock()
	r.members = back
	r.mu.Unlock()
	var err error
	for ctx.Err() == nil {
		if err = r.whole(); err == nil {
			return time.Since(since), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, err
}

// whole reports an error unless every member knows every other.
func (r *clusterRoom) whole() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		known := m.Members()
		for _, o := range r.members {
			if o != m && !slices.Contains(known, o.Self()) {
				return fmt.Errorf("room %d members: one does not know another (%d known)", len(r.members), len(known))
			}
		}
	}
	return nil
}

// settled reports whether every member knows exactly the room's other
// members: no one else is in the room, as far as any member knows.
func (r *clusterRoom) settled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if len(m.Members()) != len(r.members)-1 {
			return false
		}
	}
	return true
}

// joinOneMore adds a member by link and checks it found the room's members.
func (r *clusterRoom) joinOneMore(ctx context.Context) error {
	cfg := r.c.member(r.secret, "late")
	r.mu.Lock()
	before := len(r.members)
	first := r.members[0].Self()
	r.mu.Unlock()
	m, err := client.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	r.add(cfg, m)
	if !slices.Contains(m.Members(), first) {
		return fmt.Errorf("a late joiner of a room of %d found a room without them: the room split", before)
	}
	return nil
}

// clusterLatencyJoins is how many joins joinLatency times each way.
const clusterLatencyJoins = 200

// joinLatency times joins of the placement rooms through HAProxy and
// straight to the room's node, alternating, in the same run: the dial (TCP,
// TLS at HAProxy, the WebSocket upgrade) and the join round trip on the
// open socket, each its own figure.
func (c *clusterRig) joinLatency(t *testing.T, ctx context.Context, rooms []*clusterRoom) {
	stick := c.lb.StickEntries(t)
	addrOf := map[string]string{}
	for _, n := range c.nodes {
		addrOf[n.name] = n.addr
	}
	var dial, join [2][]time.Duration // [0] through HAProxy, [1] direct
	for i := range 2 * clusterLatencyJoins {
		r := rooms[(i/2)%len(rooms)]
		way := i % 2
		cfg := c.member(r.secret, "probe")
		if way == 1 {
			cfg.URL, cfg.TLS = "ws://"+addrOf[stick[r.id]]+"/ws", nil
		}
		start := time.Now()
		m, err := client.Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		dialed := time.Now()
		if err := m.Join(ctx); err != nil {
			t.Fatal(err)
		}
		joined := time.Now()
		m.Close()
		dial[way] = append(dial[way], dialed.Sub(start))
		join[way] = append(join[way], joined.Sub(dialed))
	}
	for _, f := range []struct {
		what string
		d    [2][]time.Duration
	}{{"dial (TCP, TLS at HAProxy, WebSocket)", dial}, {"join round trip", join}} {
		hp50, hp99 := quantile(f.d[0], 0.50), quantile(f.d[0], 0.99)
		dp50, dp99 := quantile(f.d[1], 0.50), quantile(f.d[1], 0.99)
		t.Logf("%s over %d each: through HAProxy p50 %v p99 %v; direct p50 %v p99 %v; ratio p50 %.2f p99 %.2f",
			f.what, clusterLatencyJoins, hp50, hp99, dp50, dp99, float64(hp50)/float64(dp50), float64(hp99)/float64(dp99))
	}
	// The probes have left, and their leaves have reached every member:
	// nothing of them arrives once the failure test watches for joins and
	// leaves.
	testutil.WaitFor(t, 30*time.Second, "the probes' leaves", func() bool {
		for _, r := range rooms {
			if !r.settled() {
				return false
			}
		}
		return true
	})
}
