// The hold-to-talk input: a pointer held on the button, or the talk key
// (Space, or one the user learned: ui/talkkey.js) held on a keyboard. It only reports "down" and "up"; the session decides what they
// mean. What phones get wrong, and how this handles it:
// - a finger that slides off the button: pointer capture keeps its events here;
// - a second finger: only the pointer that pressed first counts;
// - a call, a notification, the app switcher: pointercancel, lostpointercapture,
//   window blur and the page becoming hidden all let go;
// - long-press menus and text selection: prevented (and touch-action: none in CSS).
// Hands-free (latch) mode, for long turns or a phone in a holder: a tap (or a
// Space press) starts talking and the next one stops; nothing is held, so
// window blur no longer lets go, but a hidden page still does, and so does
// the session, through release(), when the turn ends without us (refused,
// out of time). A headset button (mediasession.js) is always a tap: tap().
// A Bluetooth push-to-talk button (ui/bluetoothptt.js) is a finger on the
// button: bluetoothDown() and bluetoothUp().

import { TalkInput } from '../talkinput.js';
import { DEFAULT_TALK_KEY } from '../talkkey.js';

const TYPING = 'input, textarea, select, [contenteditable=""], [contenteditable="true"]';
const OTHER_CONTROL = 'button, a[href], summary';

/**
 * bindTalk wires the button to a TalkInput (talkinput.js decides; this
 * performs). isActive() says whether talking makes sense now (the room
 * screen is showing); handsFree() whether a tap toggles instead of a hold;
 * talkKey() the code of the talk key; onDown({ latch }) and onUp() are
 * called on each transition (latch: the button went down by a tap that
 * nothing holds). Returns { release, modeSwitched, tap, bluetoothDown,
 * bluetoothUp, isDown, isLatched }: release lets go from outside (leaving the room, a refused turn),
 * modeSwitched after a change of Hands-free or of the talk key, tap for a
 * headset button, bluetoothDown and bluetoothUp for a Bluetooth button.
 */
export function bindTalk(button, { isActive, handsFree = () => false, talkKey = () => DEFAULT_TALK_KEY, onDown, onUp }) {
  const input = new TalkInput();

  // run performs effects in order; ev is the DOM event they came from.
  const run = (effects, ev) => {
    for (const fx of effects) {
      switch (fx.type) {
        case 'prevent':
          ev.preventDefault();
          break;
        case 'capture':
          try {
            button.setPointerCapture(fx.id);
          } catch {
            // the pointer is already gone: the up event will not come either
            run(input.pointerUp(fx.id), ev);
            break;
          }
          run(input.captured(fx.id), ev);
          break;
        case 'uncapture':
          if (button.hasPointerCapture?.(fx.id)) {
            try {
              button.releasePointerCapture(fx.id);
            } catch {
              // already released
            }
          }
          break;
        case 'down':
          button.setAttribute('aria-pressed', 'true');
          onDown({ latch: fx.latch });
          break;
        case 'up':
          button.setAttribute('aria-pressed', 'false');
          onUp();
          break;
        case 'focus':
          button.focus();
          break;
        default:
          throw new Error(`talk: unknown input effect ${fx.type}`);
      }
    }
  };

  // targetOf reduces a key event's target to the kinds talkinput.js knows.
  const targetOf = (t) => {
    if (!(t instanceof Element)) return 'page';
    if (t.closest(TYPING)) return 'field';
    if (t !== button && t.closest(OTHER_CONTROL)) return 'control';
    return t === button ? 'button' : 'page';
  };

  button.addEventListener('pointerdown', (ev) => {
    run(input.pointerDown({
      id: ev.pointerId, isMouse: ev.pointerType === 'mouse', mouseButton: ev.button, active: isActive(), handsFree: handsFree(),
    }), ev);
  });
  const up = (ev) => run(input.pointerUp(ev.pointerId), ev);
  button.addEventListener('pointerup', up);
  button.addEventListener('pointercancel', up);
  button.addEventListener('lostpointercapture', up);
  button.addEventListener('contextmenu', (ev) => ev.preventDefault());

  document.addEventListener('keydown', (ev) => {
    run(input.keyDown({
      code: ev.code, talkKey: talkKey(), ctrlKey: ev.ctrlKey, metaKey: ev.metaKey, altKey: ev.altKey, repeat: ev.repeat,
      target: targetOf(ev.target), active: isActive(), handsFree: handsFree(),
    }), ev);
  });
  document.addEventListener('keyup', (ev) => run(input.keyUp({ code: ev.code }), ev));

  addEventListener('blur', (ev) => run(input.blur(), ev));
  document.addEventListener('visibilitychange', (ev) => {
    if (document.visibilityState === 'hidden') run(input.release(), ev);
  });

  return {
    release: () => run(input.release(), null),
    modeSwitched: () => run(input.modeSwitched(), null),
    tap: () => run(input.headsetTap({ active: isActive() }), null),
    bluetoothDown: () => run(input.bluetoothDown({ active: isActive(), handsFree: handsFree() }), null),
    bluetoothUp: () => run(input.bluetoothUp(), null),
    isDown: () => input.isDown,
    isLatched: () => input.isLatched,
  };
}
