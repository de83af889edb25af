import { accessedBody, startLedger, type TestLedger } from '../support/ledger-app.js';

describe('smoke', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startLedger();
  });
  afterAll(async () => ledger.destroy());

  it('records and shows an access', async () => {
    const emitter = await ledger.key('emitter');
    const auditor = await ledger.key('auditor');
    const res = await ledger.http().post('/v1/events').set('authorization', `Bearer ${emitter}`).send(accessedBody('subj-a'));
    expect(res.status).toBe(201);
    const tl = await ledger.http().get('/v1/subjects/subj-a/timeline').set('authorization', `Bearer ${auditor}`);
    expect(tl.status).toBe(200);
    expect(tl.body.entries).toHaveLength(1);
  });
});
