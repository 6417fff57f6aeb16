// static/js/ui/bluetoothptt.js: the "Pair a Bluetooth button" control
// against stand-ins for its DOM and for navigator.bluetooth: no Web
// Bluetooth says so and hides the button; pairing connects while a room is
// open; presses reach the talk input; a drop mid-press lets go and the
// retry reconnects; leaving disconnects; a remembered button comes back
// without the chooser; Forget revokes it.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';

import { RETRY_FIRST_MS, uuid16 } from '../../static/js/bluetoothptt.js';
import { bindBluetoothButton } from '../../static/js/ui/bluetoothptt.js';

const FFE0 = uuid16(0xffe0);
const FFE1 = uuid16(0xffe1);

function element() {
  const listeners = {};
  return {
    hidden: false,
    textContent: '',
    addEventListener: (t, fn) => { listeners[t] = fn; },
    click: () => listeners.click(),
  };
}

// A button that can be reached or not (reachable), with its value listener
// and disconnect listener exposed as press/release/drop.
function fakeButton(name = 'PTT-Z') {
  const b = { reachable: true, connects: 0, forgotten: false, connected: false };
  let valueFn = null;
  let goneFn = null;
  b.device = {
    name,
    addEventListener: (t, fn) => { if (t === 'gattserverdisconnected') goneFn = fn; },
    removeEventListener: (t, fn) => { if (goneFn === fn) goneFn = null; },
    gatt: {
      connect: async () => {
        b.connects++;
        if (!b.reachable) throw Object.assign(new Error('out of range'), { name: 'NetworkError' });
        b.connected = true;
        return {
          getPrimaryService: async () => ({
            getCharacteristic: async () => ({
              uuid: FFE1,
              addEventListener: (t, fn) => { valueFn = fn; },
              startNotifications: async () => {},
            }),
          }),
        };
      },
      disconnect: () => { b.connected = false; },
    },
    forget: async () => { b.forgotten = true; },
  };
  const send = (v) => valueFn({ target: { value: new DataView(Uint8Array.of(v).buffer) } });
  b.press = () => send(1);
  b.release = () => send(0);
  b.drop = () => { b.connected = false; goneFn?.(); };
  return b;
}

const settle = () => new Promise((r) => setImmediate(r));

function setup({ bt }) {
  const button = element();
  const note = element();
  const talk = [];
  const ctl = bindBluetoothButton(button, note, { bt, onPress: () => talk.push('down'), onRelease: () => talk.push('up') });
  return { button, note, talk, ctl };
}

test('no Web Bluetooth: the button is hidden and the note says why', () => {
  const { button, note, ctl } = setup({ bt: null });
  assert.equal(button.hidden, true);
  assert.match(note.textContent, /no Web Bluetooth/);
  ctl.start();
  ctl.stop();
});

test('pair, press, release, drop mid-press, reconnect, leave, forget', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const f = fakeButton();
    let chooser = 0;
    const bt = { requestDevice: async (o) => { chooser++; assert.deepEqual(o.filters, [{ services: [FFE0] }]); return f.device; } };
    const { button, note, talk, ctl } = setup({ bt });
    assert.equal(button.textContent, 'Pair a Bluetooth button');
    await ctl.start(); // the room opens: nothing remembered (no getDevices)
    assert.equal(f.connects, 0);

    button.click();
    await settle();
    assert.equal(chooser, 1);
    assert.equal(button.textContent, 'Forget the Bluetooth button');
    assert.match(note.textContent, /^PTT-Z is connected: hold it to talk\. This browser forgets it/);

    f.press();
    f.press();
    f.release();
    assert.deepEqual(talk, ['down', 'up']);

    f.press();
    f.reachable = false;
    f.drop();
    assert.deepEqual(talk, ['down', 'up', 'down', 'up'], 'a drop mid-press lets go');
    assert.equal(note.textContent, 'PTT-Z is out of reach. Trying again in 1 s.');
    mock.timers.tick(RETRY_FIRST_MS);
    await settle();
    assert.equal(f.connects, 2);
    assert.equal(note.textContent, 'PTT-Z is out of reach. Trying again in 2 s.');
    f.reachable = true;
    mock.timers.tick(2 * RETRY_FIRST_MS);
    await settle();
    assert.equal(f.connects, 3);
    assert.match(note.textContent, /^PTT-Z is connected/);

    // Leaving the room disconnects, lets go, and stops retrying.
    f.press();
    ctl.stop();
    assert.equal(f.connected, false);
    assert.deepEqual(talk.slice(-2), ['down', 'up']);
    f.drop();
    mock.timers.tick(60_000);
    await settle();
    assert.equal(f.connects, 3, 'no retry outside a room');

    // Back in a room: the button this page paired is reconnected.
    await ctl.start();
    await settle();
    assert.equal(f.connects, 4);
    assert.match(note.textContent, /is connected/);

    button.click(); // Forget
    await settle();
    assert.equal(f.forgotten, true);
    assert.equal(f.connected, false);
    assert.equal(button.textContent, 'Pair a Bluetooth button');
    assert.equal(chooser, 1);
  } finally {
    mock.timers.reset();
  }
});

test('a remembered button is reconnected without the chooser when a room opens', async () => {
  const f = fakeButton('');
  const bt = { requestDevice: async () => assert.fail('no chooser'), getDevices: async () => [f.device] };
  const { button, note, ctl } = setup({ bt });
  await ctl.start();
  await settle();
  assert.equal(f.connects, 1);
  assert.equal(button.textContent, 'Forget the Bluetooth button');
  assert.equal(note.textContent, 'The Bluetooth button is connected: hold it to talk. Only this device remembers it.');
});

test('a dismissed chooser says what to do and pairs nothing', async () => {
  const bt = { requestDevice: async () => { throw Object.assign(new Error('User cancelled'), { name: 'NotFoundError' }); } };
  const { button, note, ctl } = setup({ bt });
  await ctl.start();
  button.click();
  await settle();
  assert.equal(button.textContent, 'Pair a Bluetooth button');
  assert.match(note.textContent, /^No button was paired\. Turn the button on/);
});

test('leaving while a remembered button is being looked up does not connect it', async () => {
  const f = fakeButton();
  let answer;
  const bt = { requestDevice: async () => f.device, getDevices: () => new Promise((r) => { answer = r; }) };
  const { ctl } = setup({ bt });
  const started = ctl.start();
  ctl.stop();
  answer([f.device]);
  await started;
  await settle();
  assert.equal(f.connects, 0);
});
