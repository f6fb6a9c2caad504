import type { Command } from 'commander';
import type { Config } from '../../config.js';
import { createLogger } from '../../platform/logger.js';

export interface CliContext {
  configOrExit: () => Config;
  say: (msg: string) => void;
}

/** A one-line progress bar on a terminal, a line per step change or 10 % otherwise (logs, CI). */
export function trainingProgress(write: (s: string) => void, tty: boolean) {
  let last = '';
  return (step: string, done: number, of: number) => {
    const frac = of > 0 ? Math.min(1, done / of) : 1;
    const width = 30;
    const fill = Math.round(frac * width);
    const line = `${step.padEnd(22)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${of}`;
    const mark = `${step}:${Math.floor(frac * 10)}`;
    if (tty) write(`${last && !last.startsWith(`${step}:`) ? '\n' : ''}\r${line}`);
    else if (mark !== last) write(`${line}\n`);
    last = mark;
  };
}

/**
 * `social-flow ml ...`: training of the learned parts. Each model adds its own `train <name>`
 * command here (recommender now; moderation and spam classifiers next to it).
 */
export function registerMlCommands(program: Command, ctx: CliContext): Command {
  const ml = program.command('ml').description('train the learned parts (recommender, classifiers)');
  const train = ml.command('train').description('train a model now (workers also retrain on a schedule)');
  train
    .command('recommender')
    .description('train a new recommender version from the engagement log; the API keeps serving the previous one until it is stored')
    .action(async () => {
      const config = ctx.configOrExit();
      const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      const { createDeps, closeDeps } = await import('../../platform/deps.js');
      const { trainRecommender } = await import('./trainer.js');
      const deps = await createDeps(config, logger, { onProgress: ctx.say });
      try {
        const tty = process.stderr.isTTY === true;
        const row = await trainRecommender(deps, trainingProgress((s) => process.stderr.write(s), tty));
        if (tty) process.stderr.write('\n');
        ctx.say(`recommender ${row.id} ready: ${row.users} users, ${row.items} items, ${row.interactions} interactions in ${((row.info.trainMs as number) / 1000).toFixed(1)} s`);
        await closeDeps(deps);
        process.exit(0);
      } catch (err) {
        await closeDeps(deps).catch(() => {});
        ctx.say(`ml train recommender failed: ${String((err as Error).message ?? err)}`);
        process.exit(1);
      }
    });
  return ml;
}
