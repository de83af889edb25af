import { addDuration, covers, dated, earliest, evidenceOf, type ComplianceRule, type Cure, type EvidenceRef, type Finding } from '../rule.js';

interface Held {
  readonly collected: EvidenceRef;
  readonly category: string;
  readonly activityId: string;
  /** When the category must be gone, from the retention the activity registered at collection. */
  readonly deadline: string;
}

export interface RetentionExceededState {
  /** Collected categories neither erased nor overdue yet, in the order collected. */
  readonly held: readonly Held[];
  /** Categories with a violation open and waiting for their erasure (each category once). */
  readonly overdue: readonly string[];
  /** Verdicts erasures made final since the last judgement: late erasures (cured findings)… */
  readonly settled: readonly Finding[];
  /** …and erasures in time (keys cleared). */
  readonly cleared: readonly string[];
  /** Erasures of overdue categories since the last judgement. */
  readonly cures: readonly Cure[];
}

function keyOf(h: Held): string {
  return `${h.collected.eventId}:${h.category}:${h.activityId}`;
}

function findingOf(h: Held): Finding {
  return { key: keyOf(h), openedAt: h.deadline, evidence: [h.collected], detail: `${h.category} collected for ${h.activityId} was due for erasure at ${h.deadline}` };
}

/**
 * Storage limitation — GDPR Art. 5(1)(e): data is kept no longer than the retention its
 * processing activity registers (video 10 or 30 days by plan, motion signals seconds,
 * account data until termination). Opens when the period ends with the data not erased;
 * resolved when it is finally erased (any erasure of the category, or shredding the key).
 *
 * State: a collected category is held only while it is within its retention and not erased.
 * Its erasure makes its verdict final at once (late: cured; in time: cleared), reported by the
 * next judgement and dropped. When a judgement finds it overdue, it leaves the state as an open
 * violation `awaiting` its category: the state keeps only which categories are overdue, and the
 * first later erasure covering one is a `Cure` for every violation awaiting it. So the state is
 * bounded by what is still within its retention, plus the categories of the vocabulary.
 */
export const retentionExceededRule: ComplianceRule<RetentionExceededState> = {
  id: 'retention-exceeded',
  article: 'Art. 5(1)(e)',
  title: 'Data kept beyond its registered retention',
  scope: 'subject',
  duty: 'deadline',
  initial: () => ({ held: [], overdue: [], settled: [], cleared: [], cures: [] }),
  evolve(state, e, register) {
    const { event } = e;
    if (event.type === 'PersonalDataCollected') {
      const activities = [...register.values()].filter((a) => (event.data.processingActivityId ? a.activityId === event.data.processingActivityId : a.purpose === event.data.purpose));
      const collected: Held[] = [];
      for (const category of event.data.categories) {
        for (const activity of activities) {
          const retention = activity.retention.find((r) => covers(r.category, category));
          const deadline = retention ? addDuration(event.occurredAt, retention.period) : null;
          if (deadline) collected.push({ collected: evidenceOf(e), category, activityId: activity.activityId, deadline });
        }
      }
      return collected.length > 0 ? { ...state, held: [...state.held, ...collected] } : state;
    }
    const erasesAll = event.type === 'SubjectKeyShredded';
    const categories = event.type === 'PersonalDataErased' ? event.data.categories : [];
    if (!erasesAll && categories.length === 0) return state;
    const erases = (category: string) => erasesAll || categories.some((c) => covers(c, category));
    const erasure = dated(e);
    const held: Held[] = [];
    const settled = [...state.settled];
    const cleared = [...state.cleared];
    for (const h of state.held) {
      if (!erases(h.category)) held.push(h);
      else if (erasure.at > h.deadline) settled.push({ ...findingOf(h), resolvedAt: erasure.at, resolvedBy: [erasure.evidence] });
      else cleared.push(keyOf(h));
    }
    const cured = state.overdue.filter(erases);
    return {
      held,
      overdue: state.overdue.filter((c) => !erases(c)),
      settled,
      cleared,
      cures: [...state.cures, ...cured.map((awaiting) => ({ awaiting, at: erasure.at, by: [erasure.evidence] }))],
    };
  },
  judge(state, now) {
    const findings: Finding[] = [...state.settled];
    const held: Held[] = [];
    const overdue = new Set(state.overdue);
    for (const h of state.held) {
      if (now > h.deadline) {
        findings.push({ ...findingOf(h), awaiting: h.category });
        overdue.add(h.category);
      } else {
        held.push(h);
      }
    }
    return {
      findings,
      cleared: state.cleared,
      cures: state.cures,
      nextDeadline: earliest(held.map((h) => h.deadline)),
      state: { held, overdue: [...overdue], settled: [], cleared: [], cures: [] },
    };
  },
};
