import { KurrentDbConnectionError, KurrentDbEventStore } from '../../src/event-store/kurrentdb/kurrentdb-event-store.js';
import type { EventStore } from '../../src/event-store/event-store.port.js';
import { runEventStoreContract } from './event-store.contract.js';

/**
 * The shared contract against a real KurrentDB (25.1+) when one is reachable, e.g.
 *   docker run --rm -d -p 2113:2113 docker.kurrent.io/kurrent-latest/kurrentdb:25.1.4 --insecure
 *   KURRENTDB_CONNECTION_STRING='kurrentdb://localhost:2113?tls=false' npm run test:contract
 * The suite uses fresh stream names per test, so a shared server is fine; nothing is cleaned up
 * (the ledger never deletes).
 */
const connectionString = process.env['KURRENTDB_CONNECTION_STRING'];

if (connectionString) {
  runEventStoreContract('kurrentdb (server at KURRENTDB_CONNECTION_STRING)', () => ({
    open: () => KurrentDbEventStore.connect({ connectionString }),
    reopen: async (store: EventStore) => {
      await store.close();
      return KurrentDbEventStore.connect({ connectionString });
    },
    cleanup: async () => undefined,
  }));
} else {
  describe('EventStore contract: kurrentdb', () => {
    console.warn(
      'KurrentDB contract suite skipped: KURRENTDB_CONNECTION_STRING is not set (no KurrentDB server can run on this machine: no Docker engine, no package)',
    );
  });
}

describe('KurrentDbEventStore.connect', () => {
  it('gives up after bounded retries with an error naming the server when nothing listens', async () => {
    const started = Date.now();
    const connecting = KurrentDbEventStore.connect({
      connectionString: 'kurrentdb://127.0.0.1:1?tls=false',
      connectRetries: 3,
      retryDelayMs: 50,
    });
    await expect(connecting).rejects.toBeInstanceOf(KurrentDbConnectionError);
    await expect(connecting).rejects.toThrow(
      /^KurrentDB at kurrentdb:\/\/127\.0\.0\.1:1\?tls=false is unreachable after 3 attempts \(last error: .+\); check the hosts/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses a malformed connection string before any traffic, without echoing credentials', async () => {
    const connecting = KurrentDbEventStore.connect({ connectionString: 'kurrentdb://ledger:s3cret@127.0.0.1:1?tls=maybe' });
    await expect(connecting).rejects.toThrow(/^KURRENTDB_CONNECTION_STRING is not a KurrentDB connection string: /);
    await expect(connecting).rejects.not.toThrow(/s3cret/);
  });
});
