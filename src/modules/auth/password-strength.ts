import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { badRequest } from '../../platform/errors.js';

let estimator: Promise<ZxcvbnFactory> | undefined;
function getEstimator(): Promise<ZxcvbnFactory> {
  // Loaded on first use: the dictionaries take a third of a second to load, and most processes
  // (workers, restarts serving existing sessions) never need them.
  estimator ??= Promise.all([import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]).then(
    ([common, en]) =>
      new ZxcvbnFactory({
        translations: en.translations,
        graphs: common.adjacencyGraphs,
        dictionary: { ...common.dictionary, ...en.dictionary },
      }),
  );
  return estimator;
}

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;
/** zxcvbn score 0-4; 3 means "safely unguessable: moderate protection from offline attacks". */
export const MIN_SCORE = 3;

/**
 * Refuse weak passwords with a message people can act on. The estimator also penalises the
 * user's own username and email, which attackers try first.
 */
export async function assertStrongPassword(password: string, userInputs: string[], field = 'password'): Promise<void> {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw badRequest('auth.weak_password', `password must be at least ${MIN_PASSWORD_LENGTH} characters`, { errors: [{ field, message: `must be at least ${MIN_PASSWORD_LENGTH} characters` }] });
  }
  const result = await (await getEstimator()).checkAsync(password.slice(0, 100), userInputs.filter(Boolean));
  if (result.score < MIN_SCORE) {
    const hint = [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(' ');
    const message = `password is too easy to guess${hint ? `: ${hint}` : ''}`;
    throw badRequest('auth.weak_password', message, { errors: [{ field, message }] });
  }
}
