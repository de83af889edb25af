/** `ledgerCli(args, env?)`: the compiled `ledger` command in a child process (see integrity-cli.ts). */
export { CLI, runCli as ledgerCli } from './integrity-cli.js';
