// The peer: Emmett's SQLite event store (@event-driven-io/emmett-sqlite, pinned in
// package.json) on the same events and batch sizes. One connection for the whole run (its
// getSQLiteEventStore opens and closes a connection per call, which is slower); a batch is one
// transaction with one appendToStream per stream, as Emmett nests them. It stores each event
// as JSON with a per-stream position and a global position, WAL, SQLite's default
// synchronous=FULL; it does no hash chaining and keeps no eventId idempotency index.
import { appendToStream, createEventStoreSchema, sqliteConnection } from '@event-driven-io/emmett-sqlite';

function toMessage(event) {
  const { type, contentDigest: _digest, ...rest } = event;
  return { type, data: rest };
}

export async function openPeer(file) {
  const connection = sqliteConnection({ fileName: file });
  await createEventStoreSchema(connection);
  const synchronous = (await connection.querySingle('PRAGMA synchronous'))?.synchronous;
  const journal = (await connection.querySingle('PRAGMA journal_mode'))?.journal_mode;
  const appendOne = async (request) => {
    const result = await appendToStream(connection, request.streamId, 'subject', request.events.map(toMessage));
    if (!result.success) throw new Error(`peer append to ${request.streamId} failed`);
  };
  return {
    settings: { synchronous: synchronous === 2 ? 'FULL' : synchronous === 1 ? 'NORMAL' : String(synchronous), journal },
    /** One call = one transaction. */
    async append(requests) {
      if (requests.length === 1) return appendOne(requests[0]);
      await connection.withTransaction(async () => {
        for (const request of requests) await appendOne(request);
      });
    },
    close: () => connection.close(),
  };
}
