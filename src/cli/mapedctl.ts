#!/usr/bin/env node
/**
 * mapedctl(8): query and steer maped; offline calculator and decoder.
 */
import { Command } from 'commander';
import { registerCalc } from './calc-command.js';
import { registerDecode } from './decode-command.js';
import { VERSION } from '../version.js';

const program = new Command('mapedctl')
  .description('control the MAP-E CE daemon maped(8)')
  .version(VERSION, '-V, --version')
  .showHelpAfterError();

registerCalc(program);
registerDecode(program);

await program.parseAsync(process.argv);
