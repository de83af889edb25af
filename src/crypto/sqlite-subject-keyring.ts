import { randomBytes, createCipheriv, createDecipheriv } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { KeyStoreUnavailableError, SubjectKeyShreddedError, type SubjectKeyring } from './subject-keyring.js';

/**
 * Subject keys in their own SQLite file (keys.db), never in the event log.
 * - Each key is wrapped with AES-256-GCM under the key-encryption key, bound to its subject id.
 * - `secure_delete` overwrites freed pages and the rollback journal (not WAL) disappears
 *   after each commit, so a shredded key leaves no copy in any file of the data dir.
 * - A tombstone row remembers that the subject was shredded, so a key is never re-created
 *   for personal values of an erased subject.
 */
export class SqliteSubjectKeyring implements SubjectKeyring {
  private readonly db: Db;
  private readonly get: Statement;
  private readonly insert: Statement;
  private readonly tombstone: Statement;
  private readonly cache = new Map<string, Buffer>();

  constructor(
    file: string,
    private readonly kek: Buffer,
    private readonly cacheSize = 10_000,
  ) {
    if (kek.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = DELETE');
    this.db.pragma('secure_delete = ON');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS subject_keys (
      subject_id  TEXT PRIMARY KEY,
      wrapped_key BLOB,
      created_at  TEXT NOT NULL,
      shredded_at TEXT
    )`);
    this.get = this.db.prepare('SELECT wrapped_key, shredded_at FROM subject_keys WHERE subject_id = ?');
    this.insert = this.db.prepare('INSERT INTO subject_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?)');
    this.tombstone = this.db.prepare(
      "INSERT INTO subject_keys (subject_id, wrapped_key, created_at, shredded_at) VALUES (?, NULL, ?, ?) ON CONFLICT(subject_id) DO UPDATE SET wrapped_key = NULL, shredded_at = excluded.shredded_at",
    );
  }

  async dataKey(subjectId: string, options: { create: boolean }): Promise<Buffer | null> {
    const cached = this.cache.get(subjectId);
    if (cached) return cached;
    const row = this.read(subjectId);
    if (row?.shredded_at) throw new SubjectKeyShreddedError(subjectId);
    if (row?.wrapped_key) return this.remember(subjectId, this.unwrap(subjectId, row.wrapped_key));
    if (!options.create) return null;
    const key = randomBytes(32);
    try {
      this.insert.run(subjectId, this.wrap(subjectId, key), new Date().toISOString());
    } catch (error) {
      throw new KeyStoreUnavailableError(error);
    }
    return this.remember(subjectId, key);
  }

  async shred(subjectId: string): Promise<boolean> {
    const row = this.read(subjectId);
    if (row?.shredded_at) return false;
    const now = new Date().toISOString();
    try {
      this.tombstone.run(subjectId, now, now);
    } catch (error) {
      throw new KeyStoreUnavailableError(error);
    }
    this.cache.get(subjectId)?.fill(0);
    this.cache.delete(subjectId);
    return row?.wrapped_key != null;
  }

  async isShredded(subjectId: string): Promise<boolean> {
    return Boolean(this.read(subjectId)?.shredded_at);
  }

  private read(subjectId: string): { wrapped_key: Buffer | null; shredded_at: string | null } | undefined {
    try {
      return this.get.get(subjectId) as { wrapped_key: Buffer | null; shredded_at: string | null } | undefined;
    } catch (error) {
      throw new KeyStoreUnavailableError(error);
    }
  }

  async close(): Promise<void> {
    for (const key of this.cache.values()) key.fill(0);
    this.cache.clear();
    this.db.close();
  }

  private remember(subjectId: string, key: Buffer): Buffer {
    this.cache.set(subjectId, key);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    return key;
  }

  private wrap(subjectId: string, key: Buffer): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.kek, nonce);
    cipher.setAAD(Buffer.from(subjectId, 'utf8'));
    const wrapped = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([nonce, wrapped, cipher.getAuthTag()]);
  }

  private unwrap(subjectId: string, blob: Buffer): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.kek, blob.subarray(0, 12));
    decipher.setAAD(Buffer.from(subjectId, 'utf8'));
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    return Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]);
  }
}

/**
 * The key-encryption key: LEDGER_KEK (32 bytes, base64) or, on first start, a random key
 * written to <dataDir>/kek.key with mode 0600. Production deployments should supply it.
 */
export function loadKeyEncryptionKey(dataDir: string, fromEnv: string | undefined): Buffer {
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new Error('LEDGER_KEK: must be 32 bytes, base64-encoded');
    return key;
  }
  const file = join(dataDir, 'kek.key');
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file}: must hold 32 bytes, base64-encoded`);
    return key;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}
