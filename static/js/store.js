// The app's state in one plain object, and who wants to hear of changes.
// Modules change it through update() and render from it in their listener;
// nothing secret is ever put here (keys and the secret stay in session.js),
// so the read-only test hook below can expose a copy safely.

const state = {
  screen: 'home', // 'home' | 'lobby' | 'room'
  // 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'offline' (waiting for network) | 'closed'
  connection: 'idle',
  self: null, // our member id, from joined
  members: [], // [{ id, name (null until its hello arrives), talking }]
  floor: { holder: null, mine: false, deadline: 0 }, // deadline: performance.now() ms when the cap ends
  nameplate: '',
  roomCode: '', // nameplate + password part: shown on screen, never in sottoState()
  talkLimitMs: 0,
  safetyCode: '',
  inviteLink: '', // holds the secret: shown on screen, never in sottoState()
  selfName: '',
  talk: 'idle', // the button: 'idle' | 'requesting' | 'talking' | 'busy' | 'offline'
  latched: false, // hands-free: the session holds a tapped-on turn (session.js #latched)
  talkWarning: '', // our turn is near its limit: the time left, said in the live region (talkturn.js)
  notice: '', // a room message for the user (role="alert")
  // "Say again" (sayagaintap.js): the turns heard, newest first ({ id, name, at, ms } or { gap, at, ms }), what plays.
  sayAgain: { available: false, turns: [], count: 0, bytes: 0, playing: 0 },
  // Media keys (docs/keys.md), as numbers only: the epoch we send under,
  // the epoch we hold as current for each other member (by member id), and
  // frames dropped as undecryptable or from a key not (yet) held.
  keys: { epoch: null, held: {}, cantDecrypt: 0, unknownSender: 0 },
};

const listeners = new Set();
let queued = false;

export function get() {
  return state;
}

/** update merges changes and tells listeners once per microtask. */
export function update(changes) {
  Object.assign(state, changes);
  if (queued) return;
  queued = true;
  queueMicrotask(() => {
    queued = false;
    for (const fn of listeners) {
      try {
        fn(state);
      } catch (err) {
        console.error('render failed', err?.name); // never the state: it can hold the invite link
      }
    }
  });
}

export function subscribe(fn) {
  listeners.add(fn);
  fn(state);
  return () => listeners.delete(fn);
}

/**
 * snapshot is the read-only view for the browser tests (window.sottoState):
 * screen, connection, ids, names, floor, nameplate, Say again's size and
 * the media keys' epoch numbers. No secret, no link, no key, no safety code.
 */
export function snapshot() {
  return {
    screen: state.screen,
    connection: state.connection,
    self: state.self,
    members: state.members.map((m) => ({ id: m.id, name: m.name })),
    floor: { holder: state.floor.holder, mine: state.floor.mine },
    nameplate: state.nameplate,
    // How much "Say again" keeps: a count and a size, no audio.
    sayAgain: {
      count: state.sayAgain.count, bytes: state.sayAgain.bytes, listed: state.sayAgain.turns.length,
      gaps: state.sayAgain.turns.filter((t) => t.gap).map((t) => Math.round(t.ms)),
    },
    // Epoch numbers and drop counts: no key, no sid, no public key.
    keys: {
      epoch: state.keys.epoch, held: { ...state.keys.held },
      cantDecrypt: state.keys.cantDecrypt, unknownSender: state.keys.unknownSender,
    },
  };
}
