// The watchdogs' decision, free of browser APIs so Node can test it.
//
// If frames cross the network without passing through our transform (an
// attach that silently failed), RTP packets are counted while the
// transform's frame count stands still:
//   sender side:   outbound-rtp.packetsSent grows, the worker emits no frame:
//                  those packets may carry plaintext audio, stop sending.
//   receiver side: inbound-rtp.packetsReceived grows, the worker sees no
//                  frame: still-encrypted frames reach the decoder as loud
//                  noise (seen in Chromium 156 with RTCRtpScriptTransform on
//                  both directions of one connection), mute the track.

// Packets that may be counted without a matching frame in one interval,
// because getStats and the worker's counters are read a few ms apart
// (5 packets = 100 ms of 20 ms Opus frames).
export const WATCHDOG_SLACK_PACKETS = 5;
// How often attach.js samples, in ms.
export const WATCHDOG_INTERVAL_MS = 1000;

/**
 * decideWatchdog compares two samples { packets, frames } taken one interval
 * apart: packets from getStats (packetsSent or packetsReceived), frames from
 * the worker (frames its transform handled for that direction). Both count
 * from zero when the connection and the worker start, so a missing prev
 * (the first sample) is compared with zero.
 * Returns { stop: boolean, reason: string }.
 */
export function decideWatchdog(prev, cur) {
  prev = prev ?? { packets: 0, frames: 0 };
  if (!valid(prev) || !valid(cur)) return { stop: false, reason: 'no sample' };
  const packets = cur.packets - prev.packets;
  const frames = cur.frames - prev.frames;
  // A counter that went backwards was reset (new sender or worker): start over.
  if (packets < 0 || frames < 0) return { stop: false, reason: 'counter reset' };
  if (frames === 0 && packets > WATCHDOG_SLACK_PACKETS) {
    return { stop: true, reason: `${packets} packets went by while the transform handled no frame` };
  }
  return { stop: false, reason: 'ok' };
}

function valid(s) {
  return Number.isFinite(s?.packets) && Number.isFinite(s?.frames);
}
