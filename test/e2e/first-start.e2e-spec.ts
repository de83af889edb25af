import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLedger } from '../support/ledger-app.js';

const MAIN = join(process.cwd(), 'dist/src/main.js');

/** Starts the compiled service on an ephemeral port and returns its log once it listens. */
async function runServiceUntilListening(env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number | null }> {
  if (!existsSync(MAIN)) throw new Error('run `npm run build` first (npm test does)');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
  delete childEnv['NODE_OPTIONS'];
  const child = spawn(process.execPath, [MAIN], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`service did not start: ${stderr}`))), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('privacy ledger listening')) child.kill('SIGTERM');
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

describe('first start and API keys', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-first-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates one admin key in admin.key (mode 0600) and logs the file, never the key', async () => {
    const run = await runServiceUntilListening({ LEDGER_DATA_DIR: dataDir });
    const file = join(dataDir, 'admin.key');
    const key = readFileSync(file, 'utf8').trim();
    expect(key).toMatch(/^plk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(run.stdout).toContain(file);
    expect(run.stdout + run.stderr).not.toContain(key);
    expect(run.stdout + run.stderr).not.toContain(key.slice(-43));
    // Stored hashed: the secret is in no file of the data dir but admin.key itself.
    for (const name of ['access.db', 'access.db-wal']) {
      const path = join(dataDir, name);
      if (existsSync(path)) expect(readFileSync(path).includes(Buffer.from(key.slice(-43)))).toBe(false);
    }
  }, 60_000);

  it('keeps the admin key on the next start and makes no other', async () => {
    const before = readFileSync(join(dataDir, 'admin.key'), 'utf8');
    const run = await runServiceUntilListening({ LEDGER_DATA_DIR: dataDir });
    expect(run.stdout).not.toContain('admin API key was written');
    expect(readFileSync(join(dataDir, 'admin.key'), 'utf8')).toBe(before);
  }, 60_000);

  it('exits with a message naming the variable when the configuration is invalid', async () => {
    const run = await runServiceUntilListening({ LEDGER_DATA_DIR: dataDir, LEDGER_DURABILITY: 'sometimes' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('LEDGER_DURABILITY');
  }, 60_000);

  it('lists keys without secrets and refuses a revoked key with 401', async () => {
    const ledger = await startLedger({ dataDir });
    try {
      const created = await ledger.http().post('/v1/api-keys').set('authorization', `Bearer ${ledger.adminKey}`).send({ name: 'support-console', role: 'emitter' });
      expect(created.status).toBe(201);
      const { id, key } = created.body as { id: string; key: string };
      const listed = await ledger.http().get('/v1/api-keys').set('authorization', `Bearer ${ledger.adminKey}`);
      expect(JSON.stringify(listed.body)).not.toContain(key.slice(-43));
      expect((listed.body as Array<{ id: string; role: string }>).find((k) => k.id === id)?.role).toBe('emitter');
      expect((await ledger.http().get('/v1/api-keys').set('authorization', `Bearer ${key}`)).status).toBe(403);
      expect((await ledger.http().delete(`/v1/api-keys/${id}`).set('authorization', `Bearer ${ledger.adminKey}`)).status).toBe(204);
      expect((await ledger.http().post('/v1/events').set('authorization', `Bearer ${key}`).send({})).status).toBe(401);
      const bad = await ledger.http().post('/v1/api-keys').set('authorization', `Bearer ${ledger.adminKey}`).send({ name: 'Jane Doe', role: 'root' });
      expect(bad.status).toBe(400);
      expect((bad.body as { errors: Array<{ field: string }> }).errors.map((e) => e.field).sort()).toEqual(['name', 'role']);
    } finally {
      await ledger.close();
    }
  });
});
