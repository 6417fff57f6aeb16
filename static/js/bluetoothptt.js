// Bluetooth LE push-to-talk buttons: which buttons we know, what their
// notifications mean, and the state of the one paired button (connected,
// held, lost and being reconnected). Pure: bluetoothpttweb.js talks to Web
// Bluetooth, ui/bluetoothptt.js wires the DOM and the timers, and the talk
// input (talkinput.js buttonDown/buttonUp) makes a held button a finger on
// the talk button.
//
// What is known about the buttons people pair with push-to-talk apps (Zello,
// ProPTT2 and the like), and where it comes from:
// - The common cheap clip-on buttons expose service 0xFFE0 with
//   characteristic 0xFFE1 and notify 1 when pressed, 0 when released
//   (ProPTT2's developer documentation, "Common UUID for notification").
//   That is the one entry of KNOWN_BUTTONS below.
// - Buttons named "ELET-PTT" (sold with AnyTone radios) notify ASCII text on
//   characteristic 0xFF02: "ELET1" pressed, "ELET2" released, "BATT…" a
//   battery report (one user's script that drives them; not a maker's
//   document). The service that holds 0xFF02 is not given there, and Web
//   Bluetooth reaches only services named when the button is chosen, so we
//   cannot offer it without guessing: not supported.
// - Buttons in "Coda compatible mode" (ProPTT2's documentation) use service
//   2320AE58-8394-4652-95F7-0A872AC0958F and characteristic
//   481DE929-8D4C-4D9E-A574-772A73E63977 and must first be told, by a write,
//   to make their key a PTT key; the bytes they then notify were not found.
//   Not supported.
// - Zello's own documentation found covers Android broadcast intents
//   (com.zello.ptt.down / up) sent by phones with a PTT key, not what a
//   Bluetooth LE button sends.
// None of these was tried on a real button here: the browser test drives a
// simulated 0xFFE0/0xFFE1 peripheral (Chromium's Bluetooth emulation).

/** uuid16 is the full Bluetooth UUID of a 16-bit one, the form Web Bluetooth reports. */
export const uuid16 = (n) => `0000${n.toString(16).padStart(4, '0')}-0000-1000-8000-00805f9b34fb`;

/**
 * firstByteNonzero is the default decoding, and the documented one for
 * 0xFFE1: pressed while the first byte is not 0. An empty value says
 * nothing (null: ignored).
 */
export function firstByteNonzero(bytes) {
  if (!bytes || bytes.length === 0) return null;
  return bytes[0] !== 0;
}

// The buttons we can talk with: the service to ask the browser for, the
// characteristic that notifies, and what a value means (decode returns true
// for pressed, false for released, null for a value that is neither).
export const KNOWN_BUTTONS = Object.freeze([
  Object.freeze({ kind: 'ffe0', service: uuid16(0xffe0), characteristic: uuid16(0xffe1), decode: firstByteNonzero }),
]);

/** SERVICES: every service the chooser filters on (a button offering one of them is listed). */
export const SERVICES = Object.freeze(KNOWN_BUTTONS.map((b) => b.service));

/**
 * decode says what a value from characteristic `characteristic` means:
 * true pressed, false released, null neither. An unknown characteristic
 * gets the default decoding.
 */
export function decode(characteristic, bytes) {
  const known = KNOWN_BUTTONS.find((b) => b.characteristic === characteristic);
  return (known?.decode ?? firstByteNonzero)(bytes);
}

// Reconnecting a button that went out of reach (a clip-on button on a
// jacket walks off with its wearer, or sleeps to save its battery): the
// first try soon, as a brief drop is the common case, then doubling waits up
// to a ceiling that keeps a radio's wake-ups rare while the room is open.
// There is no last try: the button may come back at any time while the
// room is open; leaving the room stops trying.
export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 30_000;

