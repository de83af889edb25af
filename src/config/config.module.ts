export const LEDGER_CONFIG = Symbol('LedgerConfig');
