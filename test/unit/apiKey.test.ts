/** Parsing the Authorization header and matching a token against the configured keys. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { bearerToken, keyMatches } from '../../src/http/apiKey';

test('bearer tokens: the scheme in any case, one token; matching against every key', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer   abc '), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
  const keys = ['k1', 'k2'].map((k) => crypto.createHash('sha256').update(k).digest());
  assert.ok(keyMatches('k2', keys));
  assert.ok(!keyMatches('k3', keys));
  assert.ok(!keyMatches('k', keys));
});
