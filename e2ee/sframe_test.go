package e2ee

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// pair returns a sender and a receiver that knows it.
func pair(t testing.TB) (*Sender, *Receiver) {
	t.Helper()
	k, err := DeriveRoomKeys(NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	snd, err := NewSender(k.Media[:], NewKID())
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := NewReceiver(k.Media[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.AddSender(snd.KID()); err != nil {
		t.Fatal(err)
	}
	return snd, rcv
}

func frame(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

func TestRoundTripManyFrames(t *testing.T) {
	snd, rcv := pair(t)
	// 70000 frames takes the CTR through 1-, 2- and 3-byte encodings.
	for i := 0; i < 70000; i++ {
		pt := frame(1 + i%200)
		ct, err := snd.Encrypt(nil, pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != len(pt)+len(AppendHeader(nil, snd.KID(), uint64(i)))+TagSize {
			t.Fatalf("frame %d: %d bytes, unexpected overhead", i, len(ct))
		}
		if ct[0] != pt[0] {
			t.Fatal("TOC byte not kept in clear")
		}
		if len(pt) > 8 && bytes.Contains(ct, pt[1:]) {
			t.Fatal("plaintext visible in the encrypted frame")
		}
		back, err := rcv.Decrypt(nil, ct)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func TestEmptyFramePassesThrough(t *testing.T) {
	snd, rcv := pair(t)
	out, err := snd.Encrypt(nil, nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("empty frame: %x, %v", out, err)
	}
	out, err = rcv.Decrypt(nil, []byte{})
	if err != nil || len(out) != 0 {
		t.Fatalf("empty frame: %x, %v", out, err)
	}
	// An empty frame uses no CTR: the next frame still gets CTR 0.
	ct, _ := snd.Encrypt(nil, []byte{0xfc})
	if _, ctr, _, _ := ParseHeader(ct[1:]); ctr != 0 {
		t.Fatalf("first real frame has CTR %d, want 0", ctr)
	}
}

func TestTOCOnlyFrameIsTagged(t *testing.T) {
	snd, rcv := pair(t)
	ct, err := snd.Encrypt(nil, []byte{0xfc})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(AppendHeader(nil, snd.KID(), 0)) + TagSize; len(ct) != want {
		t.Fatalf("1-byte frame encrypted to %d bytes, want %d", len(ct), want)
	}
	back, err := rcv.Decrypt(nil, ct)
	if err != nil || !bytes.Equal(back, []byte{0xfc}) {
		t.Fatalf("Decrypt = %x, %v", back, err)
	}
}

func TestSenderRefusesPastMaxCTR(t *testing.T) {
	snd, rcv := pair(t)
	snd.ctr = MaxCTR
	ct, err := snd.Encrypt(nil, frame(10))
	if err != nil {
		t.Fatalf("last CTR refused: %v", err)
	}
	if _, err := rcv.Decrypt(nil, ct); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		out, err := snd.Encrypt(nil, frame(10))
		if !errors.Is(err, ErrCTRExhausted) || out != nil {
			t.Fatalf("past MaxCTR: %x, %v", out, err)
		}
	}
}

func TestSenderCTRsUniqueUnderConcurrency(t *testing.T) {
	snd, _ := pair(t)
	const workers, each = 8, 500
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ct, err := snd.Encrypt(nil, frame(20))
				if err != nil {
					t.Error(err)
					return
				}
				_, ctr, _, _ := ParseHeader(ct[1:])
				mu.Lock()
				if seen[ctr] {
					t.Errorf("CTR %d used twice", ctr)
				}
				seen[ctr] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct CTRs, want %d", len(seen), workers*each)
	}
}

func TestReceiverSenderRegistration(t *testing.T) {
	snd, rcv := pair(t)
	ct, _ := snd.Encrypt(nil, frame(30))
	if _, err := rcv.Decrypt(nil, ct); err != nil {
		t.Fatal(err)
	}
	// Registering again must not reset the replay window.
	if err := rcv.AddSender(snd.KID()); err != nil {
		t.Fatal(err)
	}
	if _, err := rcv.Decrypt(nil, ct); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay after re-AddSender: %v", err)
	}
	rcv.RemoveSender(snd.KID())
	ct2, _ := snd.Encrypt(nil, frame(30))
	if _, err := rcv.Decrypt(nil, ct2); !errors.Is(err, ErrUnknownKID) {
		t.Fatalf("after RemoveSender: %v, want ErrUnknownKID", err)
	}
	if err := rcv.AddSender(MaxKID + 1); !errors.Is(err, ErrBadKID) {
		t.Fatalf("49-bit KID: %v", err)
	}
}

func TestReceiverCapsSenders(t *testing.T) {
	_, rcv := pair(t) // one registered already
	for kid := uint64(1); rcv.Senders() < MaxSenders; kid++ {
		if err := rcv.AddSender(kid); err != nil {
			t.Fatalf("sender %d: %v", rcv.Senders(), err)
		}
	}
	if err := rcv.AddSender(MaxKID); !errors.Is(err, ErrTooManySenders) {
		t.Fatalf("sender %d: %v, want ErrTooManySenders", MaxSenders+1, err)
	}
	rcv.RemoveSender(1)
	if err := rcv.AddSender(MaxKID); err != nil {
		t.Fatalf("after a removal: %v", err)
	}
}

func TestReceiverUnknownKIDBeforeAnyCrypto(t *testing.T) {
	_, rcv := pair(t)
	other, _ := pair(t)
	ct, _ := other.Encrypt(nil, frame(80))
	pt, err := rcv.Decrypt(nil, ct)
	if !errors.Is(err, ErrUnknownKID) || pt != nil {
		t.Fatalf("%x, %v", pt, err)
	}
}

func TestWrongLengthKeys(t *testing.T) {
	if _, err := NewSender(make([]byte, 16), 1); !errors.Is(err, ErrBadKey) {
		t.Errorf("NewSender: %v", err)
	}
	if _, err := NewReceiver(make([]byte, 33)); !errors.Is(err, ErrBadKey) {
		t.Errorf("NewReceiver: %v", err)
	}
	if _, err := NewSender(make([]byte, 32), MaxKID+1); !errors.Is(err, ErrBadKID) {
		t.Errorf("NewSender big KID: %v", err)
	}
}

func TestDecryptAppendsToDst(t *testing.T) {
	snd, rcv := pair(t)
	pt := frame(50)
	ct, _ := snd.Encrypt([]byte("pre"), pt)
	if string(ct[:3]) != "pre" {
		t.Fatal("Encrypt did not append to dst")
	}
	out, err := rcv.Decrypt([]byte("xy"), ct[3:])
	if err != nil || string(out[:2]) != "xy" || !bytes.Equal(out[2:], pt) {
		t.Fatalf("Decrypt did not append to dst: %v", err)
	}
}
