export * from './types.ts';
export * from './codec.ts';
export * from './envelope.ts';
export * from './hybrid.ts';
export * from './login-secret.ts';
export * from './common-passwords.ts';
