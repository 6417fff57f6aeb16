// Signs a Sotto operator-mode token (docs/tokens.md) with node:crypto alone.
// usage: SOTTO_SECRET=... node signtoken.mjs ROOM USER ROLE TTL_SECONDS
// or, in a backend: import { signToken } from './signtoken.mjs'
import { createHmac, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export function signToken(secret, room, user, role, ttlSeconds) {
  if (!/^[A-Za-z0-9_-]{22}$/.test(room)) throw new Error('room: a 22-character base64url room id');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(user)) throw new Error('user: 1-64 characters of A-Z a-z 0-9 _ -');
  if (!['talk', 'listen', 'priority'].includes(role)) throw new Error('role: talk, listen or priority');
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) throw new Error('ttl: a whole number of seconds');
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  const nonce = randomBytes(16).toString('base64url');
  const body = `v1.${room}.${user}.${role}.${exp}.${nonce}`;
  const mac = createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${mac}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [room, user, role, ttl] = process.argv.slice(2);
  const secret = process.env.SOTTO_SECRET;
  try {
    if (!secret || process.argv.length !== 6 || !/^[0-9]+$/.test(ttl)) throw new Error('missing arguments');
    console.log(signToken(secret, room, user, role, Number(ttl)));
  } catch (err) {
    console.error(`${err.message}\nusage: SOTTO_SECRET=... node signtoken.mjs ROOM USER talk|listen|priority TTL_SECONDS`);
    process.exit(2);
  }
}
