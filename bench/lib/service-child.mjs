// Runs the real ledger service (compiled) on a data dir, bound to 127.0.0.1 only.
// argv: <dataDir> <port> [--no-monitors]. Prints "READY <port>" when listening; exits on SIGTERM.
// Over IPC (when started with one) it answers { id, cmd: 'cpu' } with { id, cpu } (process.cpuUsage()).
// --no-monitors is a diagnostic: the same app (createLedgerApp) with the compliance monitor and
// webhook alerts not started (runMonitors: false, as the CLI runs it), to show what they cost.
import 'reflect-metadata';
import { loadConfig } from '../../dist/src/config/ledger-config.js';
import { createLedgerApp } from '../../dist/src/http-app.js';
import { LedgerLogger } from '../../dist/src/observability/ledger-logger.js';
import { systemClock } from '../../dist/src/clock.js';

const [dataDir, port, mode] = process.argv.slice(2);
const config = loadConfig({ ...process.env, LEDGER_DATA_DIR: dataDir, PORT: port, HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
const logger = new LedgerLogger('silent');
const app = await createLedgerApp(config, logger, systemClock, { runMonitors: mode !== '--no-monitors' });
await app.listen(Number(port), '127.0.0.1');
process.stdout.write(`READY ${port}\n`);
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('message', (m) => {
  if (m?.cmd === 'cpu') process.send({ id: m.id, cpu: process.cpuUsage() });
  else process.send({ id: m?.id, error: `unknown command ${m?.cmd}` });
});
// The IPC channel must not keep the service alive on its own (it stops on SIGTERM).
process.channel?.unref();
