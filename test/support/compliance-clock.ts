import type { Clock } from '../../src/clock.js';

/**
 * A clock the test sets. Frozen (the default) it reads exactly what was set; flowing, it
 * reads what was set plus the real time elapsed since — for tests where something also waits
 * on real time (webhook backoff) while the test still jumps days ahead.
 */
export class TestClock {
  private base: number;
  private setAt: number;

  constructor(
    start: string | Date = new Date(),
    private readonly flowing = false,
  ) {
    this.base = new Date(start).getTime();
    this.setAt = Date.now();
  }

  readonly now: Clock = () => new Date(this.flowing ? this.base + (Date.now() - this.setAt) : this.base);

  iso(): string {
    return this.now().toISOString();
  }

  set(at: string | Date): void {
    this.base = new Date(at).getTime();
    this.setAt = Date.now();
  }

  advance(ms: number): void {
    this.set(new Date(this.now().getTime() + ms));
  }
}
