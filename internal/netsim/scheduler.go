package netsim

import (
	"container/heap"
	"sync"
	"time"
)

// MaxPending bounds the datagrams one direction of the UDP relay holds for
// their delay: at a second's delay it is room for ~40 Opus streams, and it
// caps the relay's memory at MaxPending*MaxDatagram per direction whatever
// a sender does.
const MaxPending = 2048

// scheduler sends datagrams when they are due, in order of due time and,
// among equal times, of arrival: one goroutine sends them all, so FIFO mode
// (non-decreasing due times) is kept exactly.
type scheduler struct {
	mu    sync.Mutex
	q     pending
	seq   uint64
	wake  chan struct{} // a push that may have moved the head
	done  chan struct{}
	limit int
}

type pendingItem struct {
	due  time.Time
	seq  uint64
	send func()
}

// pending is a min-heap by (due, seq).
type pending []pendingItem

func (p pending) Len() int { return len(p) }
func (p pending) Less(i, j int) bool {
	if !p[i].due.Equal(p[j].due) {
		return p[i].due.Before(p[j].due)
	}
	return p[i].seq < p[j].seq
}
func (p pending) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)   { *p = append(*p, x.(pendingItem)) }
func (p *pending) Pop() any {
	old := *p
	it := old[len(old)-1]
	old[len(old)-1] = pendingItem{}
	*p = old[:len(old)-1]
	return it
}

func newScheduler(limit int, done chan struct{}) *scheduler {
	return &scheduler{wake: make(chan struct{}, 1), done: done, limit: limit}
}

// push schedules send at due; false if limit datagrams already wait.
func (s *scheduler) push(due time.Time, send func()) bool {
	s.mu.Lock()
	if len(s.q) >= s.limit {
		s.mu.Unlock()
		return false
	}
	s.seq++
	heap.Push(&s.q, pendingItem{due: due, seq: s.seq, send: send})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// len is how many datagrams wait.
func (s *scheduler) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q)
}

// run sends what comes due until done is closed; what still waits then is
// dropped with the relay.
func (s *scheduler) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var wait time.Duration
		if len(s.q) > 0 {
			wait = time.Until(s.q[0].due)
			if wait <= 0 {
				it := heap.Pop(&s.q).(pendingItem)
				s.mu.Unlock()
				it.send()
				continue
			}
		}
		empty := len(s.q) == 0
		s.mu.Unlock()
		var fire <-chan time.Time
		if !empty {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-fire:
		}
		timer.Stop()
	}
}
