/** The table from a finished request to its metric label: success, or one reason from a fixed list. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATUS_BY_TYPE, type ErrorType } from '../../src/errors';
import { FAILURE_REASONS, failureReason } from '../../src/http/requestOutcome';

test('a 2xx answered in full is a success', () => {
  assert.equal(failureReason({ finished: true, status: 200 }), undefined);
  assert.equal(failureReason({ finished: true, status: 204 }), undefined);
});

test('a client that left before the answer is dropped, whatever the status or error so far', () => {
  assert.equal(failureReason({ finished: false, status: 200 }), 'dropped');
  assert.equal(failureReason({ finished: false, status: 422, errorType: 'Validation' }), 'dropped');
  assert.equal(failureReason({ finished: false, status: 504, errorType: 'Timeout' }), 'dropped');
});

test('each error type maps to its reason', () => {
  const expected: Record<ErrorType, string> = {
    Empty: 'validation',
    Unauthorized: 'unauthorized',
    PayloadTooLarge: 'validation',
    UnsupportedMediaType: 'validation',
    Validation: 'validation',
    Tokenizer: 'validation',
    NotFound: 'validation',
    Overloaded: 'overloaded',
    Model: 'inference',
    Backend: 'inference',
    Artifact: 'inference',
    Config: 'inference',
    Unhealthy: 'unavailable',
    Timeout: 'timeout',
  };
  assert.deepEqual(Object.keys(expected).sort(), Object.keys(STATUS_BY_TYPE).sort(), 'every error type is in the table');
  for (const [type, reason] of Object.entries(expected) as Array<[ErrorType, string]>) {
    assert.equal(failureReason({ finished: true, status: STATUS_BY_TYPE[type], errorType: type }), reason, type);
    assert.ok(FAILURE_REASONS.includes(reason as never));
  }
});

test('an error status without an error type still fails: 4xx validation, 5xx inference', () => {
  assert.equal(failureReason({ finished: true, status: 400 }), 'validation');
  assert.equal(failureReason({ finished: true, status: 500 }), 'inference');
});

test('/ping and /health answer 503 without an AppError: unavailable, not inference (issue 12, defect 6)', () => {
  assert.equal(failureReason({ finished: true, status: 503 }), 'unavailable');
  assert.equal(failureReason({ finished: true, status: 504 }), 'timeout');
  assert.equal(failureReason({ finished: true, status: 500 }), 'inference');
});
