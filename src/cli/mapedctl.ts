#!/usr/bin/env node
/**
 * mapedctl(8): query and steer maped; offline calculator and decoder.
 */
import { registerCalc } from './calc-command.js';
import { registerDecode } from './decode-command.js';
import { registerControl } from './ctl-commands.js';
import { DEFAULT_SOCKET_PATH } from '../control/protocol.js';
import { VERSION } from '../version.js';
import { parseCommandLine, socketArgument, UsageLineCommand } from './usage-line.js';

const program = new UsageLineCommand('mapedctl')
  .usage('[-s socket] command [argument ...]')
  .description('control the MAP-E CE daemon maped(8)')
  .version(VERSION, '-V, --version')
  .option('-s <socket>', 'control socket of maped', socketArgument, DEFAULT_SOCKET_PATH);

registerControl(program);
registerCalc(program);
registerDecode(program);

await parseCommandLine(program, process.argv);
