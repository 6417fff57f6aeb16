// The thin part of Bluetooth buttons that talks to Web Bluetooth: choose a
// button (the browser's chooser), find the remembered one (getDevices, where
// the browser has it), connect and listen, forget. What a value means and
// what to do about it is bluetoothptt.js's business.
//
// Nothing here leaves the device: the browser keeps the permission for the
// chosen button in its own profile; the page keeps the device object in
// memory only while a room is open, and never sends its name or id.

import { KNOWN_BUTTONS, SERVICES } from './bluetoothptt.js';

/** webBluetooth returns the browser's navigator.bluetooth, or null where there is none (iOS Safari, Firefox). */
export function webBluetooth(nav = globalThis.navigator) {
  const bt = nav?.bluetooth;
  return bt && typeof bt.requestDevice === 'function' ? bt : null;
}

/** remembers says whether the browser gives back a chosen button after a reload (getDevices). */
export const remembers = (bt) => typeof bt?.getDevices === 'function';

/**
 * choose opens the browser's chooser, listing buttons that offer one of the
 * known services. Must run inside a click (the browser requires a user
 * gesture). Rejects with NotFoundError when the chooser is dismissed.
 */
export function choose(bt) {
  return bt.requestDevice({ filters: SERVICES.map((s) => ({ services: [s] })), optionalServices: [...SERVICES] });
}

/** remembered returns the buttons this site was allowed before (empty where getDevices is missing). */
export async function remembered(bt) {
  if (!remembers(bt)) return [];
  try {
    return await bt.getDevices();
  } catch {
    return []; // refused (a policy, a permission reset): behave as if none
  }
}

/**
 * connect connects to device and turns on notifications of the first known
 * button characteristic it offers. onValue(characteristicUuid, bytes) gets
 * every value; onGone() runs once when the connection drops. Returns
 * { close() }, which disconnects without calling onGone. Rejects when the
 * button is out of reach or offers no known characteristic.
 */
export async function connect(device, { onValue, onGone }) {
  let closed = false;
  const gone = () => {
    device.removeEventListener('gattserverdisconnected', gone);
    if (!closed) {
      closed = true;
      onGone();
    }
  };
  const server = await device.gatt.connect();
  try {
    const chr = await knownCharacteristic(server);
    const known = chr.uuid;
    chr.addEventListener('characteristicvaluechanged', (ev) => {
      if (closed) return;
      const v = ev.target.value;
      if (v) onValue(known, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    });
    device.addEventListener('gattserverdisconnected', gone);
    await chr.startNotifications();
  } catch (err) {
    closed = true;
    device.removeEventListener('gattserverdisconnected', gone);
    device.gatt.disconnect();
    throw err;
  }
  return {
    close() {
      if (closed) return;
      closed = true;
      device.removeEventListener('gattserverdisconnected', gone);
      device.gatt.disconnect();
    },
  };
}

async function knownCharacteristic(server) {
  let last = null;
  for (const b of KNOWN_BUTTONS) {
    try {
      const service = await server.getPrimaryService(b.service);
      return await service.getCharacteristic(b.characteristic);
    } catch (err) {
      last = err; // not this kind of button: try the next
    }
  }
  throw last ?? new Error('no known button service');
}

/** forget revokes the site's permission for the button, where the browser can. */
export async function forget(device) {
  try {
    await device.forget?.();
  } catch {
    // already forgotten, or the browser cannot: nothing more to do
  }
}
