package signal

import (
	"testing"
	"time"

	"sotto/room"
)

// A holder that asks for the floor again the instant the talk-time cap
// releases it (issue 12 #7: it held the floor for all of 20 s while
// another member pressed 196 times) does not keep a waiting member from
// it: the waiter, pressing ten times a second, gets it within one talk
// limit and a second.
func TestFloorHogYieldsToWaiter(t *testing.T) {
	const limit = time.Second
	ts := startServer(t, Config{}, room.Config{TalkTimeLimit: limit})
	s := newSecrets()
	h, w, wj := roomOfTwo(t, ts, s)
	h.send(map[string]any{"type": "floor_request", "id": 1})
	h.expect(typeFloorGranted)
	w.expect(typeFloorGranted)
	start := time.Now()

	// The hog: asks again the moment it is released.
	stop := make(chan struct{})
	hogDone := make(chan struct{})
	go func() {
		defer close(hogDone)
		for id := uint32(2); ; {
			m, err := h.tryRead(limit + 3*time.Second)
			if err != nil {
				select {
				case <-stop:
				default:
					t.Errorf("hog: %v", err)
				}
				return
			}
			if m.Type == typeFloorReleased && m.memberID() != wj.Self && m.Reason == "timeout" {
				h.ws.WriteJSON(map[string]any{"type": "floor_request", "id": id})
				id++
			}
		}
	}()
	// The waiter presses ten times a second until the floor is its own.
	msgs := make(chan srvMsg, 64)
	go func() {
		defer close(msgs)
		for {
			m, err := w.tryRead(limit + 3*time.Second)
			if err != nil {
				return
			}
			msgs <- m
		}
	}()
	// Half a period out of step with the talk limit, so that no press
	// lands on a release by luck.
	time.Sleep(50 * time.Millisecond)
	press := time.NewTicker(100 * time.Millisecond)
	defer press.Stop()
	deadline := time.After(3 * (limit + time.Second))
	presses := 0
	var won time.Duration
wait:
	for {
		select {
		case <-press.C:
			presses++
			w.send(map[string]any{"type": "floor_request", "id": 1000 + presses})
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("the waiter's connection ended")
			}
			if m.Type == typeFloorGranted && m.memberID() == wj.Self {
				won = time.Since(start)
				break wait
			}
		case <-deadline:
			break wait
		}
	}
	close(stop)
	h.ws.Close()
	w.ws.Close()
	<-hogDone
	t.Logf("the waiter pressed %d times; it had the floor after %v", presses, won)
	if won == 0 || won > limit+time.Second {
		t.Fatalf("the waiter did not get the floor within %v (pressed %d times)", limit+time.Second, presses)
	}
}
