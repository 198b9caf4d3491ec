/**
 * How the CLI shows who wrote a message and whether a contact's key can be
 * trusted (API.md B 11): a short mark in tables, with a legend line under any
 * table that has one, and a sentence in `read` and `watch`.
 *
 *   !  invalid signature: forged, altered, re-labelled or replayed — not from its sender
 *   ?  unsigned: nothing proves who wrote it (server-mode accounts, older messages)
 *   K  the sender's key changed and nothing vouches for the new one
 *   ✓  (users) the safety number was compared and confirmed
 */
import type { ContactStatus, MessageTrust } from '../index.ts';
import { terminalLine as line } from './terminal-text.ts';

/** '' for a verified message; else '!' or '?', and/or 'K'. */
export function messageMark(m: MessageTrust): string {
  const signature = m.signature === 'invalid' ? '!' : m.signature === 'unsigned' ? '?' : '';
  return signature + (m.keyChange === 'unverified' ? 'K' : '');
}

/** What each message mark means, in the order shown. */
export const MESSAGE_LEGEND: Array<[string, string]> = [
  ['!', 'invalid signature: not from its sender (forged, altered or replayed)'],
  ['?', 'unsigned: nothing proves who wrote it'],
  ['K', "the sender's key changed without a chain vouching for it (securechat verify USER)"],
];

/** A contact's mark: 'K' unverified key change, '?' no signing key, '✓' safety number confirmed. */
export function contactMark(c: Pick<ContactStatus, 'keyChange' | 'signs' | 'verified'> | null): string {
  if (!c || c.keyChange === 'unverified') return 'K';
  if (!c.signs) return '?';
  return c.verified ? '✓' : '';
}

export const CONTACT_LEGEND: Array<[string, string]> = [
  ['K', 'key changed without a chain vouching for it: do not trust it (securechat verify USER)'],
  ['?', 'no signing key: their messages are unsigned'],
  ['✓', 'safety number confirmed'],
];

/**
 * The legend of the marks that occur, one per line under a table
 * ("Marks: ! …", then aligned lines); nothing when no row is marked.
 */
export function legendFor(marks: string[], legend: Array<[string, string]>): string {
  const used = legend.filter(([mark]) => marks.some((m) => m.includes(mark)));
  return used.map(([mark, text], i) => `\n${i === 0 ? 'Marks: ' : '       '}${mark} ${text}`).join('');
}

/**
 * Lines about who wrote a message, for `read` (`quiet: false`: also when all
 * is well) and `watch` (`quiet`: only warnings).
 */
export function trustLines(m: MessageTrust & { sender: { username: string } }, { quiet }: { quiet: boolean }): string[] {
  const who = line(m.sender.username);
  const why = m.trustProblem ? `: ${line(m.trustProblem)}` : '';
  const lines: string[] = [];
  if (m.signature === 'valid' && !quiet) {
    lines.push(m.keyChange === 'rotated' ? `Signed by ${who} (a newer key, vouched for by the key you pinned): valid.` : `Signed by ${who}: valid.`);
  }
  if (m.signature === 'unsigned') lines.push(`? Unsigned: nothing proves that ${who} wrote this.`);
  if (m.signature === 'invalid') lines.push(`! NOT VERIFIED — the signature is invalid${why}. Do not trust that ${who} wrote this.`);
  if (m.keyChange === 'unverified') {
    lines.push(`K WARNING: ${who}'s key changed and nothing vouches for the new one. Compare safety numbers: securechat verify ${who}`);
  }
  return lines;
}
