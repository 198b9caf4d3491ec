import { describe, expect, it } from 'vitest';
import { isCommonPassword } from '../src/index.ts';

describe('common passwords', () => {
  it.each(['password', '12345678', 'qwertyuiop', 'iloveyou', 'Password', 'PASSWORD1', 'sunshine'])('refuses %j', (password) => {
    expect(isCommonPassword(password)).toBe(true);
  });

  it.each(['correct horse battery', 'bob-secret-pass', 'Tr0ub4dor&3-xK9', ''])('accepts %j', (password) => {
    expect(isCommonPassword(password)).toBe(false);
  });
});
