// The talk turn: what the talk button, the server's floor messages and the
// connection mean for the microphone. A pure state machine: step(event)
// changes the state and returns the effects for the caller (session.js) to
// perform; it touches no DOM, socket or timer, and time comes in on the
// events that need it (now, from performance.now()).
//
// It mirrors the Go member's floor logic, client/floor.go: the holder is
// tracked from joined.floor, floor_granted and floor_released only, and the
// mic is live while we hold the floor (Holding there, holding here).
// Change one, look at the other. Deliberately browser-only: the release tail,
// the talk-limit warning (people's thumbs and ears; bots need neither) and
// the optimistic floor below (the Go member sends only once granted).
//
// The optimistic floor (issue 17): against a server that holds a talker's
// first packets until its grant (joined.floor_hold_ms > 0, docs/protocol.md)
// the mic goes on with the floor_request, not a round trip later with the
// grant, so the first syllable is neither cut nor waited for. The server
// forwards what was said before the grant on the grant, and drops it on
// floor_busy or a refusal; the mic then goes off at once. The start chirp
// still waits for the grant: it says the room hears you. Against a server
// that does not hold packets (no floor_hold_ms) the mic waits for the grant.
//
// Events in (step({ type, ... })):
//   press { open }       the button went down and is held (a finger, Space)
//   latch { open }       the button went down by a hands-free tap
//   release { tailMs }   the button came up (the user, a hidden page, Leave);
//                        the mic goes on for tailMs before the floor goes
//                        (0: at once, as Leave asks, even mid-tail)
//   tailEnd { seq }      a tail's timer ran out (see the timer effect)
//   warn { seq, now }    the warning timer ran out: WARN_BEFORE_MS to go
//   joined { self, floor, holdMs, now }  in the room on a (new) signaling
//                        connection; holdMs: joined.floor_hold_ms (0 or absent:
//                        the mic waits for the grant)
//   ready { open }       media set up on that connection: a held button asks again
//   lost                 the connection is gone (dropped, failed, moved, left)
//   link { up }          the media path or the network came and went while the
//                        signaling connection stayed: the button shows it, the
//                        turn goes on (a hiccup ends nothing)
//   granted { member, id, deadlineMs, now }  floor_granted
//   released { member }  floor_released for any reason but the talk limit
//   limit { member }     floor_released with reason timeout: the talk limit
//   preempted { member, byName }  floor_released with reason preempted: a
//                        priority member (named byName, '' if unknown) took
//                        the floor from member
//   busy { id }          floor_busy for our request
//   refused { id }       an error answering our request
//   left { member }      member_left: a holder who left holds nothing
//   blocked              the send watchdog switched the mic off for good
// `open` says whether the signaling socket can send right now.
//
// Effects out (arrays of):
//   { type: 'send', message }   floor_request (with an id) or floor_release
//   { type: 'mic', on }         switch the microphone track
//   { type: 'chirp', sound }    'start' | 'end' | 'busy' | 'warn' (the talk limit is near)
//   { type: 'buzz', ms }        a short vibration with the start or the warn chirp
//   { type: 'announce', text }  a notice for the live region
//   { type: 'timer', ms, event }  step(event) after ms (setTimeout); a late
//                               one is told apart by its seq and ignored
// From the warning to the end of the turn, view().warning says the time left.

// How long the phone vibrates when a turn starts: felt, not a buzz.
export const START_BUZZ_MS = 30;

// The release tail: after the button comes up the mic sends this much
// longer, so the last syllable, said as the thumb lifts, is not cut off.
export const DEFAULT_TAIL_MS = 200;
// The longest tail a preference may ask for: longer would feel like a
// stuck button.
export const MAX_TAIL_MS = 1000;

// How long before the talk limit the talker is warned (the countdown turns
// red then too, ui/room.js), and how long the phone vibrates for it:
// longer than the start buzz, so the two are told apart without looking.
export const WARN_BEFORE_MS = 10000;
export const WARN_BUZZ_MS = 120;

