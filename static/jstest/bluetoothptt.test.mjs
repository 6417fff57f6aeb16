// static/js/bluetoothptt.js and bluetoothpttweb.js: what a Bluetooth
// button's value means, the paired button's state (a press is a hold, a
// drop mid-press lets go, reconnects back off), and the Web Bluetooth
// adapter against a stand-in for navigator.bluetooth. Also the talk input's
// side of it (talkinput.js bluetoothDown/bluetoothUp).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  BluetoothButton, KNOWN_BUTTONS, MAX_DEVICE_NAME, RETRY_FIRST_MS, RETRY_MAX_MS, SERVICES,
  cleanDeviceName, decode, firstByteNonzero, retryDelay, statusText, uuid16,
} from '../../static/js/bluetoothptt.js';
import { choose, connect, forget, remembered, remembers, webBluetooth } from '../../static/js/bluetoothpttweb.js';
import { TalkInput } from '../../static/js/talkinput.js';

const FFE1 = uuid16(0xffe1);
const bytes = (...b) => Uint8Array.from(b);

test('the common button is service 0xFFE0, characteristic 0xFFE1, in the form Web Bluetooth reports', () => {
  assert.equal(uuid16(0xffe0), '0000ffe0-0000-1000-8000-00805f9b34fb');
  assert.equal(FFE1, '0000ffe1-0000-1000-8000-00805f9b34fb');
  assert.deepEqual(SERVICES, ['0000ffe0-0000-1000-8000-00805f9b34fb']);
  assert.equal(KNOWN_BUTTONS[0].characteristic, FFE1);
});

test('0xFFE1: 1 is pressed, 0 released; any other nonzero first byte is pressed; an empty value says nothing', () => {
  assert.equal(decode(FFE1, bytes(1)), true);
  assert.equal(decode(FFE1, bytes(0)), false);
  assert.equal(decode(FFE1, bytes(0x80, 0)), true);
  assert.equal(decode(FFE1, bytes(0, 1)), false);
  assert.equal(decode(FFE1, bytes()), null);
  assert.equal(firstByteNonzero(undefined), null);
  // An unknown characteristic gets the default decoding.
  assert.equal(decode(uuid16(0x1234), bytes(2)), true);
});

test('a press holds and a release lets go; only changes count', () => {
  const b = new BluetoothButton();
  assert.deepEqual(b.value(FFE1, bytes(1)), [], 'nothing before it is connected');
  b.connecting('PTT-Z');
  assert.deepEqual(b.value(FFE1, bytes(1)), [], 'nothing while connecting');
  b.connected();
  assert.deepEqual(b.value(FFE1, bytes(1)), [{ type: 'press' }]);
  assert.equal(b.pressed, true);
  assert.deepEqual(b.value(FFE1, bytes(1)), [], 'a repeated "pressed" is the same press');
  assert.deepEqual(b.value(FFE1, bytes()), [], 'an empty value changes nothing');
  assert.deepEqual(b.value(FFE1, bytes(0)), [{ type: 'release' }]);
  assert.deepEqual(b.value(FFE1, bytes(0)), []);
  assert.equal(b.pressed, false);
});

test('a drop mid-press lets go, then reconnect tries back off, and a connection resets them', () => {
  const b = new BluetoothButton();
  b.connecting('PTT-Z');
  b.connected();
  b.value(FFE1, bytes(1));
  assert.deepEqual(b.lost(), [{ type: 'release' }, { type: 'retry', ms: RETRY_FIRST_MS }]);
  assert.equal(b.state, 'lost');
  assert.equal(b.pressed, false);
  b.connecting('PTT-Z');
  assert.deepEqual(b.lost(), [{ type: 'retry', ms: 2 * RETRY_FIRST_MS }], 'nothing held: nothing to let go');
  b.connecting('PTT-Z');
  assert.deepEqual(b.lost(), [{ type: 'retry', ms: 4 * RETRY_FIRST_MS }]);
  b.connecting('PTT-Z');
  b.connected();
  assert.deepEqual(b.lost(), [{ type: 'retry', ms: RETRY_FIRST_MS }]);
});

