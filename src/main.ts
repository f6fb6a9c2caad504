import { Command } from 'commander';
import { config as loadDotenv } from 'dotenv';
import { ConfigError, loadConfig, type Config } from './config.js';
import { runDoctor } from './doctor.js';
import { generateVapidKeys } from './platform/push/index.js';
import { ADMIN_PASSWORD_ENV, adminCreateCommand, adminRotateKeysCommand, resolveAdminPassword } from './modules/admin/cli.js';
import { registerMlCommands } from './modules/recommendations/cli.js';
import type { Deps } from './platform/deps.js';
import { createLogger } from './platform/logger.js';
import { startServer, type Role } from './server.js';
import { version } from './version.js';

/** Progress for people starting the server: plain lines on stderr, while logs stay JSON on stdout. */
const say = (msg: string) => process.stderr.write(`social-flow: ${msg}\n`);

function configOrExit(): Config {
  loadDotenv({ quiet: true });
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`social-flow: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function run(roles: Role[]): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel);
  const t0 = performance.now();
  const server = await startServer(config, logger, roles, { onProgress: say });
  const took = ((performance.now() - t0) / 1000).toFixed(1);
  if (server.url) say(`ready in ${took} s: ${config.publicUrl} (API docs ${config.publicUrl}/docs, roles: ${roles.join(', ')})`);
  else say(`ready in ${took} s (roles: ${roles.join(', ')})`);

  let firstSignalAt = 0;
  const shutdown = (signal: string) => {
    // A terminal's Ctrl-C or a service manager reaches both npm and this process, and npm forwards
    // it again: a repeat within a second is that echo, not an impatient operator.
    if (firstSignalAt) {
      if (Date.now() - firstSignalAt < 1000) return;
      say(`${signal} again: exiting now`);
      process.exit(1);
    }
    firstSignalAt = Date.now();
    say(`${signal}: finishing in-flight requests and jobs, then exiting (send it again to exit at once)`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

const program = new Command()
  .name('social-flow')
  .description('Self-hostable backend for a social video platform')
  .version(version);

program.command('start').description('run every role (api, worker) in one process: the default').action(() => run(['api', 'worker']));
program.command('api').description('run the HTTP + WebSocket API only').action(() => run(['api']));
program.command('worker').description('run background jobs only').action(() => run(['worker']));

program
  .command('migrate')
  .description('apply database migrations (and install the job queue schema), then exit')
  .action(async () => {
    const config = configOrExit();
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const { createDeps, closeDeps } = await import('./platform/deps.js');
    const { defineJobs } = await import('./modules/index.js');
    const deps = await createDeps(config, logger, { onProgress: say });
    defineJobs(deps);
    await deps.jobs.start();
    await closeDeps(deps);
    say('migrations applied');
  });

/** Open the database and the rest, run one admin task, print its line; any failure is one line and exit 1. */
async function adminTask(name: string, work: (deps: Deps) => Promise<string>, prepare?: () => Promise<void>): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  let deps: Deps | undefined;
  const { createDeps, closeDeps } = await import('./platform/deps.js');
  try {
    // Before the database is opened: an embedded one stays locked while someone types a password.
    await prepare?.();
    deps = await createDeps(config, logger);
    const line = await work(deps);
    await closeDeps(deps);
    process.stdout.write(`${line}\n`);
    process.exit(0);
  } catch (err) {
    if (deps) await closeDeps(deps).catch(() => {});
    say(`admin ${name} failed: ${String((err as Error).message ?? err).replace(/\s*\n\s*/g, ' ')}`);
    process.exit(1);
  }
}

const admin = program.command('admin').description('administer accounts and signing keys from the server shell');

admin
  .command('create')
  .description('create the first admin account, or make an existing account (named by both its username and email) an admin')
  .requiredOption('--email <email>', 'email address of the admin account')
  .requiredOption('--username <username>', '3-30 letters, digits or _')
  .option('--password <password>', `password (better: set ${ADMIN_PASSWORD_ENV}, or leave both out to be asked; arguments show up in ps and shell history)`)
  .action(async (opts: { email: string; username: string; password?: string }) => {
    let password = '';
    await adminTask(
      'create',
      (deps) => adminCreateCommand(deps, { email: opts.email, username: opts.username, password }),
      async () => {
        password = await resolveAdminPassword(opts.password);
      },
    );
  });

admin
  .command('rotate-keys')
  .description('start signing access tokens with a new key; nobody is signed out')
  .action(() => adminTask('rotate-keys', adminRotateKeysCommand));

const ml = registerMlCommands(program, { configOrExit, say });

program
  .command('seed')
  .description('fill the database with a synthetic data set (power-law follows, posts, replies, hashtags, likes) for benchmarks')
  .requiredOption('--users <n>', 'accounts to create (user_<n>)')
  .requiredOption('--posts <n>', 'posts to create (about 30% replies)')
  .option('--seed <n>', 'PRNG seed: the same seed gives the same data', '42')
  .option('--password <password>', 'password of every seeded account', 'seed password 42')
  .option('--force', 'add the data even if the database already has users')
  .action(async (opts: { users: string; posts: string; seed: string; password: string; force?: boolean }) => {
    const config = configOrExit();
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const { createDeps, closeDeps } = await import('./platform/deps.js');
    const { defineJobs } = await import('./modules/index.js');
    const { seedDatabase, progressBar } = await import('./modules/seed/seed.js');
    const { hashPassword } = await import('./modules/auth/crypto.js');
    const deps = await createDeps(config, logger, { onProgress: say });
    try {
      defineJobs(deps);
      await deps.jobs.start();
      const r = await seedDatabase(deps.database, {
        users: Number(opts.users),
        posts: Number(opts.posts),
        seed: Number(opts.seed),
        force: opts.force === true,
        passwordHash: await hashPassword(opts.password, config.auth.argon2),
        onProgress: progressBar((s) => process.stderr.write(s), process.stderr.isTTY === true),
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      say(
        `seeded ${r.users} users, ${r.follows} follows, ${r.posts} posts (${r.replies} replies), ${r.hashtags} hashtags, ${r.likes} likes: ` +
          `${r.rows} rows in ${(r.ms / 1000).toFixed(1)} s, ${r.rowsPerSecond} rows/s; sign in as user_<n> with the --password value (default: seed password 42)`,
      );
    } catch (err) {
      await closeDeps(deps).catch(() => {});
      say(`seed failed: ${String((err as Error).message ?? err)}`);
      process.exit(1);
    }
    await closeDeps(deps);
  });

// `ml train` is created by registerMlCommands (recommender); the classifiers join it here.
const mlTrain = ml.commands.find((c) => c.name() === 'train')!;

/** One `ml train <name>` command: open the deps, train, print the cross-validated report. */
function mlTrainAction(task: 'offensive' | 'spam' | 'sentiment') {
  return async (opts: { data: string; format?: string; folds?: string; seed?: string; force?: boolean }) => {
    const { mlTrainCommand } = await import('./modules/moderation/cli.js');
    await adminTask(`ml train ${task}`, (deps) => mlTrainCommand(deps, task, opts));
  };
}

for (const [name, task, what] of [
  ['moderation', 'offensive', 'the offensive-language classifier (labels 0 not-offensive, 1 offensive)'],
  ['spam', 'spam', 'the comment-spam classifier (labels 0 ham, 1 spam)'],
  ['sentiment', 'sentiment', 'the comment sentiment model (labels 0 negative, 1 neutral, 2 positive); kept only if it beats the VADER lexicon'],
] as const) {
  mlTrain
    .command(name)
    .description(`train ${what}`)
    .requiredOption('--data <file>', 'CSV file (RFC 4180) with text,label columns, or the YouTube-spam columns CONTENT,CLASS')
    .option('--format <format>', 'tweeteval | youtube-spam | csv (default: from the header)')
    .option('--folds <n>', 'cross-validation folds', '5')
    .option('--seed <n>', 'seed for the fold split and training order', '7')
    .option('--force', 'use the new model even if it scores worse than the current one')
    .action(mlTrainAction(task));
}

program
  .command('doctor')
  .description('check Node, ffmpeg/ffprobe, database, Redis, storage and SMTP; say what is missing and how to get it')
  .option('--generate-vapid', 'print a fresh VAPID key pair for web push (VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY) and exit')
  .action(async (opts: { generateVapid?: boolean }) => {
    if (opts.generateVapid) {
      const keys = generateVapidKeys();
      process.stdout.write(`# Web push keys: add to .env (keep the private key secret; changing it invalidates every browser subscription)\nVAPID_PUBLIC_KEY=${keys.publicKey}\nVAPID_PRIVATE_KEY=${keys.privateKey}\n`);
      return;
    }
    const config = configOrExit();
    const ok = await runDoctor(config, (line) => process.stdout.write(line + '\n'));
    process.exit(ok ? 0 : 1);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  say(`failed: ${(err as Error).message}`);
  process.exit(1);
});
