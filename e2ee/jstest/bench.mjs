// Frames per second of the browser module's encrypt and decrypt of 80-byte
// frames in Node (WebCrypto), one frame at a time as a transform stream
// processes them. Usage: node e2ee/jstest/bench.mjs [seconds per test, default 3]

import { deriveRoomKeys, newSecret } from '../../static/js/e2ee/keys.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';

const seconds = Number(process.argv[2] ?? 3);
const FRAME_SIZE = 80;
const PHONE_NEEDS = 50; // frames/s of one 20 ms Opus stream

const k = await deriveRoomKeys(newSecret());
const snd = await Sender.create(k.media);
const rcv = new Receiver(k.media);
await rcv.addSender(snd.kid);
const pt = new Uint8Array(FRAME_SIZE).fill(7);
pt[0] = 0xfc;

async function run(name, fn) {
  for (let i = 0; i < 2000; i++) await fn(); // warm up
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
  }
  const fps = n / ((performance.now() - start) / 1000);
  console.log(`${name}: ${Math.round(fps)} frames/s (${(1e6 / fps).toFixed(1)} µs/frame, ${Math.round(fps / PHONE_NEEDS)}x the ${PHONE_NEEDS} frames/s one stream needs)`);
}

console.log(`node ${process.version}, ${FRAME_SIZE}-byte frames, ${seconds} s per test`);
await run('encrypt', () => snd.encrypt(pt));

// Decrypt distinct frames (a frame decrypts only once), made in advance.
const frames = [];
for (let i = 0; i < 50000; i++) frames.push(await snd.encrypt(pt));
let i = 0;
await run('decrypt', async () => {
  if (i === frames.length) {
    // Out of fresh frames: start a new receiver window outside the hot path.
    rcv.removeSender(snd.kid);
    await rcv.addSender(snd.kid);
    i = 0;
  }
  await rcv.decrypt(frames[i++]);
});
