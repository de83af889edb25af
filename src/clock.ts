/** The service's notion of "now", injected so deadline rules and tests control time. */
export type Clock = () => Date;
export const CLOCK = Symbol('Clock');
export const systemClock: Clock = () => new Date();
