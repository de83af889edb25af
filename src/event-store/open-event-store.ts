import type { LedgerConfig } from '../config/ledger-config.js';
import type { EventStore } from './event-store.port.js';
import { embeddedLogFile } from './sqlite/log-file.js';
import { SqliteEventStore } from './sqlite/sqlite-event-store.js';
import { KurrentDbEventStore } from './kurrentdb/kurrentdb-event-store.js';

/** The configured EventStore adapter (LEDGER_EVENT_STORE). */
export async function openEventStore(config: LedgerConfig): Promise<EventStore> {
  switch (config.eventStore) {
    case 'sqlite':
      return new SqliteEventStore({ file: embeddedLogFile(config.dataDir), synchronous: config.durability });
    case 'kurrentdb':
      // Bounded retries, then KurrentDbConnectionError naming the server (credentials hidden).
      return KurrentDbEventStore.connect({ connectionString: config.kurrentdbConnectionString! });
    default: {
      const unhandled: never = config.eventStore;
      throw new Error(`unknown event store ${String(unhandled)}`);
    }
  }
}
