import type { Worker } from 'node:worker_threads';
import { Followers } from '../../src/followers/followers.js';
import { accessedBody, startLedger, type TestLedger } from '../support/ledger-app.js';
import { appendEvent, getTimeline, settled } from '../support/ledger-http.js';

/**
 * The followers of the log run on a thread of their own in the deployed service. If that
 * thread dies, nothing is answered from read models that cannot be brought up to date: reads
 * that need a follower answer 503, readiness says which followers are stopped, and the thread is
 * started again, every follower resuming from its own checkpoint.
 */
describe('followers on their own thread', () => {
  let ledger: TestLedger;
  let emitter: string;
  let auditor: string;
  beforeAll(async () => {
    ledger = await startLedger();
    emitter = await ledger.key('emitter');
    auditor = await ledger.key('auditor');
  });
  afterAll(async () => ledger.destroy());

  it('a dead follower thread stops reads with a 503 and readiness with 503, then is restarted and catches up', async () => {
    const followers = ledger.app.get(Followers);
    expect(followers.mode).toBe('thread');
    expect((await appendEvent(ledger, emitter, accessedBody('subj-thread'))).status).toBe(201);
    await settled(ledger);

    // The thread dies (as an uncaught error or an out-of-memory kill would end it).
    await (followers as unknown as { worker: Worker }).worker.terminate();
    const late = accessedBody('subj-thread');
    expect((await appendEvent(ledger, emitter, late)).status).toBe(201);

    const stopped = await ledger.http().get('/health/ready');
    expect(stopped.status).toBe(503);
    expect((stopped.body as { followers: Array<{ state: string }> }).followers.every((f) => f.state === 'stopped')).toBe(true);
    const refused = await getTimeline(ledger, auditor, 'subj-thread');
    expect(refused.status).toBe(503);
    expect((refused.body as { message: string }).message).toContain('projections');

    // Restarted after a second; every follower resumes from its checkpoint and reaches the head.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await settled(ledger, 10_000);
    const ready = await ledger.http().get('/health/ready');
    expect(ready.status).toBe(200);
    expect((ready.body as { status: string }).status).toBe('ok');
    const timeline = await getTimeline(ledger, auditor, 'subj-thread', { order: 'asc' });
    expect(timeline.status).toBe(200);
    expect((timeline.body as { entries: Array<{ eventId: string }> }).entries.map((e) => e.eventId)).toContain(late['eventId']);
  });
});
