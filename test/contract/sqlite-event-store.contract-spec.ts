import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store.js';
import type { EventStore } from '../../src/event-store/event-store.port.js';
import { runEventStoreContract } from './event-store.contract.js';

runEventStoreContract('sqlite (embedded, real file in a temp folder)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-contract-'));
  const file = join(dir, 'events.db');
  return {
    open: async () => new SqliteEventStore({ file }),
    reopen: async (store: EventStore) => {
      await store.close();
      return new SqliteEventStore({ file });
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
