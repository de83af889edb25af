import type { Projection } from './projection.js';
import { subjectTimelineProjection } from './subject-timeline/subject-timeline.projection.js';

/** Every read model the service maintains, in the order the runner applies them. */
export const LEDGER_PROJECTIONS: readonly Projection[] = [subjectTimelineProjection];
