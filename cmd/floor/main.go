// Command floor measures the machine's floor for forwarding media: the CPU
// time per packet of a sender that only SRTP-protects and sends, in make
// bench-sfu's shape, with one sendto per packet and with sendmmsg per
// fan-out, each in a fresh process (internal/floorbench).
//
// Its last line is always
//
//	floor us/pkt: sendto <x> sendmmsg <y>
//
// with 0 for a mode -mode left out.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"

	"sotto/internal/floorbench"
)

func main() {
	o := floorbench.DefaultOptions("")
	child := flag.String(floorbench.ChildFlag, "", "run as a measurement's `role` process (internal)")
	flag.IntVar(&o.Rooms, "rooms", o.Rooms, "rooms, each with one talker")
	flag.IntVar(&o.Listeners, "listeners", o.Listeners, "listeners per room")
	flag.IntVar(&o.PPS, "pps", o.PPS, "packets per second per talker (Opus at 20 ms: 50)")
	flag.DurationVar(&o.Duration, "duration", o.Duration, "how long the talkers talk")
	flag.IntVar(&o.Payload, "payload", o.Payload, "payload bytes per packet")
	modes := flag.String("mode", strings.Join(floorbench.Modes, ","), "send modes to measure, comma-separated")
	flag.Parse()
	log.SetFlags(0)
	if *child != "" {
		if err := floorbench.ServeChild(*child, os.Stdin, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}

	fmt.Printf("floor: %d rooms x %d listeners, %d pkt/s per talker, %d-byte payload, %v; GOMAXPROCS=%d\n",
		o.Rooms, o.Listeners, o.PPS, o.Payload, o.Duration, runtime.GOMAXPROCS(0))
	us := map[string]float64{}
	for _, mode := range strings.Split(*modes, ",") {
		o.Mode = mode
		r, err := floorbench.Measure(o)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Report())
		if r.Broken != 0 || r.Reordered != 0 {
			log.Fatalf("floor %s: %d damaged and %d reordered packets", mode, r.Broken, r.Reordered)
		}
		us[mode] = r.USPerPacket()
	}
	fmt.Printf("floor us/pkt: %s %.2f %s %.2f\n",
		floorbench.ModeSendto, us[floorbench.ModeSendto], floorbench.ModeSendmmsg, us[floorbench.ModeSendmmsg])
}
