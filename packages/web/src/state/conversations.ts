/**
 * The unlocked chat: conversations built from the inbox and sent mailboxes
 * (the API has no per-conversation endpoint), grouped by the other person (a
 * message to oneself is a conversation of its own), kept up to date by the
 * SDK's live subscription, with unread counts from per-user read markers.
 *
 * Trust (API.md B 11) comes from the SDK, never from the server: each message
 * carries what the SDK found about who wrote it (`trust`), and `contacts`
 * holds each contact's key status (pinned, rotated with a chain, or changed
 * without one; verified by safety number or not).
 */
import { batch, computed, effect, signal, type Signal } from '@preact/signals';
import {
  UntrustedKeyError, type Attachment, type ContactStatus, type Envelope, type LiveMessage, type MailboxMessage, type MessageTrust, type SecureChatClient,
  type SendProgress, type Subscription, type User,
} from '@securechat/client';
import { errorSentence, isSessionEnded } from '../error-text.ts';
import { loadReadMarkers, saveReadMarkers } from '../tab-storage.ts';

export interface ChatAttachment {
  name: string;
  mime: string;
  /** The decrypted bytes, when they came with the message (mailbox pages, own sends). */
  data: Uint8Array | null;
  /** Fetches and decrypts them otherwise (live messages carry no attachment bytes). */
  fetch: (() => Promise<Required<Attachment> | null>) | null;
}

export interface ChatMessage {
  id: number;
  sender: User;
  recipient: User;
  sentAt: string;
  /** Null when the message cannot be read; `unreadableReason` says why. */
  text: string | null;
  unreadableReason: string | null;
  /**
   * The reader's own message from before SecureChat (imported from the
   * original backend, which kept no copy of its key for the sender): not
   * readable, but nothing is wrong with it (the SDK's `noSenderCopy`).
   */
  noSenderCopy: boolean;
  attachment: ChatAttachment | null;
  /** Who wrote it, as far as the SDK can tell (signature, key change, replay). */
  trust: MessageTrust;
}

export interface Conversation {
  peer: User;
  /** Oldest first. */
  messages: ChatMessage[];
}

export interface ConversationSummary {
  peer: User;
  last: ChatMessage | null;
  unread: number;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'closed';
/** `failed`: the last page could not be loaded; only asking again (a button) retries. */
export type HistoryState = 'idle' | 'loading' | 'done' | 'failed';

/** Until the server says otherwise (GET /api/limits/): its default. */
const DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
const PAGE_SIZE = 50;
/** Pages of each mailbox fetched at most for one "load older" in one thread. */
const OLDER_PAGES_PER_REQUEST = 8;
/** A message hinting that a contact's key changed looks their keys up again at most this often. */
const CONTACT_RECHECK_MS = 10_000;

interface MailboxHistory {
  /** Smallest id loaded from this mailbox; the next older page comes before it. */
  oldestId: number | null;
  done: boolean;
}

export class ChatStore {
  readonly me: User;
  readonly conversations = signal<ReadonlyMap<number, Conversation>>(new Map());
  readonly activePeerId = signal<number | null>(null);
  readonly liveState = signal<LiveState>('connecting');
  readonly loading = signal(true);
  readonly loadError = signal<string | null>(null);
  readonly history = signal<HistoryState>('idle');
  /** Why the last older page failed (with history `failed`). */
  readonly historyError = signal<string | null>(null);
  /**
   * Threads show messages from this id on. The two mailboxes are paged
   * separately, so below the older of their loaded edges one of them may
   * still have messages to come: showing those would leave gaps.
   */
  readonly historyFrom = signal(0);
  /** A calm sentence for the header (e.g. keys changed elsewhere). */
  readonly notice = signal<string | null>(null);
  readonly maxAttachmentBytes = signal(DEFAULT_MAX_ATTACHMENT_BYTES);
  /** Contacts' key status by lowercased username, once looked up (`checkContact`). */
  readonly contacts = signal<ReadonlyMap<string, ContactStatus>>(new Map());
  /** The id of the person whose Verify screen is open (over their thread), or null. */
  readonly verifying = signal<number | null>(null);
  readonly readMarkers: Signal<Record<number, number>>;
  readonly pageVisible = signal(typeof document === 'undefined' || document.visibilityState === 'visible');

