/** Names of the log feed's consumers, for read-your-writes waits and health reports. */
export const FOLLOWERS = {
  /** Every read model in projections/ (one runner, one checkpoint per projection). */
  readModels: 'projections',
  merkleLog: 'merkle-log',
  compliance: 'compliance',
} as const;

export type FollowerName = (typeof FOLLOWERS)[keyof typeof FOLLOWERS];
