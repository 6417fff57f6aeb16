package sfutest

// Clients in another process. To measure what the server costs, the clients
// must not share its process: their own receive path (SRTP decryption, a
// syscall per packet) costs about as much as the server's send path and
// would blur every figure. Remote starts a child process that runs
// ServeClients, and relays signaling between the clients there and a Server
// here over the child's stdin and stdout, one JSON object per line.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"

	"sotto/room"
)

type wire struct {
	Op     string          `json:"op"`
	Seq    uint64          `json:"seq,omitempty"`
	ID     uuid.UUID       `json:"id"`
	Room   [16]byte        `json:"room"`
	Role   room.Role       `json:"role,omitempty"`
	Tag    byte            `json:"tag,omitempty"`
	TCP    bool            `json:"tcp,omitempty"`
	SDP    string          `json:"sdp,omitempty"`
	Cand   json.RawMessage `json:"cand,omitempty"`
	Err    string          `json:"err,omitempty"`
	First  uint32          `json:"first,omitempty"`
	N      int             `json:"n,omitempty"`
	PPS    int             `json:"pps,omitempty"`
	Counts []Count         `json:"counts,omitempty"`
}

// Count is what one client received.
type Count struct {
	ID        uuid.UUID `json:"id"`
	Received  uint64    `json:"r"`
	Broken    uint64    `json:"b,omitempty"`
	Reordered uint64    `json:"o,omitempty"`
}

// conn is one end of the pipe: serialized writes, replies matched by Seq.
type conn struct {
	mu    sync.Mutex
	enc   *json.Encoder
	seq   atomic.Uint64
	wmu   sync.Mutex
	waits map[uint64]chan wire
}

func newConn(w io.Writer) *conn {
	return &conn{enc: json.NewEncoder(w), waits: map[uint64]chan wire{}}
}

func (c *conn) send(m wire) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enc.Encode(m)
}

// call sends m with a new Seq and waits for the reply with the same Seq.
func (c *conn) call(ctx context.Context, m wire) (wire, error) {
	m.Seq = c.seq.Add(1)
	ch := make(chan wire, 1)
	c.wmu.Lock()
	c.waits[m.Seq] = ch
	c.wmu.Unlock()
	defer func() {
		c.wmu.Lock()
		delete(c.waits, m.Seq)
		c.wmu.Unlock()
	}()
	if err := c.send(m); err != nil {
		return wire{}, err
	}
	select {
	case r := <-ch:
		if r.Err != "" {
			return r, errors.New(r.Err)
		}
		return r, nil
	case <-ctx.Done():
		return wire{}, ctx.Err()
	}
}

func (c *conn) reply(m wire) {
	c.wmu.Lock()
	ch := c.waits[m.Seq]
	c.wmu.Unlock()
	if ch != nil {
		ch <- m
	}
}

func (c *conn) failAll(err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for seq, ch := range c.waits {
		ch <- wire{Seq: seq, Err: err.Error()}
		delete(c.waits, seq)
	}
}

func lines(r io.Reader) *bufio.Scanner {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 16<<20)
	return s
}

// Remote drives clients in a child process against a Server in this one.
type Remote struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	c    *conn
	srv  Server
	done chan struct{}
}

// StartRemote starts cmd, which must run ServeClients on its stdin and
// stdout, and serves its clients' signaling with srv.
func StartRemote(cmd *exec.Cmd, srv Server) (*Remote, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &Remote{cmd: cmd, in: in, c: newConn(in), srv: srv, done: make(chan struct{})}
	go r.read(out)
	return r, nil
}

func (r *Remote) read(out io.Reader) {
	defer close(r.done)
	s := lines(out)
	for s.Scan() {
		var m wire
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			continue
		}
		switch m.Op {
		case "offer":
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				id := m.ID
				answer, err := r.srv.Offer(ctx, m.Room, id, m.Role, m.SDP, func(c []byte) {
					_ = r.c.send(wire{Op: "cand", ID: id, Cand: c})
				})
				rep := wire{Op: "answer", Seq: m.Seq, SDP: answer}
				if err != nil {
					rep.Err = err.Error()
				}
				_ = r.c.send(rep)
			}()
		case "addcand":
			// In order, here: the client sends them after the answer.
			_ = r.srv.AddCandidate(m.Room, m.ID, m.Cand)
		case "done":
			r.c.reply(m)
		}
	}
	r.c.failAll(errors.New("client process ended"))
}

// Join connects a client in the child and waits until its media is up.
func (r *Remote) Join(ctx context.Context, roomID [16]byte, opts Options, tcp bool) (uuid.UUID, error) {
	id := opts.ID
	if id == uuid.Nil {
		id = uuid.New()
	}
	_, err := r.c.call(ctx, wire{Op: "join", ID: id, Room: roomID, Role: opts.Role, Tag: opts.Tag, TCP: tcp})
	return id, err
}

// Talk makes client id send n frames, counters first..first+n-1, at pps
// packets per second, and returns when they are sent.
func (r *Remote) Talk(ctx context.Context, id uuid.UUID, first uint32, n, pps int) error {
	_, err := r.c.call(ctx, wire{Op: "talk", ID: id, First: first, N: n, PPS: pps})
	return err
}

