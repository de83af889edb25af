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
  const app = await createLedgerApp(config);
  await app.listen({ port: config.port, host: config.host });
  process.stdout.write(`privacy ledger listening on http://${config.host}:${config.port} (docs at /docs, data in ${config.dataDir})\n`);
}

void main();
