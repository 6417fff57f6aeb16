// Stand-ins for an encoded transform's streams, shared by the worker tests
// (worker.test.mjs, worker_v2.test.mjs) that drive static/js/e2ee/worker.js.

// encodedFrame stands in for RTCEncodedAudioFrame: the worker only uses .data.
export function encodedFrame(bytes) {
  return { data: bytes.slice().buffer, timestamp: 0 };
}

// streams returns a readable that yields frames as we push them and a
// writable that collects what the transform lets through.
export function streams() {
  let push;
  let close;
  const readable = new ReadableStream({ start(c) { push = (f) => c.enqueue(f); close = () => c.close(); } });
  const out = [];
  let done;
  const finished = new Promise((r) => { done = r; });
  const writable = new WritableStream({ write(f) { out.push(new Uint8Array(f.data)); }, close() { done(); } });
  return { readable, writable, push, close, out, finished };
}
