/**
 * Public keys on a thread that is handed them as PEM text (the cipher pool's
 * threads, the SQLite writer thread): cloning a KeyObject into a thread costs
 * more per send than the text, so each thread parses a key once and keeps it
 * by its PEM, as the keyring keeps them on the event loop.
 */
import type { KeyObject } from 'node:crypto';
import { BoundedMap } from '../bounded-map.ts';
import { parsePublicKey } from './keys.ts';

const keysByPem = new BoundedMap<string, KeyObject>(10_000);

export function publicKeyOfPem(pem: string): KeyObject {
  let key = keysByPem.get(pem);
  if (key === undefined) keysByPem.set(pem, (key = parsePublicKey(pem)));
  return key;
}