test('stop lets go of a held press and schedules nothing; a lost report after stop is ignored', () => {
  const b = new BluetoothButton();
  b.connecting('x');
  b.connected();
  b.value(FFE1, bytes(1));
  assert.deepEqual(b.stop(), [{ type: 'release' }]);
  assert.equal(b.state, 'none');
  assert.deepEqual(b.lost(), []);
  assert.deepEqual(b.stop(), []);
});

test('reconnect waits double from 1 s up to 30 s, and never stop', () => {
  assert.equal(retryDelay(0), 1000);
  assert.equal(retryDelay(1), 2000);
  assert.equal(retryDelay(4), 16000);
  assert.equal(retryDelay(5), RETRY_MAX_MS);
  assert.equal(retryDelay(1e6), RETRY_MAX_MS);
  assert.equal(retryDelay(-1), RETRY_FIRST_MS);
});

test('a button name is shown clean and short', () => {
  assert.equal(cleanDeviceName('PTT-Z\u202E\u0007  clip'), 'PTT-Z clip');
  assert.equal([...cleanDeviceName('x'.repeat(300))].length, MAX_DEVICE_NAME);
  assert.equal(cleanDeviceName(''), 'The Bluetooth button');
  assert.equal(cleanDeviceName(undefined), 'The Bluetooth button');
});

test('the note says what to do in every state', () => {
  assert.match(statusText({ state: 'unsupported' }), /no Web Bluetooth.*Safari on iPhone.*Firefox/);
  assert.match(statusText({ state: 'none' }), /pair it, then hold it to talk/);
  assert.equal(statusText({ state: 'connecting', name: 'PTT-Z' }), 'Connecting to PTT-Z…');
  assert.match(statusText({ state: 'connected', name: 'PTT-Z' }), /^PTT-Z is connected: hold it to talk\. Only this device/);
  assert.match(statusText({ state: 'connected', name: 'PTT-Z', remembers: false }), /forgets it when the page closes/);
  assert.equal(statusText({ state: 'lost', name: 'PTT-Z', retryMs: 4000 }), 'PTT-Z is out of reach. Trying again in 4 s.');
});

test('the talk input: a Bluetooth button is held like a finger, a tap in hands-free', () => {
  const input = new TalkInput();
  assert.deepEqual(input.bluetoothDown({ active: false, handsFree: false }), [], 'not in a room');
  assert.deepEqual(input.bluetoothDown({ active: true, handsFree: false }), [{ type: 'down', latch: false }]);
  assert.deepEqual(input.bluetoothDown({ active: true, handsFree: false }), []);
  assert.deepEqual(input.bluetoothUp(), [{ type: 'up' }]);
  assert.deepEqual(input.bluetoothUp(), []);

  // With a key held as well, the turn lasts until both are up.
  input.bluetoothDown({ active: true, handsFree: false });
  input.keyDown({ code: 'Space', talkKey: 'Space', target: 'page', active: true, handsFree: false });
  assert.deepEqual(input.bluetoothUp(), []);
  assert.deepEqual(input.keyUp({ code: 'Space' }), [{ type: 'prevent' }, { type: 'up' }]);

  // Hands-free: each press toggles; the release means nothing.
  assert.deepEqual(input.bluetoothDown({ active: true, handsFree: true }), [{ type: 'down', latch: true }]);
  assert.deepEqual(input.bluetoothUp(), []);
  assert.deepEqual(input.bluetoothDown({ active: true, handsFree: true }), [{ type: 'up' }]);

  // release (a hidden page, Leave) lets go of a held Bluetooth button too.
  input.bluetoothDown({ active: true, handsFree: false });
  assert.deepEqual(input.release(), [{ type: 'up' }]);
  assert.deepEqual(input.bluetoothUp(), []);
});

