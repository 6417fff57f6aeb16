// The hold-to-talk input: a pointer held on the button, or Space held on a
// keyboard. It only reports "down" and "up"; the session decides what they
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
// out of time).

const TYPING = 'input, textarea, select, [contenteditable=""], [contenteditable="true"]';

/**
 * bindTalk wires the button. isActive() says whether talking makes sense now
 * (the room screen is showing); handsFree() whether a tap toggles instead of
 * a hold; onDown({ latch }) and onUp() are called on each transition (latch:
 * the button went down by a hands-free tap). Returns { release,
 * isDown } to let go from outside (leaving the room, a refused turn).
 */
export function bindTalk(button, { isActive, handsFree = () => false, onDown, onUp }) {
  let pointerId = null; // the one pointer that holds the button
  let space = false; // Space is held
  let latched = false; // hands-free: tapped on, not yet tapped off
  let down = false;

  const sync = () => {
    const now = pointerId !== null || space || latched;
    if (now === down) return;
    down = now;
    button.setAttribute('aria-pressed', String(down));
    if (down) onDown({ latch: latched });
    else onUp();
  };

  const release = () => {
    if (pointerId !== null && button.hasPointerCapture?.(pointerId)) {
      try {
        button.releasePointerCapture(pointerId);
      } catch {
        // already released
      }
    }
    pointerId = null;
    space = false;
    latched = false;
    sync();
  };

  // toggle is a hands-free tap or Space press.
  const toggle = () => {
    latched = !latched;
    sync();
  };

  button.addEventListener('pointerdown', (ev) => {
    if (pointerId !== null || !isActive()) return;
    if (ev.pointerType === 'mouse' && ev.button !== 0) return;
    ev.preventDefault(); // no focus-steal scroll, no emulated mouse events
    if (handsFree()) {
      toggle();
      return;
    }
    pointerId = ev.pointerId;
    try {
      button.setPointerCapture(ev.pointerId);
    } catch {
      // the pointer is already gone: the up event will not come either
      pointerId = null;
      return;
    }
    sync();
  });
  const up = (ev) => {
    if (ev.pointerId !== pointerId) return;
    pointerId = null;
    sync();
  };
  button.addEventListener('pointerup', up);
  button.addEventListener('pointercancel', up);
  button.addEventListener('lostpointercapture', up);
  button.addEventListener('contextmenu', (ev) => ev.preventDefault());

  document.addEventListener('keydown', (ev) => {
    if (ev.code !== 'Space' || ev.ctrlKey || ev.metaKey || ev.altKey || !isActive()) return;
    const t = ev.target;
    if (t instanceof Element && t.closest(TYPING)) return; // typing a name, not talking
    // Space on another button or link activates it; leave it alone.
    if (t instanceof Element && t !== button && t.closest('button, a[href], summary')) return;
    ev.preventDefault(); // no page scroll, and no click on the talk button
    if (ev.repeat || space) return; // held keys repeat: one press is one turn
    if (handsFree()) {
      toggle();
      return;
    }
    space = true;
    sync();
  });
  document.addEventListener('keyup', (ev) => {
    if (ev.code !== 'Space' || !space) return;
    ev.preventDefault();
    space = false;
    sync();
  });

  // A held key's keyup goes elsewhere once the window loses focus; a latch
  // has no up to lose, so hands-free talking survives a click elsewhere.
  addEventListener('blur', () => {
    if (!latched) release();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') release();
  });

  return { release, isDown: () => down };
}
