package sfu

// What pion may keep per SSRC of one member's connection.
//
// pion's SRTP and SRTCP sessions make a read stream for every SSRC that
// arrives in an authenticated packet, and the PeerConnection keeps every RTP
// stream it cannot match to the offer (an SSRC no a=ssrc line names) until
// the connection closes: a packet buffer, SRTP state, an RTCP stream beside
// it and an ERROR line in the log, about 3.5 KB each, more as packets fill
// the buffer. Nothing in pion bounds how many.
// A member whose session is up could send a new SSRC in every packet and
// grow the server's memory by megabytes a second.
//
// Every such stream takes its buffer from the connection's buffer factory,
// whatever pion then does with it, so that is where they are counted: a
// connection that asks for more than maxRemoteStreams is ended, as if its
// member had left the media session, and pion's Close frees all of it.

import (
	"io"

	"github.com/pion/transport/v5/packetio"
)

const (
	// maxRemoteStreams bounds the SRTP plus SRTCP read streams of one
	// connection. An honest client needs about four: its microphone's RTP
	// and RTCP, RTCP about the floor track, and its own receiver SSRC in its
	// reports. 16 leaves room for a client that re-adds its microphone
	// track a few times on one connection, and bounds what a connection
	// holds to 16 buffers.
	maxRemoteStreams = 16

	// rtpBufferLimit is how much RTP one stream buffers before pion drops
	// packets (pion's own default is 1 MB, sized for video). The mic reader
	// drains it continuously; 64 KiB holds a second of the largest Opus
	// frames and several seconds of usual ones, and a reader that far behind
	// has lost the conversation anyway.
	rtpBufferLimit = 64 << 10

	// rtcpBufferLimit is the same for RTCP (pion: 100 kB): reports come
	// every few seconds and are about 100 bytes.
	rtcpBufferLimit = 16 << 10
)

// newBuffer is the connection's buffer factory (SettingEngine.BufferFactory),
// called by pion for every read stream it makes, from its SRTP read loop.
func (p *peer) newBuffer(kind packetio.BufferPacketType, _ uint32) io.ReadWriteCloser {
	b := streamBuffer{packetio.NewBuffer()}
	if kind == packetio.RTCPBufferPacket {
		b.SetLimitSize(rtcpBufferLimit)
	} else {
		b.SetLimitSize(rtpBufferLimit)
	}
	if p.streams.Add(1) > maxRemoteStreams {
		// A closed buffer keeps nothing; the stream's packets are dropped.
		_ = b.Close()
		if p.ending.CompareAndSwap(false, true) {
			p.sfu.ended.Add(1)
			// Not here: closing waits for the read loop that called us.
			go p.sfu.end(p)
		}
	}
	return b
}

// streamBuffer is a packetio.Buffer as the BufferFactory must return it: an
// io.ReadWriteCloser (transport/v5's Buffer reads and writes with packet
// attributes), keeping the attribute-carrying methods and the read deadline
// that pion's SRTP streams look for.
type streamBuffer struct{ *packetio.Buffer }

func (b streamBuffer) Read(p []byte) (int, error) {
	n, _, err := b.Buffer.Read(p, nil)
	return n, err
}

func (b streamBuffer) Write(p []byte) (int, error) { return b.Buffer.Write(p, nil) }

func (b streamBuffer) ReadWithAttributes(p []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(p, a)
}

func (b streamBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	return b.Buffer.Write(p, a)
}
