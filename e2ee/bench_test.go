package e2ee

import "testing"

// The hot path: one 80-byte Opus frame (about 32 kbit/s at 20 ms), with a
// reused output buffer as a media loop would use.

func BenchmarkEncrypt80(b *testing.B) {
	snd, _ := pair(b)
	pt := frame(80)
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(80)
	for b.Loop() {
		if _, err := snd.Encrypt(dst[:0], pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt80(b *testing.B) {
	snd, rcv := pair(b)
	// Frames can only be decrypted once (replay window), so encrypt a batch
	// up front and re-register the sender, outside the timer, to reuse it.
	const batch = 4096
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i], _ = snd.Encrypt(nil, frame(80))
	}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(80)
	i := 0
	for b.Loop() {
		if i == batch {
			b.StopTimer()
			rcv.RemoveSender(snd.KID())
			rcv.AddSender(snd.KID())
			i = 0
			b.StartTimer()
		}
		if _, err := rcv.Decrypt(dst[:0], frames[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
