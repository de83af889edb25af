import { ConfigError, loadConfig } from './config/ledger-config.js';
import { createLedgerApp } from './http-app.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let app;
  try {
    app = await createLedgerApp(config);
  } catch (error) {
    // Start-up failures (unreachable event store, a data dir in use, unreadable keys) end the
    // process with their message, not a stack trace.
    process.stderr.write(`privacy ledger cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  await app.listen({ port: config.port, host: config.host });
  process.stdout.write(`privacy ledger listening on http://${config.host}:${config.port} (docs at /docs, data in ${config.dataDir})\n`);
}

void main();
