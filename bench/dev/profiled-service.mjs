// The real ledger service (compiled, dist/) on a data dir, bound to 127.0.0.1, driven over IPC
// by bench/dev/profile-append.mjs so a CPU profile covers only one load window (not start-up).
// argv: <dataDir> <port> [--no-monitors]. Sends { ready: port } when listening.
// IPC requests: { id, cmd: 'profile-start' } · { id, cmd: 'profile-stop', file } · { id, cmd: 'cpu' }
// (process.cpuUsage(), µs) · { id, cmd: 'close' }. Each is answered with { id, ... }.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../../dist/src/config/ledger-config.js';
import { createLedgerApp } from '../../dist/src/http-app.js';
import { LedgerLogger } from '../../dist/src/observability/ledger-logger.js';
import { systemClock } from '../../dist/src/clock.js';

const [dataDir, port, mode] = process.argv.slice(2);
const config = loadConfig({ ...process.env, LEDGER_DATA_DIR: dataDir, PORT: port, HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
const logger = new LedgerLogger('silent');
const app = await createLedgerApp(config, logger, systemClock, { runMonitors: mode !== '--no-monitors' });
await app.listen({ port: Number(port), host: '127.0.0.1' });

const session = new Session();
session.connect();
await session.post('Profiler.enable');
// 100 µs sampling: fine enough for per-event costs of a few µs, coarse enough to stay cheap.
await session.post('Profiler.setSamplingInterval', { interval: 100 });

const commands = {
  'profile-start': async () => {
    await session.post('Profiler.start');
    return {};
  },
  'profile-stop': async ({ file }) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    return { file };
  },
  cpu: async () => ({ cpu: process.cpuUsage() }),
  close: async () => {
    await app.close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

process.on('message', (message) => {
  const run = commands[message.cmd];
  if (!run) return process.send({ id: message.id, error: `unknown command ${message.cmd}` });
  run(message).then(
    (answer) => process.send({ id: message.id, ...answer }),
    (error) => process.send({ id: message.id, error: String(error?.stack ?? error) }),
  );
});
process.send({ ready: Number(port) });
