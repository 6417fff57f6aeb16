// The hold-to-talk input: a pointer held on the button, or Space held on a
// keyboard. It only reports "down" and "up"; the session decides what they
// mean. What phones get wrong, and how this handles it:
// - a finger that slides off the button: pointer capture keeps its events here;
// - a second finger: only the pointer that pressed first counts;
// - a call, a notification, the app switcher: pointercancel, lostpointercapture,
//   window blur and the page becoming hidden all let go;
// - long-press menus and text selection: prevented (and touch-action: none in CSS).

const TYPING = 'input, textarea, select, [contenteditable=""], [contenteditable="true"]';

/**
 * bindTalk wires the button. isActive() says whether talking makes sense now
 * (the room screen is showing); onDown/onUp are called on each transition.
 * Returns { release } to let go from outside (leaving the room).
 */
export function bindTalk(button, { isActive, onDown, onUp }) {
  let pointerId = null; // the one pointer that holds the button
  let space = false; // Space is held
  let down = false;

  const sync = () => {
    const now = pointerId !== null || space;
    if (now === down) return;
    down = now;
    button.setAttribute('aria-pressed', String(down));
    if (down) onDown();
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
    sync();
  };

  button.addEventListener('pointerdown', (ev) => {
    if (pointerId !== null || !isActive()) return;
    if (ev.pointerType === 'mouse' && ev.button !== 0) return;
    ev.preventDefault(); // no focus-steal scroll, no emulated mouse events
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
    space = true;
    sync();
  });
  document.addEventListener('keyup', (ev) => {
    if (ev.code !== 'Space' || !space) return;
    ev.preventDefault();
    space = false;
    sync();
  });

  addEventListener('blur', release);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') release();
  });

  return { release };
}
