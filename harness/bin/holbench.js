#!/usr/bin/env node
// Entry point for the `holbench` bin: registers tsx, then runs the TypeScript CLI in-process
// (one process, so Ctrl-C reaches the CLI's own teardown handlers).
import { register } from 'tsx/esm/api';
register();
const { runCli } = await import('../cli.ts');
runCli(process.argv.slice(2));
