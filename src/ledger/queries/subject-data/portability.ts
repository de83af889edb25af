import { stringify } from 'csv-stringify/sync';
import type { PersonalValuesEntry } from './subject-data.queries.js';

/** Art. 20: the personal data the subject provided, in a structured, commonly used format. */
export interface PortabilityExport {
  readonly subjectId: string;
  readonly generatedAt: string;
  readonly format: 'privacy-ledger-portability/1';
  readonly records: Array<{ eventId: string; providedAt: string; categories: string[]; status: 'readable' | 'erased'; values: Record<string, string> | null }>;
}

export function portabilityExport(subjectId: string, entries: readonly PersonalValuesEntry[]): PortabilityExport {
  return {
    subjectId,
    generatedAt: new Date().toISOString(),
    format: 'privacy-ledger-portability/1',
    records: entries.map((e) => ({ eventId: e.eventId, providedAt: e.occurredAt, categories: e.categories, status: e.status, values: e.values })),
  };
}

/** One row per provided value: event, time, categories, field, value ('' once erased). */
export function portabilityCsv(data: PortabilityExport): string {
  const rows: string[][] = [];
  for (const r of data.records) {
    if (!r.values) rows.push([r.eventId, r.providedAt, r.categories.join(' '), '', '', r.status]);
    else for (const [field, value] of Object.entries(r.values)) rows.push([r.eventId, r.providedAt, r.categories.join(' '), field, value, r.status]);
  }
  return stringify(rows, { header: true, columns: ['eventId', 'providedAt', 'categories', 'field', 'value', 'status'] });
}
