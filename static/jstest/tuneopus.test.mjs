// The offer the app sends: Opus with FEC, DTX and NACK on every Opus payload
// type, whatever the browser wrote (issue 16: without NACK in the offer a
// listener never asks the server to resend what its downlink lost).
import test from 'node:test';
import assert from 'node:assert/strict';
import { tuneOpus } from '../js/media.js';

// What Chromium 156 offers for one audio transceiver (the lines that matter).
const chromium = [
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  '',
].join('\r\n');

const lines = (sdp) => sdp.split(/\r?\n/);

test('Opus gets NACK, FEC and DTX; other lines stay', () => {
  const out = lines(tuneOpus(chromium));
  assert.ok(out.includes('a=rtcp-fb:111 nack'), out.join('\n'));
  assert.ok(out.includes('a=rtcp-fb:111 transport-cc'));
  assert.ok(out.includes('a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1'));
  assert.ok(out.includes('a=fmtp:63 111/111'));
  assert.equal(out.filter((l) => l.startsWith('a=rtcp-fb:63')).length, 0, 'RED gets nothing');
});

test('tuning twice changes nothing more', () => {
  const once = tuneOpus(chromium);
  assert.equal(tuneOpus(once), once);
  assert.equal(lines(once).filter((l) => l === 'a=rtcp-fb:111 nack').length, 1);
});

test('an Opus line without fmtp gets both, with the same line ends', () => {
  const sdp = 'm=audio 9 UDP/TLS/RTP/SAVPF 109\na=rtpmap:109 opus/48000/2\na=sendrecv\n';
  const out = tuneOpus(sdp);
  assert.ok(!out.includes('\r'), 'LF stays LF');
  assert.deepEqual(lines(out).filter((l) => l.includes(':109 ')).sort(),
    ['a=fmtp:109 useinbandfec=1;usedtx=1', 'a=rtcp-fb:109 nack', 'a=rtpmap:109 opus/48000/2']);
});

test('an SDP without Opus is left alone', () => {
  const sdp = 'm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n';
  assert.equal(tuneOpus(sdp), sdp);
});
