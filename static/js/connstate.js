// What the room screen says of the connection. Pure: the session passes in
// what it knows and keeps everConnected itself.

// A voice connection not up this long after joining is worth saying: a
// loopback or LAN join connects in under a second, a phone on 4G in one or
// two, and ICE itself gives up on a path after about 10-30 s. Until then
// the page looked connected and silent.
export const NO_VOICE_AFTER_MS = 10000;
// What to try when the voice connection cannot be made: UDP blocked and no
// TCP path either, which a different network usually fixes. The session
// keeps trying (media.js restarts ICE when it fails) and clears the notice
// once voice is up.
export const NO_VOICE_NOTICE = 'No voice connection yet: this network may block calls. Try another network (Wi-Fi instead of mobile data, or the other way round). Sotto keeps trying.';

/**
 * connectionState names the connection for the UI (store.js 'connection').
 * 'connecting' until the member has once been fully connected (in the room
 * and, unless it has no media, with its voice connection up); after that a
 * loss of either is 'reconnecting'. Being in the room is not enough to say
 * "Reconnecting…": between the join and the voice connection of a first
 * visit nothing was lost (issue 16).
 */
export function connectionState({ fatal = false, offline = false, joined = false, mediaUp = false, everConnected = false }) {
  if (fatal) return 'closed';
  if (offline) return 'offline';
  if (joined && mediaUp) return 'connected';
  return everConnected ? 'reconnecting' : 'connecting';
}
