import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyStore } from '../../../src/auth/api-key-store.js';

/*
 * Every recorded event is authenticated: the key store answers from memory, and a revocation
 * takes effect on the next request, also when another process (another connection to
 * access.db) revoked the key.
 */
describe('API keys held in memory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a key revoked here is refused at once; a key changed by one character never passes', () => {
    const keys = new ApiKeyStore(join(dir, 'access.db'));
    const { key, info } = keys.create('svc-a', 'emitter');
    expect(keys.authenticate(key)).toEqual(info);
    expect(keys.authenticate(key)).toEqual(info);
    expect(keys.authenticate(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(keys.revoke(info.id)).toBe(true);
    expect(keys.authenticate(key)).toBeNull();
    keys.close();
  });

  it('a key revoked or created through another connection is seen on the next request', () => {
    const service = new ApiKeyStore(join(dir, 'access.db'));
    const admin = new ApiKeyStore(join(dir, 'access.db'));
    const { key, info } = service.create('svc-b', 'emitter');
    expect(service.authenticate(key)).toEqual(info);
    expect(admin.revoke(info.id)).toBe(true);
    expect(service.authenticate(key)).toBeNull();
    const other = admin.create('svc-c', 'auditor');
    expect(service.authenticate(other.key)).toEqual(other.info);
    service.close();
    admin.close();
  });
});
