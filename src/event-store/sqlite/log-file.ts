import { join } from 'node:path';

/** The embedded store's log file in a data dir (also read directly by verify, rebuild and the follower thread). */
export function embeddedLogFile(dataDir: string): string {
  return join(dataDir, 'events.db');
}
