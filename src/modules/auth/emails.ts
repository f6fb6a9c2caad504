import type { MailMessage } from '../../platform/mail/types.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function layout(title: string, paragraphs: string[], action?: { label: string; url: string }): string {
  const body = paragraphs.map((p) => `<p>${esc(p)}</p>`).join('\n');
  const button = action
    ? `<p><a href="${esc(action.url)}" style="display:inline-block;padding:10px 18px;background:#2d6cdf;color:#fff;text-decoration:none;border-radius:6px">${esc(action.label)}</a></p>\n<p style="color:#666;font-size:13px">Or open this link: ${esc(action.url)}</p>`
    : '';
  return `<!doctype html><html><body style="font-family:sans-serif;max-width:560px;margin:auto"><h2>${esc(title)}</h2>\n${body}\n${button}</body></html>`;
}

export function verifyEmailMessage(to: string, username: string, link: string, token: string, minutes: number): MailMessage {
  const text = [
    `Hi ${username},`,
    '',
    `Confirm your email address to finish setting up your Social Flow account:`,
    link,
    '',
    `Or enter this code in the app: ${token}`,
    `The link works once and expires in ${minutes} minutes. If you did not sign up, ignore this email.`,
  ].join('\n');
  return {
    to,
    subject: 'Confirm your email address',
    text,
    html: layout('Confirm your email address', [`Hi ${username},`, 'Confirm your email address to finish setting up your Social Flow account.', `The link works once and expires in ${minutes} minutes. If you did not sign up, ignore this email.`], { label: 'Confirm email', url: link }),
  };
}

export function alreadyRegisteredMessage(to: string, loginLink: string, resetLink: string): MailMessage {
  const text = [
    'Someone (hopefully you) tried to create a Social Flow account with this email address, but it already has one.',
    `Sign in: ${loginLink}`,
    `Forgot your password? ${resetLink}`,
    'If it was not you, ignore this email: nothing has changed.',
  ].join('\n');
  return { to, subject: 'You already have an account', text, html: layout('You already have an account', text.split('\n')) };
}

export function resetPasswordMessage(to: string, username: string, link: string, token: string, minutes: number): MailMessage {
  const text = [
    `Hi ${username},`,
    '',
    'Someone asked to reset the password of your Social Flow account. To choose a new one, open:',
    link,
    '',
    `Or enter this code in the app: ${token}`,
    `The link works once and expires in ${minutes} minutes. Resetting signs you out everywhere.`,
    'If it was not you, ignore this email: your password stays as it is.',
  ].join('\n');
  return {
    to,
    subject: 'Reset your password',
    text,
    html: layout('Reset your password', [`Hi ${username},`, 'Someone asked to reset the password of your Social Flow account.', `The link works once and expires in ${minutes} minutes. Resetting signs you out everywhere. If it was not you, ignore this email.`], { label: 'Choose a new password', url: link }),
  };
}

export function passwordChangedMessage(to: string, username: string): MailMessage {
  const text = `Hi ${username},\n\nThe password of your Social Flow account was just changed and other sessions were signed out. If it was not you, reset your password now and contact the site's administrators.`;
  return { to, subject: 'Your password was changed', text, html: layout('Your password was changed', text.split('\n\n')) };
}
