// The list of CLI commands, in the order `rexrag --help` shows them.
import { demoCommand } from './demo.js';
import { infoCommand } from './info.js';
import type { Command } from './usage.js';

export const commands: readonly Command[] = [demoCommand, infoCommand];
