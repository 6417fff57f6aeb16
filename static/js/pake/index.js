// Join by a typed room code: the whole module, for a dynamic import when
// someone joins by code or a member answers a knock:
//
//   const pake = await import('/js/pake/index.js');
//
// It loads the vendored curve library (static/vendor/noble-*). Showing or
// parsing a code needs only ./code.js, which loads nothing else.

export { PakeError, codeOf } from './errors.js';
export { codePassword, formatCode, parseCode } from './code.js';
export { newJoiner, newMember, Joiner, Member } from './exchange.js';
