package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sotto/metrics"
	"sotto/room"
	"sotto/signal"
)

// blobsRoom is a real signaling server with one room: a sender and n
// receivers, each a signaling connection of this package. got receives
// every blob a receiver is sent, as "receiver's index, from, data".
type blobsRoom struct {
	reg       *metrics.Registry
	sender    *Client
	self      string
	receivers []string
	got       chan string
}

func newBlobsRoom(t *testing.T, n int, cfg signal.Config) *blobsRoom {
	t.Helper()
	var mreg metrics.Registry
	cfg.Registry = room.NewRegistry(room.Config{MaxMembersPerRoom: n + 1, ResumeGrace: -1})
	cfg.Metrics = &mreg
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.MaxConnsPerIP = n + 1 // all of them from 127.0.0.1
	url := startSignal(t, cfg)
	var id [16]byte
	auth := make([]byte, 32)
	rand.Read(id[:])
	rand.Read(auth)
	verifier := room.VerifierOf(auth)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	r := &blobsRoom{reg: &mreg, got: make(chan string, 4*n)}
	enter := func(typ string, handle func(*inMsg)) (*signaling, string) {
		s, err := dialSignaling(ctx, Config{}, url, handle)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.close)
		m := outMsg{Type: typ, Room: b64.EncodeToString(id[:]), Auth: b64.EncodeToString(auth)}
		if typ == "create" {
			m.Auth, m.Verifier = "", b64.EncodeToString(verifier[:])
		}
		j, err := s.call(ctx, m)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return s, j.Self
	}
	s, self := enter("create", func(*inMsg) {})
	r.sender, r.self = &Client{sig: s}, self
	for i := range n {
		_, me := enter("join", func(m *inMsg) {
			if m.Type == "blob" {
				r.got <- fmt.Sprint(i, " ", m.From, " ", m.Data)
			}
		})
		r.receivers = append(r.receivers, me)
	}
	return r
}

// expect waits for exactly the blobs want (any order), and then for no
// more within a moment.
func (r *blobsRoom) expect(t *testing.T, want map[string]bool) {
	t.Helper()
	for len(want) > 0 {
		select {
		case g := <-r.got:
			if !want[g] {
				t.Fatalf("unexpected blob %q", g)
			}
			delete(want, g)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d blobs never came", len(want))
		}
	}
	select {
	case g := <-r.got:
		t.Fatalf("unexpected blob %q", g)
	case <-time.After(100 * time.Millisecond):
	}
}

// sendBlobs reaches every member with its own item, in batches of at most
// maxBlobsItems: here 60 members, so two messages, neither refused.
func TestSendBlobsSplitsBatches(t *testing.T) {
	r := newBlobsRoom(t, 60, signal.Config{})
	items := make([]blobItem, len(r.receivers))
	want := map[string]bool{}
	for i, to := range r.receivers {
		items[i] = blobItem{To: to, Data: b64.EncodeToString([]byte(fmt.Sprint("item ", i)))}
		want[fmt.Sprint(i, " ", r.self, " ", items[i].Data)] = true
	}
	if err := r.sender.sendBlobs(items); err != nil {
		t.Fatal(err)
	}
	r.expect(t, want)
	var b strings.Builder
	r.reg.WriteTo(&b)
	if !strings.Contains(b.String(), `sotto_messages_total{type="blobs"} 2`) {
		t.Fatalf("want 2 blobs messages for 60 items:\n%s", b.String())
	}
}

// A batch the server refuses with too_many_blobs (it went to nobody) is
// sent again, whole, after helloRetry, and then delivered once.
func TestSendBlobsRetriesRefusedBatch(t *testing.T) {
	defer func(r []time.Duration) { helloRetry = r }(helloRetry)
	helloRetry = []time.Duration{time.Second}
	data := strings.Repeat("A", 99) // with the tag, 100 characters of base64url
	// Room for one batch of two; refilled within half a second.
	burst := 2 * (1 + len(data) + 64)
	r := newBlobsRoom(t, 2, signal.Config{BlobBurst: burst, BlobRate: float64(2 * burst)})
	batch := func(tag string) ([]blobItem, map[string]bool) {
		items := []blobItem{{To: r.receivers[0], Data: tag + data}, {To: r.receivers[1], Data: tag + data}}
		want := map[string]bool{}
		for i, it := range items {
			want[fmt.Sprint(i, " ", r.self, " ", it.Data)] = true
		}
		return items, want
	}
	first, want1 := batch("B")
	second, want2 := batch("C")
	for k := range want2 {
		want1[k] = true
	}
	if err := r.sender.sendBlobs(first); err != nil {
		t.Fatal(err)
	}
	if err := r.sender.sendBlobs(second); err != nil { // over the budget until it refills
		t.Fatal(err)
	}
	r.expect(t, want1)
	var b strings.Builder
	r.reg.WriteTo(&b)
	if !strings.Contains(b.String(), `sotto_rejections_total{reason="too_many_blobs"} 1`) ||
		!strings.Contains(b.String(), `sotto_messages_total{type="blobs"} 3`) {
		t.Fatalf("want one refusal and three blobs messages:\n%s", b.String())
	}
}

// startSignal serves a signaling server of cfg for the test and returns its
// WebSocket URL; it is shut down when the test ends.
func startSignal(t *testing.T, cfg signal.Config) string {
	t.Helper()
	srv := signal.NewServer(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}
