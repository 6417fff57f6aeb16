// The signaling URL carries the routing key a cluster's load balancer needs
// (docs/cluster.md): the room id, or a knock's nameplate, and nothing else.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ROUTE_NAMEPLATE, ROUTE_ROOM, socketURL } from '../js/signaling.js';

const page = { protocol: 'https:', host: 'sotto.example' };

test('a member connection names its room', () => {
  assert.equal(socketURL(page, { room: 'AbC-_9' }), 'wss://sotto.example/ws?r=AbC-_9');
  assert.equal(ROUTE_ROOM, 'r');
});

test('a knock names its nameplate', () => {
  assert.equal(socketURL({ protocol: 'http:', host: '127.0.0.1:8080' }, { nameplate: '4217' }), 'ws://127.0.0.1:8080/ws?np=4217');
  assert.equal(ROUTE_NAMEPLATE, 'np');
});

test('no key, no query: the page origin only', () => {
  assert.equal(socketURL(page), 'wss://sotto.example/ws');
});

test('the room key wins and only one key is sent', () => {
  const u = new URL(socketURL(page, { room: 'x', nameplate: '123' }));
  assert.deepEqual([...u.searchParams.keys()], ['r']);
});