/** warningText is what the live region says when the warning comes. */
export const warningText = (ms) => `${Math.max(1, Math.round(ms / 1000))} seconds left`;

export const LIMIT_TAP = 'Your talk time ran out. Tap again to go on.';
export const LIMIT_HOLD = 'Your talk time ran out. Let go and press again to go on.';

/** preemptedText is what the live region says when a priority member takes our turn, in the words of the mode. */
export const preemptedText = (name, tapped) =>
  `${name || 'Someone'} has priority and took the floor. ${tapped ? 'Tap' : 'Let go, then press'} again when they are done.`;

const NO_FLOOR = Object.freeze({ holder: null, deadline: 0 });

export class TalkTurn {
  #nextId;
  #self = null;
  #floor = NO_FLOOR;
  #joined = false; // in the room on the current connection
  #linkUp = false; // the media path is up (or the server carries none) and the browser is online
  #blocked = false; // the send watchdog stopped the mic
  #hold = false; // the server holds packets sent before the grant: the mic may go on with the request
  #early = false; // the mic is on for a request not yet granted (the optimistic floor)

  #want = false; // the button is down
  #reqId = 0; // our floor_request not yet answered or granted
  #holding = false; // the floor is ours and the mic is live
  // The button came up while holding: the mic goes on until the tail's
  // timer (seq #tailSeq) ends it; a press meanwhile carries the same turn on.
  #tailing = false;
  #tailSeq = 0;
  #warnSeq = 0; // the warning timer of the current grant; a grant or an end moves it on
  #warning = ''; // the time-left words, from the warning to the end of the turn
  // Hands-free: the button went down by a tap (latch). A turn that ends
  // without the user's tap - refused, out of time, taken away, or cut by a
  // lost connection - ends the latch and the wish for the floor: nothing
  // asks again by itself. (A held button does ask again after a reconnect:
  // a finger is still on it.) A hiccup of the link ends nothing.
  #latched = false;

  /** nextId() gives a fresh request id on the current signaling connection. */
  constructor({ nextId }) {
    this.#nextId = nextId;
  }

