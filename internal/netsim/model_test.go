package netsim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// modelPackets is how many packets the model tests draw: enough that the
// tolerances below are several standard deviations wide.
const modelPackets = 100_000

func testRand() *rand.Rand { return rand.New(rand.NewPCG(16, 1)) }

// runs draws modelPackets fates and returns the loss rate and the mean
// length of runs of consecutive losses.
func runs(t *testing.T, imp Impairment) (rate, meanBurst float64) {
	t.Helper()
	if err := imp.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := testRand()
	var s lossState
	lost, bursts, inBurst := 0, 0, false
	for range modelPackets {
		l := s.lose(&imp, rng)
		if l {
			lost++
			if !inBurst {
				bursts++
			}
		}
		inBurst = l
	}
	if bursts == 0 {
		return 0, 0
	}
	return float64(lost) / modelPackets, float64(lost) / float64(bursts)
}

func TestIndependentLossRate(t *testing.T) {
	for _, p := range []float64{0.01, 0.1, 0.3} {
		rate, burst := runs(t, Impairment{Loss: p})
		// Standard deviation sqrt(p(1-p)/n) is at most 0.0016 here.
		if math.Abs(rate-p) > 0.01 {
			t.Errorf("loss %v: measured %v", p, rate)
		}
		// Independent losses run 1/(1-p) long on average.
		if want := 1 / (1 - p); math.Abs(burst-want)/want > 0.05 {
			t.Errorf("loss %v: mean run %v, want %v", p, burst, want)
		}
	}
	if rate, _ := runs(t, Impairment{}); rate != 0 {
		t.Errorf("no loss configured, measured %v", rate)
	}
}

func TestGilbertElliottRateAndBurst(t *testing.T) {
	for _, tc := range []struct{ p, burst float64 }{{0.1, 3}, {0.05, 1}, {0.2, 5}, {0.3, 2}} {
		rate, burst := runs(t, Impairment{Loss: tc.p, BurstLen: tc.burst})
		if math.Abs(rate-tc.p)/tc.p > 0.1 {
			t.Errorf("loss %v burst %v: measured loss %v", tc.p, tc.burst, rate)
		}
		if math.Abs(burst-tc.burst)/tc.burst > 0.1 {
			t.Errorf("loss %v burst %v: measured mean burst %v", tc.p, tc.burst, burst)
		}
	}
}

func TestGilbertElliottTransitions(t *testing.T) {
	q, r := geTransitions(0.1, 4)
	if r != 0.25 || math.Abs(q-0.1*0.25/0.9) > 1e-12 {
		t.Fatalf("q, r = %v, %v", q, r)
	}
	// The stationary share of Bad is the loss rate.
	if got := q / (q + r); math.Abs(got-0.1) > 1e-12 {
		t.Fatalf("stationary loss %v, want 0.1", got)
	}
}

func TestValidate(t *testing.T) {
	bad := []Impairment{
		{Loss: -0.1}, {Loss: 1.5}, {Loss: math.NaN()},
		{Loss: 0.1, BurstLen: 0.5},
		{Loss: 0.6, BurstLen: 1}, // a burst of 1 cannot reach 60% loss: needs 1.5
		{Loss: 1, BurstLen: 2},
		{Delay: -time.Millisecond}, {Jitter: -time.Millisecond},
		{Delay: MaxLatency, Jitter: time.Millisecond},
		{JitterDist: 7}, {RateBits: -1}, {QueueBytes: -1},
	}
	for _, imp := range bad {
		if imp.Validate() == nil {
			t.Errorf("%+v: accepted", imp)
		}
	}
	good := []Impairment{{}, {Loss: 1}, {Loss: 0.6, BurstLen: 1.5}, {Loss: 0.1, BurstLen: 3, Delay: time.Second, Jitter: time.Second, JitterDist: Normal, RateBits: 32000, Block: true}}
	for _, imp := range good {
		if err := imp.Validate(); err != nil {
			t.Errorf("%+v: %v", imp, err)
		}
	}
	if (Config{Down: Impairment{Loss: 2}}).Validate() == nil {
		t.Error("a bad down direction was accepted")
	}
}

