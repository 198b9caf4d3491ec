export { SecureChatClient, type Attachment, type ClientOptions, type DecryptedMessage, type ListOptions, type Mode, type OutgoingMessage } from './client.ts';
export * from './errors.ts';
export type { Envelope, Message, PublicKeyEntry, Session, User } from '@securechat/protocol';
