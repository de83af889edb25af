import type { Projection } from './projection.js';
import { breachRegisterProjection } from './breach-register/breach-register.projection.js';
import { processingRegisterProjection } from './processing-register/processing-register.projection.js';
import { subjectRequestsProjection } from './subject-requests/subject-requests.projection.js';
import { subjectTimelineProjection } from './subject-timeline/subject-timeline.projection.js';

/** Every read model the service maintains, in the order the runner applies them. */
export const LEDGER_PROJECTIONS: readonly Projection[] = [
  subjectTimelineProjection,
  subjectRequestsProjection,
  processingRegisterProjection,
  breachRegisterProjection,
];