// Counts returns what every client received so far.
func (r *Remote) Counts(ctx context.Context) ([]Count, error) {
	m, err := r.c.call(ctx, wire{Op: "counts"})
	return m.Counts, err
}

// Leave closes client id's PeerConnection.
func (r *Remote) Leave(ctx context.Context, id uuid.UUID) error {
	_, err := r.c.call(ctx, wire{Op: "leave", ID: id})
	return err
}

// Close ends the child process (it closes its clients first).
func (r *Remote) Close() error {
	_ = r.in.Close()
	err := r.cmd.Wait()
	<-r.done
	return err
}

// ServeClients is the child's side: it runs clients as the parent says until
// in ends, then closes them all.
func ServeClients(in io.Reader, out io.Writer) error {
	p := &clientProc{c: newConn(out), clients: map[uuid.UUID]*Client{}, cands: map[uuid.UUID]func([]byte){}}
	var err error
	if p.tcp, err = NewAPI(true); err != nil {
		return err
	}
	var wg sync.WaitGroup
	s := lines(in)
	for s.Scan() {
		var m wire
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			return fmt.Errorf("sfutest: bad message: %w", err)
		}
		switch m.Op {
		case "answer":
			p.c.reply(m)
		case "cand":
			p.mu.Lock()
			f := p.cands[m.ID]
			p.mu.Unlock()
			if f != nil {
				f(m.Cand)
			}
		case "join", "talk", "leave":
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep := wire{Op: "done", Seq: m.Seq, ID: m.ID}
				if err := p.handle(m); err != nil {
					rep.Err = err.Error()
				}
				_ = p.c.send(rep)
			}()
		case "counts":
			_ = p.c.send(wire{Op: "done", Seq: m.Seq, Counts: p.counts()})
		}
	}
	p.c.failAll(errors.New("parent went away"))
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		_ = c.Close()
	}
	return s.Err()
}

type clientProc struct {
	c   *conn
	tcp *webrtc.API

	apiMu   sync.Mutex
	udp     *webrtc.API // the API the next UDP clients join with
	udpJoin int         // UDP clients joined so far

	mu      sync.Mutex
	clients map[uuid.UUID]*Client
	order   []uuid.UUID
	cands   map[uuid.UUID]func([]byte)
}

// api returns the API the next client joins with: every ClientsPerAddress
// UDP clients a new one on the next loopback address (loopbacknet.go).
// ICE-TCP clients all come from 127.0.0.1: the SFU checks no TCP address.
func (p *clientProc) api(tcp bool) (*webrtc.API, error) {
	if tcp {
		return p.tcp, nil
	}
	p.apiMu.Lock()
	defer p.apiMu.Unlock()
	if p.udpJoin%ClientsPerAddress == 0 {
		api, err := NewAPIOn(loopbackAddress(p.udpJoin / ClientsPerAddress))
		if err != nil {
			return nil, err
		}
		p.udp = api
	}
	p.udpJoin++
	return p.udp, nil
}

func (p *clientProc) handle(m wire) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch m.Op {
	case "join":
		api, err := p.api(m.TCP)
		if err != nil {
			return err
		}
		c, err := Join(ctx, api, (*relay)(p), m.Room, Options{ID: m.ID, Role: m.Role, Tag: m.Tag})
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.clients[c.ID] = c
		p.order = append(p.order, c.ID)
		p.mu.Unlock()
		return c.WaitConnected(ctx)
	case "talk":
		c := p.client(m.ID)
		if c == nil {
			return errNoMember
		}
		start := time.Now()
		for i := range m.N {
			if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(m.PPS))); wait > 0 {
				time.Sleep(wait)
			}
			if err := c.Send(m.First + uint32(i)); err != nil {
				return err
			}
		}
		return nil
	case "leave":
		c := p.client(m.ID)
		if c == nil {
			return errNoMember
		}
		p.mu.Lock()
		delete(p.clients, m.ID)
		delete(p.cands, m.ID)
		for i, id := range p.order {
			if id == m.ID {
				p.order = append(p.order[:i:i], p.order[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		return c.Close()
	}
	return nil
}

func (p *clientProc) client(id uuid.UUID) *Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clients[id]
}

func (p *clientProc) counts() []Count {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Count, 0, len(p.order))
	for _, id := range p.order {
		c := p.clients[id]
		r, b := c.Count()
		out = append(out, Count{ID: id, Received: r, Broken: b, Reordered: c.Reordered()})
	}
	return out
}

// relay is the Server the child's clients see: it forwards to the parent.
type relay clientProc

func (r *relay) Offer(ctx context.Context, roomID [16]byte, member uuid.UUID, role room.Role, sdp string,
	sendCandidate func([]byte),
) (string, error) {
	r.mu.Lock()
	r.cands[member] = sendCandidate
	r.mu.Unlock()
	m, err := r.c.call(ctx, wire{Op: "offer", ID: member, Room: roomID, Role: role, SDP: sdp})
	return m.SDP, err
}

func (r *relay) AddCandidate(roomID [16]byte, member uuid.UUID, candidateJSON []byte) error {
	return r.c.send(wire{Op: "addcand", ID: member, Room: roomID, Cand: candidateJSON})
}
