// Child of projection-rebuild.spec.ts: rebuilds the read models of a log with the compiled runner
// and two worker threads (node rebuild-in-workers.mjs <events.db> <projections.db>), then prints
// the rebuild's report as JSON.
import { SqliteEventStore } from '../../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { ProjectionRunner } from '../../../dist/src/read-models/projection-runner.js';
import { LEDGER_PROJECTIONS } from '../../../dist/projections/index.js';

const [logFile, file] = process.argv.slice(2);
const store = new SqliteEventStore({ file: logFile });
const runner = new ProjectionRunner({ file, store, projections: LEDGER_PROJECTIONS, logFile, rebuildWorkers: 2 });
const report = await runner.rebuild();
await runner.close();
await store.close();
process.stdout.write(JSON.stringify(report));