/** retryDelay is the wait before reconnect try number `attempt` (0 first). */
export function retryDelay(attempt) {
  const n = Math.max(0, Math.floor(attempt));
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(n, 30));
}

// Effects out of BluetoothButton:
//   { type: 'press' }          the button went down: hold the talk button
//   { type: 'release' }        the button came up (or went away held): let go
//   { type: 'retry', ms }      try to reconnect after ms
const PRESS = Object.freeze({ type: 'press' });
const RELEASE = Object.freeze({ type: 'release' });

/**
 * BluetoothButton is the state of the one paired button: 'none' (nothing
 * paired, or the room is not open), 'connecting', 'connected' or 'lost'
 * (out of reach, a retry is scheduled). Only a change of the decoded state
 * is a press or a release: a button that repeats "pressed" while held is one
 * press.
 */
export class BluetoothButton {
  #state = 'none';
  #name = '';
  #pressed = false;
  #attempt = 0; // reconnect tries since the button was last connected

  get state() {
    return this.#state;
  }

  get name() {
    return this.#name;
  }

  get pressed() {
    return this.#pressed;
  }

  /** connecting: pairing or reconnecting to the button called name. */
  connecting(name) {
    this.#state = 'connecting';
    this.#name = cleanDeviceName(name);
    return [];
  }

  /** connected: notifications are on. */
  connected() {
    this.#state = 'connected';
    this.#attempt = 0;
    return [];
  }

  /** value: the characteristic's value changed (a notification). */
  value(characteristic, bytes) {
    if (this.#state !== 'connected') return [];
    const down = decode(characteristic, bytes);
    if (down === null || down === this.#pressed) return [];
    this.#pressed = down;
    return [down ? PRESS : RELEASE];
  }

  /**
   * lost: the button disconnected, or a connect try failed. A held button
   * is let go (its release will never come), and a retry is scheduled.
   */
  lost() {
    if (this.#state === 'none') return [];
    const out = this.#letGo();
    this.#state = 'lost';
    out.push({ type: 'retry', ms: retryDelay(this.#attempt++) });
    return out;
  }

  /** stop: leaving the room or forgetting the button; lets go if held. */
  stop() {
    const out = this.#letGo();
    this.#state = 'none';
    this.#attempt = 0;
    return out;
  }

  #letGo() {
    if (!this.#pressed) return [];
    this.#pressed = false;
    return [RELEASE];
  }
}

// The longest device name we show: names are user-settable on some buttons
// (BLE allows 248 bytes), and ours sits in one line of the settings.
export const MAX_DEVICE_NAME = 40;

/** cleanDeviceName makes a button's advertised name safe to show: no control or formatting characters, short. */
export function cleanDeviceName(name) {
  const s = typeof name === 'string' ? name.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').replace(/\s+/gu, ' ').trim() : '';
  return [...s].slice(0, MAX_DEVICE_NAME).join('').trim() || 'The Bluetooth button';
}

/**
 * statusText is the note under the control. state: the button's state, or
 * 'unsupported' (no Web Bluetooth); name: the button's; retryMs: the wait
 * before the next try while lost; remembers: whether this browser keeps the
 * button across reloads (getDevices).
 */
export function statusText({ state, name, retryMs = 0, remembers = true }) {
  switch (state) {
    case 'unsupported':
      return 'This browser has no Web Bluetooth, so a Bluetooth talk button cannot be paired here. Safari on iPhone and iPad, and Firefox, lack it.';
    case 'connecting':
      return `Connecting to ${name}…`;
    case 'connected':
      return remembers
        ? `${name} is connected: hold it to talk. Only this device remembers it.`
        : `${name} is connected: hold it to talk. This browser forgets it when the page closes.`;
    case 'lost':
      return `${name} is out of reach. Trying again in ${Math.max(1, Math.round(retryMs / 1000))} s.`;
    default:
      return 'A clip-on push-to-talk button: pair it, then hold it to talk. Only this device remembers it.';
  }
}