  /** step applies one event and returns the effects to perform, in order. */
  step(ev) {
    const out = [];
    switch (ev.type) {
      case 'press':
      case 'latch':
        this.#press(ev.type === 'latch', ev.open, out);
        break;
      case 'release':
        this.#release(ev.tailMs ?? 0, out);
        break;
      case 'tailEnd':
        if (this.#tailing && ev.seq === this.#tailSeq) this.#endTail(out);
        break;
      case 'warn':
        this.#warn(ev, out);
        break;
      case 'joined':
        this.#self = ev.self;
        this.#joined = true;
        this.#hold = (ev.holdMs ?? 0) > 0;
        this.#floor = ev.floor ? { holder: ev.floor.holder, deadline: ev.now + ev.floor.deadline_ms } : NO_FLOOR;
        break;
      case 'ready':
        this.#resume(ev.open, out);
        break;
      case 'lost':
        this.#lost(out);
        break;
      case 'link':
        this.#linkUp = ev.up;
        break;
      case 'granted':
        this.#granted(ev, out);
        break;
      case 'released':
      case 'limit':
        this.#released(ev.member, ev.type === 'limit', out);
        break;
      case 'preempted':
        this.#preempted(ev, out);
        break;
      case 'busy':
        if (this.#answers(ev.id)) this.#refused(this.#want, out);
        break;
      case 'refused':
        if (this.#answers(ev.id)) this.#refused(true, out);
        break;
      case 'left':
        if (this.#floor.holder === ev.member) this.#floor = NO_FLOOR;
        break;
      case 'blocked':
        this.#blocked = true;
        this.#early = false;
        this.#stopHolding();
        out.push(mic(false));
        break;
      default:
        throw new Error(`talkturn: unknown event ${ev.type}`);
    }
    return out;
  }

  /** view is what the button and the room list show. */
  view() {
    const holder = this.#floor.holder;
    let talk = 'idle';
    if (!this.#joined || !this.#linkUp || this.#blocked) talk = 'offline';
    else if (this.#holding) talk = 'talking';
    else if (this.#reqId) talk = 'requesting';
    else if (holder && holder !== this.#self) talk = 'busy';
    return {
      talk,
      latched: this.#latched,
      holder,
      mine: !!holder && holder === this.#self,
      deadline: this.#floor.deadline,
      warning: this.#warning,
    };
  }

  /** blocked: the send watchdog stopped the mic; only a new session talks again. */
  get blocked() {
    return this.#blocked;
  }

  #press(latch, open, out) {
    this.#want = true;
    this.#latched = latch;
    if (!this.#joined || !open || this.#blocked) {
      out.push(chirp('busy'));
      // A held button asks once connected (ready); a tap on a dead
      // connection is refused, not kept for later.
      if (this.#latched) this.#endLatch();
      return;
    }
    // A press in the tail carries the same turn on: no release, no request.
    this.#tailing = false;
    if (this.#holding || this.#reqId) return;
    this.#request(out);
  }

  // The button is still down on a new connection (the old one was lost
  // mid-talk, or it was pressed while reconnecting): ask as a fresh press
  // would; the server forgot the old turn with the old member.
  #resume(open, out) {
    if (!this.#want || this.#holding || this.#reqId || this.#blocked || !this.#joined || !open) return;
    this.#request(out);
  }

  // request asks for the floor; where the server holds what is said before
  // the grant, the mic goes on now (after the request: it leaves first).
  #request(out) {
    this.#reqId = this.#nextId();
    out.push({ type: 'send', message: { type: 'floor_request', id: this.#reqId } });
    if (this.#hold && !this.#early) {
      this.#early = true;
      out.push(mic(true));
    }
  }

  // endEarly: a request that will not be granted (refused, let go, lost)
  // takes the mic it opened with it.
  #endEarly(out) {
    if (!this.#early) return;
    this.#early = false;
    if (!this.#holding) out.push(mic(false));
  }

  #release(tailMs, out) {
    const wanted = this.#want;
    this.#want = false;
    this.#latched = false;
    if (!wanted) {
      // Leave (tail 0) during a tail: the floor goes now.
      if (this.#tailing && tailMs <= 0) this.#endTail(out);
      return;
    }
    if (this.#holding && tailMs > 0) {
      // The mic stays on for the tail; the timer's tailEnd ends the turn.
      this.#tailing = true;
      this.#tailSeq++;
      out.push({ type: 'timer', ms: Math.min(tailMs, MAX_TAIL_MS), event: { type: 'tailEnd', seq: this.#tailSeq } });
      return;
    }
    const asked = this.#holding || this.#reqId;
    this.#endEarly(out); // let go before the grant: no tail, the mic goes now
    if (this.#holding) {
      // Silence now; the server's floor_released follows.
      this.#stopHolding();
      out.push(mic(false), chirp('end'));
    }
    if (asked) out.push({ type: 'send', message: { type: 'floor_release' } });
    this.#reqId = 0;
  }

  // endTail: the tail is over (or cut by Leave): the turn ends as a release
  // without a tail would have, and the end chirp says the floor is gone.
  #endTail(out) {
    this.#stopHolding();
    out.push(mic(false), chirp('end'), { type: 'send', message: { type: 'floor_release' } });
  }

  // stopHolding: the turn is over, by whatever way; a pending tail or
  // warning timer finds nothing to do.
  #stopHolding() {
    this.#holding = false;
    this.#tailing = false;
    this.#warnSeq++;
    this.#warning = '';
  }

  // warn: the talk limit is WARN_BEFORE_MS away. Only a talker still talking
  // hears it: in the tail the thumb is already up.
  #warn({ seq, now }, out) {
    if (seq !== this.#warnSeq || !this.#holding || this.#tailing) return;
    this.#warning = warningText(this.#floor.deadline - now);
    out.push(chirp('warn'), { type: 'buzz', ms: WARN_BUZZ_MS });
  }

  // A lost connection ends the turn: the server forgets it with the member.
  #lost(out) {
    if (this.#latched) this.#endLatch();
    if (this.#holding) out.push(chirp('end'));
    this.#early = false;
    out.push(mic(false));
    this.#stopHolding(); // a tail too ends at once: the server forgot the turn
    this.#reqId = 0;
    this.#joined = false;
    this.#floor = NO_FLOOR;
  }

  #granted({ member, id, deadlineMs, now }, out) {
    this.#floor = { holder: member, deadline: now + (deadlineMs ?? 0) };
    if (member !== this.#self) return;
    // Only the grant of our latest request turns the mic on: after a quick
    // press-release-press, the first grant is already being released.
    const ours = !id || id === this.#reqId;
    if (this.#want && ours && !this.#blocked && !this.#holding) {
      this.#holding = true;
      this.#early = false; // an early mic carries on into the turn
      out.push(mic(true), chirp('start'), { type: 'buzz', ms: START_BUZZ_MS });
      // A limit too short for a warning gets none: it would sound at the start.
      if (deadlineMs > WARN_BEFORE_MS) {
        this.#warnSeq++;
        out.push({ type: 'timer', ms: deadlineMs - WARN_BEFORE_MS, event: { type: 'warn', seq: this.#warnSeq } });
      }
    }
    if (ours) this.#reqId = 0;
  }

  #released(member, limit, out) {
    if (this.#floor.holder === member) this.#floor = NO_FLOOR;
    if (member !== this.#self) return;
    const tapped = this.#latched; // a hands-free turn: the notice says tap, not let go
    if (this.#holding) {
      // The limit or the server ends a tail at once too.
      this.#stopHolding();
      out.push(mic(false), chirp('end'));
      // Taken from a turn we held, for whatever reason: not our tap (a tap
      // off clears the latch and holding first, and a quick tap off and on
      // again must not be ended by the first turn's late release).
      if (this.#latched) this.#endLatch();
    }
    if (limit) {
      // Let go and press again to go on: never re-grab the floor by itself.
      this.#want = false;
      out.push({ type: 'announce', text: tapped ? LIMIT_TAP : LIMIT_HOLD });
    }
  }

  // preempted: a priority member took the floor. Taken from us mid-turn
  // (the tail included), the mic goes off at once with the busy chirp, not
  // the end one (we did not end it), and the notice says who and why. As at
  // the talk limit, nothing asks again by itself: the user presses again
  // once the priority member is done (the server keeps the next turn for
  // us a moment, docs/protocol.md).
  #preempted({ member, byName }, out) {
    if (this.#floor.holder === member) this.#floor = NO_FLOOR;
    if (member !== this.#self || !this.#holding) return;
    const tapped = this.#latched;
    this.#stopHolding();
    if (this.#latched) this.#endLatch();
    this.#want = false;
    out.push(mic(false), chirp('busy'), { type: 'announce', text: preemptedText(byName, tapped) });
  }

  // answers: an answer to our outstanding request (not to an older one).
  #answers(id) {
    if (!id || id !== this.#reqId) return false;
    this.#reqId = 0;
    return true;
  }

  // refused: our request was turned down; busy chirps only if the button is
  // still down (a refusal of a request already let go says nothing).
  #refused(audible, out) {
    this.#endEarly(out); // what it said is dropped by the server: the mic goes at once
    if (audible) out.push(chirp('busy'));
    if (this.#latched) this.#endLatch();
  }

  // endLatch ends a hands-free turn the user did not end: the button comes
  // up (the UI follows view().latched) and nothing wants the floor.
  #endLatch() {
    this.#latched = false;
    this.#want = false;
  }
}

const mic = (on) => ({ type: 'mic', on });
const chirp = (sound) => ({ type: 'chirp', sound });
