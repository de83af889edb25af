import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/**
 * pino behind Nest's LoggerService (nestjs-pino does not support Nest 12 on Node 20).
 * Log lines carry ids, routes and error classes — never request bodies or personal values.
 */
export class LedgerLogger implements LoggerService {
  readonly pino: Logger;

  constructor(level: string = 'info') {
    // Synchronous writes: the service logs little, and a line logged just before a crash or a
    // signal (an incident id, the admin key file) must not be lost in a buffer.
    this.pino = pino({ level, base: { service: 'privacy-ledger' } }, pino.destination({ dest: 1, sync: true }));
  }

  log(message: unknown, context?: string): void {
    this.pino.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.pino.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.pino.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.pino.trace({ context }, String(message));
  }
}
