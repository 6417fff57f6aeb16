// What the room screen says of the connection. Pure: the session passes in
// what it knows and keeps everConnected itself.

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
