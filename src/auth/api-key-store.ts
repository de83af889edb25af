import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';

/**
 * Roles: `emitter` appends events; `auditor` reads projections, registers and proofs;
 * `dpo` does what an auditor does, runs the rights workflows and may read decrypted
 * personal values (each such read is recorded); `admin` may do everything and manages keys.
 */
export const ROLES = ['emitter', 'auditor', 'dpo', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

const KEY_FORMAT = /^plk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/**
 * API keys, stored only as SHA-256 of their 256-bit random secret (a slow password hash
 * adds nothing for secrets with that much entropy). The plain key is shown once, at creation.
 *
 * Every request authenticates, so active keys are held in memory by id (their hash and
 * holder, never the secret). The memory is dropped when the file was changed by another
 * connection (SQLite's data_version), and a key revoked here leaves it at once: a revoked
 * key is refused from the next request on.
 */
export class ApiKeyStore {
  private readonly db: Db;
  private readonly byId: Statement;
  private readonly dataVersion: Statement;
  private readonly active = new Map<string, { readonly secretHash: Buffer; readonly info: ApiKeyInfo }>();
  private seenVersion: number;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
      secret_hash BLOB NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)`);
    this.byId = this.db.prepare('SELECT * FROM api_keys WHERE id = ?');
    this.dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    this.seenVersion = this.dataVersion.get() as number;
  }

  create(name: string, role: Role): { key: string; info: ApiKeyInfo } {
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = new Date().toISOString();
    this.db
      .prepare('INSERT INTO api_keys (id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, name, role, sha256(secret), createdAt);
    return { key: `plk_${id}_${secret}`, info: { id, name, role, createdAt, revokedAt: null } };
  }

  /** The key's holder, or null for an unknown, malformed or revoked key. Constant-time compare. */
  authenticate(presented: string): ApiKeyInfo | null {
    const match = KEY_FORMAT.exec(presented);
    if (!match) return null;
    const id = match[1]!;
    const version = this.dataVersion.get() as number;
    if (version !== this.seenVersion) {
      this.active.clear();
      this.seenVersion = version;
    }
    let known = this.active.get(id);
    if (!known) {
      const row = this.byId.get(id) as KeyRow | undefined;
      if (!row || row.revoked_at) return null;
      known = { secretHash: row.secret_hash, info: toInfo(row) };
      this.active.set(id, known);
    }
    return timingSafeEqual(known.secretHash, sha256(match[2]!)) ? known.info : null;
  }

  list(): ApiKeyInfo[] {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at').all() as KeyRow[]).map(toInfo);
  }

  revoke(id: string): boolean {
    this.active.delete(id);
    return this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(new Date().toISOString(), id).changes === 1;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL').get() as { n: number }).n;
  }

  /**
   * First start: with no key at all, create one admin key and write it to
   * <dataDir>/admin.key (mode 0600). Returns the file's path, or null when keys exist.
   */
  bootstrapAdminKey(dataDir: string): string | null {
    const total = (this.db.prepare('SELECT COUNT(*) AS n FROM api_keys').get() as { n: number }).n;
    if (total > 0) return null;
    const file = join(dataDir, 'admin.key');
    const { key } = this.create('bootstrap-admin', 'admin');
    if (existsSync(file)) chmodSync(file, 0o600);
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }

  close(): void {
    this.db.close();
  }
}

interface KeyRow {
  id: string;
  name: string;
  role: Role;
  secret_hash: Buffer;
  created_at: string;
  revoked_at: string | null;
}

function toInfo(row: KeyRow): ApiKeyInfo {
  return { id: row.id, name: row.name, role: row.role, createdAt: row.created_at, revokedAt: row.revoked_at };
}

function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}
