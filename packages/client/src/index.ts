export {
  SecureChatClient, type Attachment, type CheckedPublicKeyEntry, type ClientOptions, type ListOptions, type Mode, type OutgoingMessage,
  type SendOptions, type SendProgress, type ServerLimits,
} from './client.ts';
export { NO_SENDER_COPY, type DecryptedMessage, type MailboxMessage, type UnreadableMessage } from './open-message.ts';
export type {
  LiveMessage, StateChange, SubscribeOptions, Subscription, SubscriptionEvent, SubscriptionState, WebSocketConstructor, WebSocketLike,
} from './subscription.ts';
export type { DeviceSigningKey } from './keychain.ts';
export { isContactPin, MemoryPinStore, type ContactPin, type PinStore } from './pins.ts';
export type { ContactStatus, KeyChain, KeyChange, MessageTrust, SignatureStatus } from './trust.ts';
export { fingerprint, parsePublicKey, publicKeyDer, publicKeyProblem } from './public-key.ts';
export type { RetryOptions } from './transport.ts';
export * from './errors.ts';
export type { Envelope, KeyVersion, Message, PublicKeyEntry, Session, User } from '@securechat/protocol';
