import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFetchFailure, fetchFailureCode, isLastingFetchFailure } from '../../src/core/network-errors.js';

/** A failure shaped like undici's: `TypeError('fetch failed')` caused by the real reason. */
function fetchFailed(cause: Error): TypeError {
  return new TypeError('fetch failed', { cause });
}

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

test('system and undici error codes deep in the cause chain become words', () => {
  assert.equal(describeFetchFailure(fetchFailed(withCode('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'))), 'connection refused');
  assert.equal(describeFetchFailure(fetchFailed(withCode('other side closed', 'UND_ERR_SOCKET'))), 'connection reset by the server');
  assert.equal(describeFetchFailure(fetchFailed(withCode('getaddrinfo ENOTFOUND x.test', 'ENOTFOUND'))), 'host not found (ENOTFOUND)');
  assert.equal(describeFetchFailure(fetchFailed(withCode('certificate has expired', 'CERT_HAS_EXPIRED'))), 'TLS error (CERT_HAS_EXPIRED)');
  const nested = fetchFailed(new Error('wrapper', { cause: withCode('read ETIMEDOUT', 'ETIMEDOUT') }));
  assert.equal(fetchFailureCode(nested), 'ETIMEDOUT');
  assert.equal(describeFetchFailure(nested), 'connection timed out');
});

test('bad port names the port; anything else gives the innermost message', () => {
  const badPort = fetchFailed(new Error('bad port'));
  assert.equal(describeFetchFailure(badPort, 'http://127.0.0.1:1/x.png'), 'fetch refuses port 1 (reserved for another protocol; use another port)');
  assert.equal(describeFetchFailure(fetchFailed(new Error('something odd\nsecond line'))), 'something odd');
  assert.equal(describeFetchFailure('a string'), 'a string');
});

test('lasting failures are the ones retrying will not mend', () => {
  assert.equal(isLastingFetchFailure(fetchFailed(new Error('bad port'))), true);
  assert.equal(isLastingFetchFailure(fetchFailed(withCode('x', 'ENOTFOUND'))), true);
  assert.equal(isLastingFetchFailure(fetchFailed(withCode('x', 'ECONNRESET'))), false);
});
