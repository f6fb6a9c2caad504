import type { Deps } from '../../platform/deps.js';
import { AdminService } from './service.js';

/** Where `admin create` looks for the password when --password is not given (arguments show up in `ps` and shell history). */
export const ADMIN_PASSWORD_ENV = 'SOCIAL_FLOW_ADMIN_PASSWORD';

/** Read a line from the terminal without echoing it. Ctrl-C or Ctrl-D cancels. */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (err: Error | null) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(null);
        // Raw mode turns Ctrl-C into a character instead of SIGINT.
        if (ch === '\u0003' || ch === '\u0004') return finish(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    output.write(question);
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}

/** --password, else the environment, else a prompt (twice, since nobody sees what they typed). */
export async function resolveAdminPassword(given: string | undefined, env: NodeJS.ProcessEnv = process.env, input: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (given !== undefined) return given;
  const fromEnv = env[ADMIN_PASSWORD_ENV];
  if (fromEnv) return fromEnv;
  if (!input.isTTY) throw new Error(`no password: pass --password, set ${ADMIN_PASSWORD_ENV}, or run the command in a terminal to be asked`);
  const first = await promptHidden('Password for the admin account: ', input);
  const second = await promptHidden('Repeat it: ', input);
  if (first !== second) throw new Error('the two passwords differ');
  return first;
}

/** `social-flow admin create`: the line to print on success. */
export async function adminCreateCommand(deps: Deps, input: { email: string; username: string; password: string }): Promise<string> {
  const { user, outcome } = await new AdminService(deps).createAdmin(input);
  switch (outcome) {
    case 'created':
      return `admin ${user.username} created (id ${user.id}); sign in with ${user.email ?? user.username}`;
    case 'promoted':
      return `existing account ${user.username} (id ${user.id}) is now an admin; its password is unchanged${user.state === 'active' ? '' : ` and it is still ${user.state}`}`;
    default:
      return `${user.username} (id ${user.id}) is already an admin; nothing changed`;
  }
}

/** `social-flow admin rotate-keys`: the line to print on success. */
export async function adminRotateKeysCommand(deps: Deps): Promise<string> {
  const kid = await new AdminService(deps).rotateSigningKeys(null, 'social-flow admin rotate-keys');
  return `new signing key ${kid}; tokens signed by the old key keep working until they expire`;
}
