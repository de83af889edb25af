import { ConsumerStoppedError } from '../../event-store/log-feed.js';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { EventIdConflictError, WrongExpectedRevisionError } from '../../event-store/event-store.port.js';
import { KeyStoreUnavailableError, SubjectKeyShreddedError } from '../../crypto/subject-keyring.js';
import { PlannedEventRejection } from '../domain/plan-append.js';
import type { FieldError } from '../commands/record-events/validation.js';
import type { LedgerLogger } from '../../observability/ledger-logger.js';

/** 400 with every refused field and why. */
export class InputRejected extends HttpException {
  constructor(readonly errors: readonly FieldError[]) {
    super(
      {
        statusCode: 400,
        error: 'Bad Request',
        message: errors.map((e) => `${e.field}: ${e.reason}`).join('; '),
        errors,
      },
      400,
    );
  }
}

/** Prefix for fields of the n-th event of a batch: `events[3].data.purpose`. */
export function atIndex(index: number | null): (field: string) => string {
  return (field) => (index === null ? field : `events[${index}].${field}`);
}

/** A fastify request error (body too large, not JSON, wrong media type) as a 4xx naming the body. */
function fastifyClientError(error: unknown): ErrorBody | null {
  if (typeof error !== 'object' || error === null) return null;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500 || typeof code !== 'string' || !code.startsWith('FST_')) return null;
  const [field, reason] =
    code === 'FST_ERR_CTP_BODY_TOO_LARGE'
      ? ['(body)', 'is larger than the limit of 4 MiB']
      : code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? ['content-type', 'must be application/json']
        : code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? ['(body)', 'is empty']
          : ['(body)', 'is not valid JSON'];
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Bad Request', message: `${field}: ${reason}`, errors: [{ field, reason }] };
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  [extra: string]: unknown;
}

/**
 * Maps every failure to a JSON error. Known refusals become 4xx naming the field and the
 * reason; anything unexpected becomes a 500 that reveals nothing but an incident id, and
 * is logged with its stack under that id.
 */
@Catch()
export class LedgerErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: LedgerLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<{ url?: string; method?: string }>();
    const batch = (request.url ?? '').startsWith('/v1/events/batch');
    const body = this.toBody(exception, batch, request);
    void reply.status(body.statusCode).send(body);
  }

  private toBody(exception: unknown, batch: boolean, request: { url?: string; method?: string }): ErrorBody {
    // Nest's fastify adapter wraps fastify's body-parser errors in an HttpException: unwrap them.
    const bodyError = fastifyClientError(exception) ?? (exception instanceof HttpException ? fastifyClientError(exception.cause) : null);
    if (bodyError) return bodyError;
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const status = exception.getStatus();
      if (typeof response === 'object' && response !== null) return { statusCode: status, ...(response as object) } as ErrorBody;
      return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: String(response) };
    }
    if (exception instanceof PlannedEventRejection) {
      // The rights-request endpoints take the event's data fields at the top level of their body.
      const own = (request.url ?? '').startsWith('/v1/requests') ? exception.rejection.field.replace(/^data\./, '') : exception.rejection.field;
      const field = atIndex(batch ? exception.index : null)(own);
      return {
        statusCode: 409,
        error: 'Conflict',
        message: `${field}: ${exception.rejection.message} (current state: ${exception.rejection.currentState})`,
        field,
        currentState: exception.rejection.currentState,
      };
    }
    if (exception instanceof EventIdConflictError) {
      return {
        statusCode: 409,
        error: 'Conflict',
        message: `eventId ${exception.eventId} was already recorded with a different body`,
        field: 'eventId',
        existing: exception.existing,
      };
    }
    if (exception instanceof WrongExpectedRevisionError) {
      return { statusCode: 409, error: 'Conflict', message: 'the stream changed concurrently; retry the request' };
    }
    if (exception instanceof SubjectKeyShreddedError) {
      return {
        statusCode: 409,
        error: 'Conflict',
        message: "pii: the subject's key was shredded (erasure); personal values can no longer be stored for this subject",
        field: 'pii',
      };
    }
    if (exception instanceof KeyStoreUnavailableError) {
      this.logger.pino.error({ err: exception.cause }, 'subject key store unavailable');
      return { statusCode: 503, error: 'Service Unavailable', message: 'the subject key store is unavailable; nothing was stored' };
    }
    if (exception instanceof ConsumerStoppedError) {
      // The follower is retried from its checkpoint; /health/ready says which one and why.
      return { statusCode: 503, error: 'Service Unavailable', message: `${exception.message}; it is being retried (see /health/ready)` };
    }
    const incident = randomUUID();
    this.logger.pino.error(
      { incident, method: request.method, route: request.url?.split('?')[0], err: exception },
      'unexpected failure',
    );
    return { statusCode: 500, error: 'Internal Server Error', message: `unexpected failure; logged as incident ${incident}` };
  }
}
