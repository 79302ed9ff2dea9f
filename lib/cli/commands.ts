// The list of CLI commands, in the order `rexrag --help` shows them.
import { dashboardCommand } from './dashboard.js';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { generateCommand } from './generate.js';
import { indexCommand } from './index-command.js';
import { infoCommand } from './info.js';
import { logprobsCommand } from './logprobs.js';
import { rolloutCommand } from './rollout.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { experimentCommand } from './experiment.js';
import { makeTinyModelCommand } from './make-tiny-model.js';
import { serveCommand } from './serve.js';
import { sftCommand } from './sft.js';
import type { Command } from './usage.js';

export const commands: readonly Command[] = [demoCommand, infoCommand, generateCommand, logprobsCommand, indexCommand, serveCommand, rolloutCommand, sftCommand, trainCommand, evalCommand, experimentCommand, dashboardCommand, dataCommand, makeTinyModelCommand];
