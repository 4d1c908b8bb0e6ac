/**
 * The handler test files again, every web handler served by `toNodeListener` (campaign-lifecycle/node)
 * instead of a Web `Request`/`Response` bridge: real HTTP on a loopback port, the handlers' raw form
 * answering. Same cases, same expectations: status codes, TwiML, 401 on a bad signature, 413 over the
 * limit, what is ingested and what is not.
 */
import { expect, it } from 'vitest';
import { servedBy, useNodeListener } from '../../support/loopback-http.js';

useNodeListener();
await import('../twilio/twilio-webhook-handler.test.js');
await import('../twilio/help-replies.test.js');
await import('../twilio/inbound-as-twilio-posts.test.js');
await import('../sendgrid/sendgrid-webhook-handler.test.js');
await import('../sendgrid/group-resubscribe.test.js');
await import('../webhook-security.test.js');
await import('../../src/unsubscribe-handler.test.js');
await import('../../src/templates/unsubscribe-token-security.test.js');

it('should have served every handler above through toNodeListener', () => {
  expect(servedBy()).toBe('node');
});
