// The "Pair a Bluetooth button" control: pairs a Bluetooth LE push-to-talk
// button through the browser's chooser, keeps it connected while a room is
// open (reconnecting when it comes back in reach), and turns its presses
// into a finger on the talk button. bluetoothptt.js decides what a value
// means and when to retry; bluetoothpttweb.js talks to Web Bluetooth; this
// wires them to the DOM and the timers.
//
// Remembered on this device only, by the browser itself: the permission it
// keeps for the chosen button (getDevices gives it back after a reload,
// where the browser has getDevices). Nothing is written to storage by us,
// and nothing about the button is ever sent anywhere.

import { BluetoothButton, statusText } from '../bluetoothptt.js';
import { choose, connect, forget, remembered, remembers, webBluetooth } from '../bluetoothpttweb.js';
import { setText } from './dom.js';

const PAIR_LABEL = 'Pair a Bluetooth button';
const FORGET_LABEL = 'Forget the Bluetooth button';
const NOT_PAIRED = 'No button was paired. Turn the button on, and Bluetooth on this device, then try again.';

/**
 * bindBluetoothButton wires the button and its note (a polite live
 * region). onPress() and onRelease() are the Bluetooth button going down
 * and up. Returns { start, stop }: start when a room opens (reconnects a
 * remembered button), stop when it closes (disconnects, and lets go of a
 * held press). bt is the browser's navigator.bluetooth by default.
 */
export function bindBluetoothButton(button, note, { onPress, onRelease, bt = webBluetooth() }) {
  if (!bt) {
    button.hidden = true;
    setText(note, statusText({ state: 'unsupported' }));
    return { start() {}, stop() {} };
  }

  const btn = new BluetoothButton();
  let device = null; // the paired button (page memory; the browser keeps the permission)
  let link = null; // the live connection: { close }
  let timer = 0; // the pending reconnect try
  let retryMs = 0;
  let open = false; // a room is open
  let generation = 0; // bumped by stop and forget: late results of an older try are dropped
  let problem = ''; // why the last pairing failed, until the next try

  const show = () => {
    setText(button, device ? FORGET_LABEL : PAIR_LABEL);
    const text = device
      ? statusText({ state: btn.state, name: btn.name, retryMs, remembers: remembers(bt) })
      : problem || statusText({ state: 'none' });
    setText(note, text);
  };

  const run = (effects) => {
    for (const fx of effects) {
      switch (fx.type) {
        case 'press':
          onPress();
          break;
        case 'release':
          onRelease();
          break;
        case 'retry':
          retryMs = fx.ms;
          clearTimeout(timer);
          timer = setTimeout(attempt, fx.ms);
          break;
        default:
          throw new Error(`bluetooth: unknown effect ${fx.type}`);
      }
    }
    show();
  };

  async function attempt() {
    timer = 0;
    if (!device || !open) return;
    const gen = generation;
    run(btn.connecting(device.name));
    try {
      const l = await connect(device, {
        onValue: (chr, bytes) => run(btn.value(chr, bytes)),
        onGone: () => {
          link = null;
          if (gen === generation) run(btn.lost());
        },
      });
      if (gen !== generation) {
        l.close();
        return;
      }
      link = l;
      run(btn.connected());
    } catch {
      if (gen === generation) run(btn.lost());
    }
  }

  // drop disconnects and cancels any retry; a held press is let go.
  const drop = () => {
    generation++;
    clearTimeout(timer);
    timer = 0;
    link?.close();
    link = null;
    run(btn.stop());
  };

  button.addEventListener('click', async () => {
    if (device) {
      const old = device;
      drop();
      device = null;
      show();
      await forget(old);
      return;
    }
    let chosen;
    try {
      chosen = await choose(bt); // first, inside the click: the chooser needs the gesture
    } catch {
      problem = NOT_PAIRED;
      show();
      return;
    }
    problem = '';
    device = chosen;
    if (open) attempt();
    else show();
  });

  show();
  return {
    async start() {
      if (open) return;
      open = true;
      if (!device) {
        const gen = generation;
        const [first] = await remembered(bt);
        if (!first || device || !open || gen !== generation) return;
        device = first;
      }
      attempt();
    },
    stop() {
      if (!open) return;
      open = false;
      drop();
    },
  };
}