// A stand-in for Web Bluetooth: one device whose 0xFFE0 service has 0xFFE1.
function fakeDevice({ services = { [uuid16(0xffe0)]: [FFE1] }, name = 'PTT-Z' } = {}) {
  const listeners = new Map();
  const on = (target) => ({
    addEventListener: (t, fn) => listeners.set(`${target}:${t}`, fn),
    removeEventListener: (t, fn) => {
      if (listeners.get(`${target}:${t}`) === fn) listeners.delete(`${target}:${t}`);
    },
  });
  const calls = [];
  const chr = (uuid) => ({
    uuid,
    ...on(uuid),
    startNotifications: async () => calls.push(`notify ${uuid}`),
  });
  const device = {
    name,
    ...on('device'),
    gatt: {
      connect: async () => {
        calls.push('connect');
        return {
          getPrimaryService: async (s) => {
            if (!services[s]) throw Object.assign(new Error('no service'), { name: 'NotFoundError' });
            return {
              getCharacteristic: async (c) => {
                if (!services[s].includes(c)) throw Object.assign(new Error('no characteristic'), { name: 'NotFoundError' });
                return chr(c);
              },
            };
          },
        };
      },
      disconnect: () => calls.push('disconnect'),
    },
    forget: async () => calls.push('forget'),
  };
  const notify = (uuid, ...b) => {
    const buf = new ArrayBuffer(b.length + 2);
    new Uint8Array(buf).set(b, 1);
    listeners.get(`${uuid}:characteristicvaluechanged`)?.({ target: { value: new DataView(buf, 1, b.length) } });
  };
  const drop = () => listeners.get('device:gattserverdisconnected')?.();
  return { device, calls, notify, drop, listeners };
}

test('connect turns on notifications and passes each value with its characteristic', async () => {
  const f = fakeDevice();
  const got = [];
  let gone = 0;
  const link = await connect(f.device, { onValue: (c, b) => got.push([c, [...b]]), onGone: () => gone++ });
  assert.deepEqual(f.calls, ['connect', `notify ${FFE1}`]);
  f.notify(FFE1, 1);
  f.notify(FFE1, 0, 7);
  assert.deepEqual(got, [[FFE1, [1]], [FFE1, [0, 7]]], 'the bytes of the DataView, not of its whole buffer');
  f.drop();
  f.drop();
  assert.equal(gone, 1, 'onGone once');
  f.notify(FFE1, 1);
  assert.equal(got.length, 2, 'nothing after the drop');
  link.close();
  assert.ok(!f.calls.includes('disconnect'), 'closing a dropped link does nothing');
});

test('close disconnects without reporting a drop', async () => {
  const f = fakeDevice();
  let gone = 0;
  const link = await connect(f.device, { onValue: () => {}, onGone: () => gone++ });
  link.close();
  f.drop();
  assert.equal(gone, 0);
  assert.deepEqual(f.calls.at(-1), 'disconnect');
});

test('a device without a known button service is refused and disconnected', async () => {
  const f = fakeDevice({ services: { [uuid16(0x180f)]: [uuid16(0x2a19)] } });
  await assert.rejects(connect(f.device, { onValue: () => {}, onGone: () => {} }), { name: 'NotFoundError' });
  assert.equal(f.calls.at(-1), 'disconnect');
  assert.equal(f.listeners.has('device:gattserverdisconnected'), false);
});

test('the chooser lists buttons with a known service and may open them', async () => {
  let asked = null;
  const bt = { requestDevice: async (o) => { asked = o; return 'dev'; } };
  assert.equal(await choose(bt), 'dev');
  assert.deepEqual(asked, { filters: [{ services: [uuid16(0xffe0)] }], optionalServices: [uuid16(0xffe0)] });
});

test('no Web Bluetooth, no getDevices: said plainly, nothing remembered', async () => {
  assert.equal(webBluetooth({}), null);
  assert.equal(webBluetooth(undefined), null);
  assert.equal(webBluetooth({ bluetooth: {} }), null);
  const bt = { requestDevice: async () => null };
  assert.equal(webBluetooth({ bluetooth: bt }), bt);
  assert.equal(remembers(bt), false);
  assert.deepEqual(await remembered(bt), []);
  const withGet = { ...bt, getDevices: async () => ['a'] };
  assert.equal(remembers(withGet), true);
  assert.deepEqual(await remembered(withGet), ['a']);
  assert.deepEqual(await remembered({ ...bt, getDevices: async () => { throw new Error('policy'); } }), []);
});

test('forget revokes the permission where the browser can, and never throws', async () => {
  const f = fakeDevice();
  await forget(f.device);
  assert.deepEqual(f.calls, ['forget']);
  await forget({});
  await forget({ forget: async () => { throw new Error('gone'); } });
});
