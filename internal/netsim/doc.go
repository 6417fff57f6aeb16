// Package netsim impairs traffic in user space, for trying and testing
// Sotto on bad networks where the kernel has no netem: a UDP relay (voice)
// and a TCP relay (the app, the WebSocket and ICE-TCP) sit in front of the
// server, and each direction of each relay loses, delays, reorders, rate
// limits or blocks what crosses it as its Impairment says. The models and
// their math are in docs/netsim.md.
package netsim