func TestTokenBucketRate(t *testing.T) {
	const (
		rate     = 320_000 // bits/s
		pkt      = 200     // bytes
		every    = time.Millisecond
		interval = 10 * time.Second
		queue    = 8000
	)
	// Offered: 1.6 Mb/s, five times the cap, for a simulated interval.
	var b tokenBucket
	start := time.Unix(1_000_000, 0)
	end := start.Add(interval)
	var delivered, dropped int
	maxWait := time.Duration(0)
	for now := start; now.Before(end); now = now.Add(every) {
		wait, ok := b.admit(now, pkt, rate, queue)
		if !ok {
			dropped++
			continue
		}
		maxWait = max(maxWait, wait)
		if !now.Add(wait).After(end) {
			delivered += pkt
		}
	}
	want := float64(rate) / 8 * interval.Seconds()
	if math.Abs(float64(delivered)-want)/want > 0.02 {
		t.Errorf("delivered %d bytes in %v, want %.0f (a %d bit/s cap)", delivered, interval, want, rate)
	}
	if dropped == 0 {
		t.Error("five times the rate was offered and nothing was dropped")
	}
	// The queue bounds the wait: queue bytes at the rate (plus one packet).
	if limit := time.Duration(float64(queue+pkt) / (rate / 8) * float64(time.Second)); maxWait > limit {
		t.Errorf("a packet waited %v, more than the queue allows (%v)", maxWait, limit)
	}
	// Under the cap nothing waits or drops.
	var idle tokenBucket
	for i := range 1000 {
		if wait, ok := idle.admit(start.Add(time.Duration(i)*10*time.Millisecond), pkt, rate, queue); !ok || wait != 0 {
			t.Fatalf("packet %d under the cap: wait %v ok %v", i, wait, ok)
		}
	}
}

func TestDefaultQueue(t *testing.T) {
	if got := (Impairment{RateBits: 8_000_000}).queueBytes(); got != 200_000 {
		t.Errorf("8 Mb/s: queue %d bytes, want 200000 (DefaultQueueTime's worth)", got)
	}
	if got := (Impairment{RateBits: 32_000}).queueBytes(); got != MinQueueBytes {
		t.Errorf("32 kb/s: queue %d bytes, want MinQueueBytes", got)
	}
	if got := (Impairment{RateBits: 32_000, QueueBytes: 3000}).queueBytes(); got != 3000 {
		t.Errorf("explicit queue: %d", got)
	}
}

func TestLatency(t *testing.T) {
	for _, dist := range []JitterDist{Uniform, Normal} {
		imp := Impairment{Delay: 100 * time.Millisecond, Jitter: 30 * time.Millisecond, JitterDist: dist}
		rng := testRand()
		var sum, sq float64
		for range modelPackets {
			d := latency(&imp, rng)
			if d < 0 || (dist == Uniform && (d < 70*time.Millisecond || d > 130*time.Millisecond)) {
				t.Fatalf("dist %d: delay %v out of range", dist, d)
			}
			ms := d.Seconds() * 1000
			sum += ms
			sq += ms * ms
		}
		mean := sum / modelPackets
		sd := math.Sqrt(sq/modelPackets - mean*mean)
		wantSD := 30.0 // Normal: the jitter; Uniform on ±30: 30/sqrt(3)
		if dist == Uniform {
			wantSD = 30 / math.Sqrt(3)
		}
		if math.Abs(mean-100) > 1 || math.Abs(sd-wantSD)/wantSD > 0.05 {
			t.Errorf("dist %d: mean %.2f ms sd %.2f ms, want 100 and %.2f", dist, mean, sd, wantSD)
		}
	}
}

// inversions counts packets that leave before one admitted ahead of them.
func inversions(t *testing.T, reorder bool) int {
	t.Helper()
	l := newLink(Impairment{Delay: 50 * time.Millisecond, Jitter: 40 * time.Millisecond, Reorder: reorder}, 16, streamUp)
	now := time.Unix(1_000_000, 0)
	var last time.Time
	n := 0
	for range 10_000 {
		now = now.Add(time.Millisecond)
		due, v := l.admitDatagram(now, 100)
		if v != pass {
			t.Fatalf("verdict %d with no loss", v)
		}
		if due.Before(last) {
			n++
		}
		last = due
	}
	return n
}

func TestFIFOAndReorderDueTimes(t *testing.T) {
	if n := inversions(t, false); n != 0 {
		t.Errorf("FIFO mode: %d packets would overtake", n)
	}
	if n := inversions(t, true); n < 1000 {
		t.Errorf("reorder mode with 40 ms jitter on 1 ms spacing: only %d of 10000 overtake", n)
	}
}