  readonly summaries = computed<ConversationSummary[]>(() => {
    const active = this.activePeerId.value;
    const markers = this.readMarkers.value;
    return [...this.conversations.value.values()]
      .filter((conversation) => conversation.messages.length > 0 || conversation.peer.id === active)
      .map((conversation) => ({
        peer: conversation.peer,
        last: conversation.messages.at(-1) ?? null,
        unread: this.#unread(conversation, markers[conversation.peer.id] ?? 0),
      }))
      .sort((a, b) => (b.last?.id ?? Infinity) - (a.last?.id ?? Infinity));
  });

  readonly totalUnread = computed(() => this.summaries.value.reduce((sum, summary) => sum + summary.unread, 0));

  readonly active = computed<Conversation | null>(() => {
    const id = this.activePeerId.value;
    return id === null ? null : (this.conversations.value.get(id) ?? null);
  });

  readonly #client: SecureChatClient;
  readonly #onSessionEnded: () => void;
  readonly #history: Record<'inbox' | 'sent', MailboxHistory> = { inbox: { oldestId: null, done: false }, sent: { oldestId: null, done: false } };
  readonly #disposers: Array<() => void> = [];
  #subscription: Subscription | null = null;
  /**
   * Older history paged in later never counts as unread (on a new device,
   * with no read markers yet, it would otherwise grow with every scroll).
   */
  readonly #unreadFloor = signal<number | null>(null);
  /** Settles when the latest rotation started here has. */
  #rotation: Promise<void> = Promise.resolve();
  /** When a message last made a contact's keys be looked up again. */
  readonly #contactRechecks = new Map<string, number>();
  #stopped = false;

  constructor(client: SecureChatClient, options: { onSessionEnded: () => void }) {
    if (!client.user) throw new Error('The chat needs a signed-in client.');
    this.#client = client;
    this.me = client.user;
    this.#onSessionEnded = options.onSessionEnded;
    this.readMarkers = signal(loadReadMarkers(this.me.id));
    this.#disposers.push(effect(() => this.#markActiveRead()));
    if (typeof document !== 'undefined') {
      const onVisibility = () => (this.pageVisible.value = document.visibilityState === 'visible');
      document.addEventListener('visibilitychange', onVisibility);
      this.#disposers.push(() => document.removeEventListener('visibilitychange', onVisibility));
    }
  }

  get client(): SecureChatClient {
    return this.#client;
  }

