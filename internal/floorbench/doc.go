// Package floorbench measures the machine's floor for forwarding media: the
// CPU time per forwarded packet of a sender that does only what any SFU must
// do for each packet it forwards, and nothing else.
//
// cmd/loadgen says what Sotto's SFU costs per forwarded packet, and how that
// compares with a baseline forwarder; neither says how much of it is the
// machine's own price. This package pays that price alone, in the same shape
// as make bench-sfu: rooms, each with one talker sending a packet every
// 1/pps seconds to its room's listeners. For each talker packet and each
// listener it writes the payload behind a 12-byte RTP header (the listener's
// own SSRC, sequence number and timestamp), SRTP-protects it with the
// listener's context (AES-128-GCM, what browsers negotiate) into a reused
// buffer, and sends it from one UDP socket, either one sendto per packet or
// the whole fan-out of a talker packet in as few sendmmsg calls as it takes.
// There is no ICE, no DTLS, no RTCP, no receive path and no bookkeeping: a
// real SFU can approach this figure, not beat it.
//
// Each measurement runs its sender in a fresh process, so that it starts from
// an empty heap and its getrusage counts nothing else, and its receivers in
// another: 127.0.0.1 sockets, one per listener, that decrypt every packet
// with the listener's key and check it is bit for bit what was sent, in
// order, as loadgen's clients do. Run starts both by re-executing the running
// binary with -floorbench-child (ChildFlag); a binary that calls Run must
// hand that flag to ServeChild.
package floorbench
