import { describe, expect, it } from 'vitest';
import { isCommonPassword } from '../src/index.ts';

describe('common passwords', () => {
  it.each(['password', '12345678', 'qwertyuiop', 'iloveyou', 'Password', 'PASSWORD1', 'sunshine'])('refuses %j', async (password) => {
    expect(await isCommonPassword(password)).toBe(true);
  });

  it.each(['correct horse battery', 'bob-secret-pass', 'Tr0ub4dor&3-xK9', ''])('accepts %j', async (password) => {
    expect(await isCommonPassword(password)).toBe(false);
  });
});