  /** Loads recent history, then goes live from there. Safe to call again after a failure. */
  async start(): Promise<void> {
    this.loading.value = true;
    this.loadError.value = null;
    void this.#loadLimits();
    try {
      const [inbox, sent] = await Promise.all([this.#loadPage('inbox'), this.#loadPage('sent')]);
      if (this.#stopped) return;
      batch(() => {
        this.#add([...inbox, ...sent]);
        this.#updateHistoryFrom();
        if (this.#unreadFloor.peek() === null) this.#unreadFloor.value = this.historyFrom.peek();
      });
      this.#subscribe(resumeAfter(inbox, sent));
    } catch (error) {
      this.#failed(error, this.loadError);
    } finally {
      this.loading.value = false;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#subscription?.close();
    this.#subscription = null;
    for (const dispose of this.#disposers.splice(0)) dispose();
    batch(() => {
      this.conversations.value = new Map();
      this.activePeerId.value = null;
    });
  }

  openConversation(peer: User | null): void {
    if (peer && !this.conversations.value.has(peer.id)) {
      const next = new Map(this.conversations.value);
      next.set(peer.id, { peer, messages: [] });
      this.conversations.value = next;
    }
    batch(() => {
      this.activePeerId.value = peer?.id ?? null;
      if (this.verifying.value !== peer?.id) this.verifying.value = null;
    });
  }

  /** The contact's key status as last looked up, or null. */
  contact(username: string): ContactStatus | null {
    return this.contacts.value.get(username.toLowerCase()) ?? null;
  }

  /**
   * Looks up a contact's keys (checked chain against the pin, pinning on first
   * use). Null when the server cannot say (a server without key histories, a
   * network error): the thread then shows no trust status.
   */
  async checkContact(username: string, options: { refresh?: boolean } = {}): Promise<ContactStatus | null> {
    try {
      return this.#setContact(await this.#client.contact(username, options));
    } catch (error) {
      if (isSessionEnded(error)) this.#endSession();
      else console.warn(`SecureChat: the keys of ${username} could not be checked:`, error);
      return null;
    }
  }

  /** The 60-digit safety number of the reader and `username`, in groups of five (about 0.4 s of hashing). */
  safetyNumber(username: string): Promise<string> {
    return this.#client.safetyNumber(username);
  }

  /** The safety numbers matched: the contact is verified while their chain runs from the key it covers. */
  async markVerified(username: string): Promise<ContactStatus> {
    return this.#setContact(await this.#trustCall(() => this.#client.markVerified(username)));
  }

  /** The user accepts a contact's key that nothing vouches for: it becomes their pinned key (and the verified mark goes). */
  async acceptKey(username: string): Promise<ContactStatus> {
    return this.#setContact(await this.#trustCall(() => this.#client.acceptKey(username)));
  }

  async #trustCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isSessionEnded(error)) this.#endSession();
      throw error;
    }
  }

  #setContact(status: ContactStatus): ContactStatus {
    if (this.#stopped) return status;
    const next = new Map(this.contacts.value);
    next.set(status.username, status);
    this.contacts.value = next;
    return status;
  }

  /**
   * A message whose key status differs from what is known of its sender (a key
   * changed since the thread was opened): look the sender's keys up again.
   */
  #recheckContacts(messages: ChatMessage[]): void {
    const now = Date.now();
    for (const message of messages) {
      if (message.sender.id === this.me.id) continue;
      const name = message.sender.username.toLowerCase();
      const known = this.contacts.peek().get(name);
      if (!known || message.trust.keyChange === 'none' || message.trust.keyChange === known.keyChange) continue;
      if (known.keyChange === 'unverified' || now - (this.#contactRechecks.get(name) ?? 0) < CONTACT_RECHECK_MS) continue;
      this.#contactRechecks.set(name, now);
      void this.checkContact(name, { refresh: true });
    }
  }

  /**
   * Older messages for one conversation: pages further back through both
   * mailboxes until that conversation gained a message or history ends.
   */
  async loadOlder(peerId: number): Promise<void> {
    if ((this.history.value !== 'idle' && this.history.value !== 'failed') || this.loading.value) return;
    this.history.value = 'loading';
    this.historyError.value = null;
    try {
      const shown = () => this.conversations.value.get(peerId)?.messages.filter((m) => m.id >= this.historyFrom.value).length ?? 0;
      const before = shown();
      for (let round = 0; round < OLDER_PAGES_PER_REQUEST && shown() === before && !this.#historyDone(); round++) {
        const pages = await Promise.all([this.#loadPage('inbox'), this.#loadPage('sent')]);
        if (this.#stopped) return;
        batch(() => {
          this.#add(pages.flat());
          this.#updateHistoryFrom();
        });
      }
      this.history.value = this.#historyDone() ? 'done' : 'idle';
    } catch (error) {
      this.history.value = 'failed';
      this.#failed(error, this.historyError);
    }
  }

  /** A new key version, made here (Settings → Rotate keys). */
  async rotateKeys(password: string): Promise<Envelope> {
    const rotation = this.#client.rotateKeys(password);
    this.#rotation = rotation.then(() => {}, () => {});
    return rotation;
  }

  /** Encrypts (in e2e mode) and sends; the message joins its conversation once the server stored it. */
  async send(peer: User, text: string, file: File | null, onProgress: (progress: SendProgress) => void): Promise<void> {
    const attachment = file ? { data: new Uint8Array(await file.arrayBuffer()), name: file.name, mime: file.type } : undefined;
    try {
      const stored = await this.#client.send(peer.username, { text, ...(attachment ? { attachment } : {}) }, { onProgress });
      const recipient = isUser(stored.recipient) ? stored.recipient : peer;
      // Written here, so it is ours: signed when this key version signs (an own message read back later is checked by the SDK).
      const signed = typeof stored.signature === 'string';
      this.#add([
        {
          id: stored.id,
          sender: this.me,
          recipient,
          sentAt: typeof stored.sent_at === 'string' ? stored.sent_at : new Date().toISOString(),
          text,
          unreadableReason: null,
          noSenderCopy: false,
          attachment: attachment ? { name: attachment.name, mime: attachment.mime, data: attachment.data, fetch: null } : null,
          trust: {
            signature: signed ? 'valid' : 'unsigned', keyChange: 'none', replayOf: null, verified: signed,
            trustProblem: signed ? null : 'it is unsigned: nothing proves who wrote it',
          },
        },
      ]);
    } catch (error) {
      if (isSessionEnded(error)) this.#endSession();
      // The SDK refused their key: show why in the thread (the warning banner), not only in the composer.
      if (error instanceof UntrustedKeyError) void this.checkContact(peer.username, { refresh: true });
      throw error;
    }
  }

  /** Some SDK call failed: a 401 ends the session, anything else becomes a sentence in `target`. */
  #failed(error: unknown, target: { value: string | null }): void {
    if (isSessionEnded(error)) return this.#endSession();
    target.value = errorSentence(error);
  }

  /** Once: after `stop()` (logged out here) a late 401 or closed subscription means nothing. */
  #endSession(): void {
    if (this.#stopped) return;
    this.stop();
    this.#onSessionEnded();
  }

  async #loadLimits(): Promise<void> {
    try {
      const limits = await this.#client.limits();
      if (Number.isSafeInteger(limits.max_attachment_bytes) && limits.max_attachment_bytes > 0) this.maxAttachmentBytes.value = limits.max_attachment_bytes;
    } catch {
      // The server still refuses what is too big (413); the default is only for the early sentence.
    }
  }

  async #loadPage(mailbox: 'inbox' | 'sent'): Promise<ChatMessage[]> {
    const history = this.#history[mailbox];
    if (history.done) return [];
    const options = { limit: PAGE_SIZE, ...(history.oldestId !== null ? { beforeId: history.oldestId } : {}) };
    const pages = mailbox === 'inbox' ? this.#client.inbox(options) : this.#client.sent(options);
    const messages: ChatMessage[] = [];
    // One page's worth: leaving the loop early stops the SDK from fetching the next page.
    for await (const message of pages) {
      messages.push(fromMailbox(message, this.#client));
      if (messages.length >= PAGE_SIZE) break;
    }
    if (messages.length < PAGE_SIZE) history.done = true;
    const ids = messages.map((m) => m.id).filter((id) => id > 0);
    if (ids.length > 0) history.oldestId = Math.min(history.oldestId ?? Infinity, ...ids);
    return messages;
  }

  #updateHistoryFrom(): void {
    const edge = (history: MailboxHistory) => (history.done ? 0 : (history.oldestId ?? 0));
    this.historyFrom.value = Math.max(edge(this.#history.inbox), edge(this.#history.sent));
  }

  #historyDone(): boolean {
    return this.#history.inbox.done && this.#history.sent.done;
  }

  #subscribe(afterId: number): void {
    this.#subscription = this.#client.subscribe({
      afterId,
      onMessage: (message) => this.#add([fromLive(message)]),
      onEvent: async (event) => {
        if (event.type !== 'key_rotated' || event.unlocked !== false) return;
        // Our own rotation announces itself before the SDK has added the new key: wait for it, then look again.
        await this.#rotation;
        if (this.#client.deviceKeys().some(([keyId]) => keyId === event.key_id)) return;
        this.notice.value = 'Your keys were changed on another device. Log out and log in again to read messages sent to your new key.';
      },
      onStateChange: (change) => {
        this.liveState.value = change.state;
        if (change.state === 'closed' && change.error) this.#endSession();
      },
      onError: (error) => console.warn('SecureChat live updates:', error),
    });
  }

  #add(messages: ChatMessage[]): void {
    if (messages.length === 0) return;
    const next = new Map(this.conversations.value);
    const touched = new Set<number>();
    for (const message of messages) {
      if (message.id <= 0) continue;
      const peer = this.#peerOf(message);
      const conversation = next.get(peer.id);
      const list = touched.has(peer.id) ? conversation!.messages : [...(conversation?.messages ?? [])];
      touched.add(peer.id);
      const index = list.findIndex((existing) => existing.id === message.id);
      if (index === -1) list.push(message);
      else if (list[index]!.attachment && !list[index]!.attachment!.data && message.attachment?.data) list[index] = message;
      next.set(peer.id, { peer: conversation?.peer ?? peer, messages: list });
    }
    for (const peerId of touched) next.get(peerId)!.messages.sort((a, b) => a.id - b.id);
    this.conversations.value = next;
    this.#recheckContacts(messages);
  }

  #peerOf(message: ChatMessage): User {
    return message.sender.id === this.me.id ? message.recipient : message.sender;
  }

  #unread(conversation: Conversation, readUpTo: number): number {
    const floor = this.#unreadFloor.value ?? 0;
    return conversation.messages.filter((m) => this.#isIncoming(m) && m.id > readUpTo && m.id >= floor).length;
  }

  #isIncoming(message: ChatMessage): boolean {
    return message.recipient.id === this.me.id && message.sender.id !== this.me.id;
  }

