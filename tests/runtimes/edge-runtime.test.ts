/**
 * The webhook handlers and a small campaign run inside `@edge-runtime/vm` (Vercel's edge runtime): the
 * scenario in `edge-scenario.ts` is bundled for `platform: 'neutral'` with nothing external and evaluated
 * in a VM that has web APIs only.
 */
import { EdgeVM } from '@edge-runtime/vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleNeutral, ROOT } from '../support/bundle.js';

let vm: EdgeVM;

beforeAll(async () => {
  const { code } = await bundleNeutral(`${ROOT}tests/support/edge-scenario.ts`, { format: 'iife' });
  vm = new EdgeVM();
  vm.evaluate(code);
});

const run = async (check: string) =>
  JSON.parse(await vm.evaluate(`edgeScenario.${check}()`)) as Record<string, unknown>;

describe('runtimes: the edge runtime (no Node globals)', () => {
  it('should have no Buffer, process, setImmediate or require in the VM', async () => {
    expect(await run('globals')).toEqual({
      Buffer: 'undefined',
      process: 'undefined',
      setImmediate: 'undefined',
      require: 'undefined',
    });
  });

  it('should answer a signed Twilio status callback 200 and a forged one 401, ingesting only the signed one', async () => {
    const result = await run('twilio');
    expect(result.signed).toBe(200);
    expect(result.forged).toBe(401);
    expect(result.events).toEqual([expect.objectContaining({ messageId: 'msg_1', status: 'delivered' })]);
  });

  it('should answer a signed SendGrid event batch 200 and one signed with another key 401', async () => {
    expect(await run('sendgrid')).toEqual({ signed: 200, forged: 401, events: 1 });
  });

  it('should run the quick start on memory storage with the fake clock, and import and export a CSV', async () => {
    const result = await run('campaign');
    expect(result.sms).toEqual({ status: 'complete', delivered: 2, assumed: 1 });
    expect(result.email).toEqual({ status: 'complete', messages: 2, imported: 2, rejected: 1 });
    const lines = String(result.exported).trim().split('\n');
    expect(lines[0]).toMatch(/^Message ID,Recipient,first_name,Status,/);
    expect(lines.slice(1).map((l) => l.split(',').slice(1, 3).join(','))).toEqual([
      'ada@example.org,Ada',
      'grace@example.org,Grace',
    ]);
  });
});
