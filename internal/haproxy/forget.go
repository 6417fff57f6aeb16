// Package haproxy is what a Sotto node of a cluster asks of HAProxy's
// runtime API: to forget a room, that is, drop the room id's entry from the
// stick table that routes /ws?r= (deploy/cluster/haproxy.cfg,
// docs/cluster.md "Forgetting a room"). The entry names the node that holds
// the room; once the room is gone from that node, the entry only keeps the
// id away from its place on the hash ring and fills the table.
//
// Forgetting is best effort: a forget that cannot be sent (the queue is
// full, HAProxy does not answer) leaves the entry to expire. Nothing here
// logs a room id, and the ids go out only to the configured address.
package haproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"sotto/internal/b64url"
	"sotto/metrics"
	"sotto/room"
)

// Limits of the forgetter.
const (
	// QueueLen is how many forgets may wait to be sent. Rooms empty at most
	// a few hundred a second on a busy node; a backlog past this means
	// HAProxy is not answering, and the entries are left to expire.
	QueueLen = 4096
	// MaxBatch is how many forgets go out on one connection, as one line of
	// commands separated by ";" (the runtime API runs each in turn).
	MaxBatch = 64
	// CallTimeout bounds one connection: dial, send, read the answers. The
	// runtime API answers at once; longer means it is gone.
	CallTimeout = 3 * time.Second
	// DefaultTable is the stick table of haproxy.cfg's backend.
	DefaultTable = "nodes"
)

// Results of a forget, as the metric's label and a done callback's
// argument.
const (
	ResultOK      = "ok"      // HAProxy dropped the entry (or had none)
	ResultFailed  = "failed"  // HAProxy could not be reached, or refused the command
	ResultDropped = "dropped" // the queue was full: not sent
)

// ParseAddr reads a runtime API address: tcp://host:port, unix:///path, or
// an absolute path of a Unix socket.
func ParseAddr(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "tcp://"):
		addr = strings.TrimPrefix(s, "tcp://")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", fmt.Errorf("runtime API address %q: want tcp://host:port", s)
		}
		return "tcp", addr, nil
	case strings.HasPrefix(s, "unix://"):
		addr = strings.TrimPrefix(s, "unix://")
	case strings.HasPrefix(s, "/"):
		addr = s
	}
	if !strings.HasPrefix(addr, "/") {
		return "", "", fmt.Errorf("runtime API address %q: want tcp://host:port, unix:///path or /path", s)
	}
	return "unix", addr, nil
}

// ValidTable reports why name cannot be a stick table's name on a command
// line: it is empty, or holds what would end the command or start another.
func ValidTable(name string) error {
	if name == "" || strings.ContainsAny(name, " ;\n\r\t") {
		return errors.New("haproxy: a table name is not empty and has no spaces or semicolons")
	}
	return nil
}

// request is one queued forget.
type request struct {
	id   room.ID
	done func(result string)
}

// Forgetter sends forgets to one HAProxy, in the order they were asked,
// from one goroutine.
type Forgetter struct {
	network, addr, table string
	queue                chan request
	results              *metrics.CounterVec
	cancel               context.CancelFunc
	stopped              chan struct{}
	closeOnce            sync.Once
}

// NewForgetter starts a forgetter for the runtime API at addr (see
// ParseAddr) and the stick table table ("" means DefaultTable). Its
// results are counted in m, if not nil, as sotto_lb_forgets_total{result}.
func NewForgetter(addr, table string, m *metrics.Registry) (*Forgetter, error) {
	network, a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if table == "" {
		table = DefaultTable
	}
	if err := ValidTable(table); err != nil {
		return nil, err
	}
	if m == nil {
		m = &metrics.Registry{} // counted, not exported
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Forgetter{
		network: network, addr: a, table: table,
		queue: make(chan request, QueueLen),
		results: m.CounterVec("sotto_lb_forgets_total",
			"Rooms this node asked HAProxy to forget, by result (dropped: the queue was full).",
			"result", ResultOK, ResultFailed, ResultDropped),
		cancel:  cancel,
		stopped: make(chan struct{}),
	}
	go f.run(ctx)
	return f, nil
}

// Forget queues a forget of id's stick entry; done, if not nil, is called
// with its result, on the forgetter's goroutine (or at once when it is
// dropped). It never blocks.
func (f *Forgetter) Forget(id room.ID, done func(result string)) {
	select {
	case f.queue <- request{id, done}:
	default:
		f.finish(request{id, done}, ResultDropped)
	}
}

// Close stops the forgetter: queued forgets end as failed. It waits for
// the goroutine.
func (f *Forgetter) Close() {
	f.closeOnce.Do(func() {
		f.cancel()
		<-f.stopped
	})
}

func (f *Forgetter) finish(r request, result string) {
	f.results.With(result).Inc()
	if r.done != nil {
		r.done(result)
	}
}

func (f *Forgetter) run(ctx context.Context) {
	defer close(f.stopped)
	for {
		var batch []request
		select {
		case <-ctx.Done():
			f.drain()
			return
		case r := <-f.queue:
			batch = append(batch, r)
		}
	more:
		for len(batch) < MaxBatch {
			select {
			case r := <-f.queue:
				batch = append(batch, r)
			default:
				break more
			}
		}
		results := f.send(ctx, batch)
		for i, r := range batch {
			f.finish(r, results[i])
		}
	}
}

// drain fails what is still queued (Close).
func (f *Forgetter) drain() {
	for {
		select {
		case r := <-f.queue:
			f.finish(r, ResultFailed)
		default:
			return
		}
	}
}

// send runs one line of "clear table" commands and returns each one's
// result. The runtime API answers a command that succeeded with nothing
// but an empty line, and one that failed with a message; a connection
// that fails fails them all.
func (f *Forgetter) send(ctx context.Context, batch []request) []string {
	results := make([]string, len(batch))
	for i := range results {
		results[i] = ResultFailed
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, f.network, f.addr)
	if err != nil {
		return results
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.Close() }) // Close does not wait for the deadline
	defer stop()
	cmds := make([]string, len(batch))
	for i, r := range batch {
		// A room id is 16 bytes in base64url: nothing in it can end a
		// command or start another.
		cmds[i] = "clear table " + f.table + " key " + b64url.Encoding.EncodeToString(r.id[:])
	}
	if _, err := io.WriteString(c, strings.Join(cmds, ";")+"\n"); err != nil {
		return results
	}
	// Each command's answer ends with an empty line; HAProxy closes the
	// connection after the last.
	br := bufio.NewReader(c)
	for i := range batch {
		answer, err := readAnswer(br)
		if err != nil {
			return results
		}
		if answer == "" {
			results[i] = ResultOK
		}
	}
	return results
}

// readAnswer reads one command's answer: the lines up to an empty one.
func readAnswer(br *bufio.Reader) (string, error) {
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, line)
	}
}