  /** An open thread on a visible page has been seen: its read marker moves to its newest incoming message. */
  #markActiveRead(): void {
    const conversation = this.active.value;
    if (!conversation || !this.pageVisible.value) return;
    const newest = conversation.messages.reduce((max, m) => (this.#isIncoming(m) ? Math.max(max, m.id) : max), 0);
    const markers = this.readMarkers.peek();
    if (newest <= (markers[conversation.peer.id] ?? 0)) return;
    const next = { ...markers, [conversation.peer.id]: newest };
    this.readMarkers.value = next;
    saveReadMarkers(this.me.id, next);
  }
}

/**
 * Where the live subscription resumes: the newest id both mailboxes are known
 * up to. A repeat is harmless (messages are merged by id); a gap is not.
 */
function resumeAfter(inbox: ChatMessage[], sent: ChatMessage[]): number {
  const newest = (list: ChatMessage[]) => list.reduce((max, m) => Math.max(max, m.id), 0);
  const known = [newest(inbox), newest(sent)].filter((id) => id > 0);
  return known.length === 0 ? 0 : Math.min(...known);
}

function fromMailbox(message: MailboxMessage, client: SecureChatClient): ChatMessage {
  const raw = message.raw as Partial<MailboxMessage['raw']> | null;
  const hasAttachment = raw?.has_attachment === true;
  let attachment: ChatAttachment | null = null;
  if (message.readable && message.attachment) {
    attachment = { name: message.attachment.name, mime: message.attachment.mime, data: message.attachment.data, fetch: null };
  } else if (hasAttachment) {
    const id = message.id;
    attachment = {
      name: typeof raw?.attachment_name === 'string' ? raw.attachment_name : '',
      mime: typeof raw?.attachment_mime === 'string' ? raw.attachment_mime : '',
      data: null,
      fetch: message.readable ? async () => client.decrypt(await client.message(id)).then((full) => full.attachment) : null,
    };
  }
  return {
    id: message.id,
    sender: message.sender,
    recipient: message.recipient,
    sentAt: message.sentAt,
    text: message.readable ? message.text : null,
    unreadableReason: message.readable ? null : message.reason,
    noSenderCopy: !message.readable && message.noSenderCopy === true,
    attachment,
    trust: trustOf(message),
  };
}

function fromLive(message: LiveMessage): ChatMessage {
  const info = message.attachmentInfo;
  return {
    id: message.id,
    sender: message.sender,
    recipient: message.recipient,
    sentAt: message.sentAt,
    text: message.readable ? message.text : null,
    unreadableReason: message.readable ? null : message.reason,
    noSenderCopy: !message.readable && message.noSenderCopy === true,
    attachment: info ? { name: info.name, mime: info.mime, data: null, fetch: message.readable ? () => message.fetchAttachment() : null } : null,
    trust: trustOf(message),
  };
}

/** Only the SDK's findings (not the rest of the message object). */
function trustOf(message: MessageTrust): MessageTrust {
  const { signature, keyChange, replayOf, verified, trustProblem } = message;
  return { signature, keyChange, replayOf, verified, trustProblem };
}

function isUser(value: unknown): value is User {
  const user = value as User | null;
  return typeof user === 'object' && user !== null && Number.isSafeInteger(user.id) && user.id > 0 && typeof user.username === 'string';
}
