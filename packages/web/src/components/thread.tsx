/**
 * One conversation: its messages in a scrolling log that loads older pages
 * when scrolled to the top, the other person's key fingerprint and trust
 * status (a "Verify" button, "Verified" once safety numbers were compared,
 * a warning banner when their key changed without a signed link), and the
 * composer. A file dropped anywhere on the thread is attached.
 *
 * While the Verify screen is open the thread is only hidden, so the draft,
 * a chosen file and the reading position are still there on the way back.
 */
import type { User } from '@securechat/client';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { errorSentence } from '../error-text.ts';
import { formatBytes } from '../format.ts';
import type { ChatMessage, ChatStore } from '../state/conversations.ts';
import { Composer } from './composer.tsx';
import { KeyFingerprint } from './key-fingerprint.tsx';
import { MessageItem } from './message-item.tsx';

/** How close to the top (px) counts as "scrolled to the top". */
const LOAD_OLDER_THRESHOLD = 80;
const NEAR_BOTTOM = 120;
const NONE: ChatMessage[] = [];
/** Matches the one-pane layout in styles.css. */
const NARROW = '(max-width: 720px)';

export function Thread({ chat, peer, onBack, hidden = false }: { chat: ChatStore; peer: User; onBack: () => void; hidden?: boolean }) {
  const loaded = chat.active.value?.messages ?? NONE;
  const from = chat.historyFrom.value;
  const messages = useMemo(() => loaded.filter((m) => m.id >= from), [loaded, from]);
  const history = chat.history.value;
  const loading = chat.loading.value;
  const isSelf = peer.id === chat.me.id;
  const [file, setFile] = useState<File | null>(null);
  const [fileProblem, setFileProblem] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const log = useRef<HTMLDivElement>(null);
  const verifyButton = useRef<HTMLButtonElement>(null);
  const seen = useRef({ firstId: 0, lastId: 0, scrollHeight: 0, scrollTop: 0, nearBottom: true });
  const contact = isSelf ? null : chat.contact(peer.username);

  // Fresh on every opening (one request): a key changed since the SDK last looked shows at once.
  useEffect(() => {
    if (!isSelf) void chat.checkContact(peer.username, { refresh: true });
  }, [peer.id]);

  function chooseFile(chosen: File | null) {
    const limit = chat.maxAttachmentBytes.value;
    if (chosen && chosen.size > limit) {
      setFile(null);
      setFileProblem(
        `“${chosen.name}” is ${formatBytes(chosen.size)}, more than the ${formatBytes(limit)} this server accepts, so it was not attached. Choose a smaller file.`,
      );
      return;
    }
    setFile(chosen);
    setFileProblem(null);
  }

  // Keep the reading position: at the bottom for new messages, in place when older ones arrive above.
  useLayoutEffect(() => {
    const element = log.current;
    if (!element || hidden) return;
    const before = seen.current;
    const firstId = messages[0]?.id ?? 0;
    const last = messages.at(-1);
    const lastId = last?.id ?? 0;
    if (before.lastId === 0) element.scrollTop = element.scrollHeight;
    else if (firstId < before.firstId && lastId === before.lastId) element.scrollTop = before.scrollTop + (element.scrollHeight - before.scrollHeight);
    else if (lastId > before.lastId && (before.nearBottom || last?.sender.id === chat.me.id)) element.scrollTop = element.scrollHeight;
    seen.current = { firstId, lastId, scrollHeight: element.scrollHeight, scrollTop: element.scrollTop, nearBottom: isNearBottom(element) };
  }, [messages]);

  // The log shrinks when something appears above or below it (a sentence over the composer, the key warning):
  // whoever was reading the newest messages keeps seeing them.
  useEffect(() => {
    const element = log.current;
    if (!element || hidden || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (seen.current.nearBottom) element.scrollTop = element.scrollHeight;
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [hidden]);

  // Back from the Verify screen: hiding lost the scroll position; put it back, and the focus near where it was.
  const wasHidden = useRef(hidden);
  useLayoutEffect(() => {
    const element = log.current;
    if (wasHidden.current && !hidden && element) {
      const before = seen.current;
      element.scrollTop = before.nearBottom ? element.scrollHeight : before.scrollTop;
      verifyButton.current?.focus();
    }
    wasHidden.current = hidden;
  }, [hidden]);

  // A short thread does not scroll, so nothing would ever ask for older messages: ask now
  // (not for a conversation with nothing loaded at all, e.g. someone just found by search).
  useEffect(() => {
    const element = log.current;
    const short = element && element.scrollHeight <= element.clientHeight + LOAD_OLDER_THRESHOLD;
    if (short && !hidden && loaded.length > 0 && !loading && history === 'idle') void chat.loadOlder(peer.id);
  }, [messages, loading, history, hidden]);

  function onScroll() {
    const element = log.current;
    if (!element || hidden) return;
    seen.current = { ...seen.current, scrollTop: element.scrollTop, scrollHeight: element.scrollHeight, nearBottom: isNearBottom(element) };
    if (element.scrollTop < LOAD_OLDER_THRESHOLD && !loading && chat.history.value === 'idle') void chat.loadOlder(peer.id);
  }

  return (
    <section
      hidden={hidden}
      class={`thread${dragging ? ' thread--dragging' : ''}`}
      onDragOver={(event) => {
        if (!event.dataTransfer?.types.includes('Files')) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        setDragging(true);
      }}
      onDragLeave={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
      }}
      onKeyDown={(event) => {
        // Escape leaves the thread where only one pane fits (not while a draft is being written).
        const typing = event.target instanceof HTMLTextAreaElement && event.target.value !== '';
        if (event.key === 'Escape' && !typing && matchMedia(NARROW).matches) onBack();
      }}
      onDrop={(event) => {
        event.preventDefault();
        setDragging(false);
        const dropped = event.dataTransfer?.files[0];
        if (dropped) chooseFile(dropped);
      }}
    >
      <header class="thread__header">
        <button type="button" class="secondary thread__back" onClick={onBack}>
          All conversations
        </button>
        <div class="thread__title">
          <div class="thread__name">
            <h2>
              <bdi>{peer.username}</bdi>
            </h2>
            {contact?.verified && (
              <span class="verified-badge" title="You compared safety numbers and they matched.">
                <span aria-hidden="true">✓ </span>Verified
              </span>
            )}
          </div>
          {isSelf && <p class="quiet">Notes to yourself, encrypted like any message.</p>}
          <PeerFingerprint chat={chat} peer={peer} />
          {contact?.keyChange === 'rotated' && (
            <p class="quiet thread__key-note">
              <bdi>{peer.username}</bdi> rotated their key (signed by their previous key).
            </p>
          )}
          {contact && !contact.signs && (
            <p class="quiet thread__key-note">
              <bdi>{peer.username}</bdi> has no signing key (a server-mode account, or one from before signatures): their messages are unsigned.
            </p>
          )}
        </div>
        {!isSelf && (
          <button type="button" ref={verifyButton} class="secondary thread__verify" onClick={() => (chat.verifying.value = peer.id)}>
            Verify <bdi>{peer.username}</bdi>
          </button>
        )}
      </header>
      {contact?.keyChange === 'unverified' && <KeyWarning chat={chat} peer={peer} problem={contact.problem} />}
      <div ref={log} class="thread__log" role="log" aria-label={`Messages with ${peer.username}`} tabIndex={0} onScroll={onScroll} onLoadCapture={() => {
        const element = log.current;
        if (element && seen.current.nearBottom) element.scrollTop = element.scrollHeight;
      }}>
        {history === 'loading' && <p class="thread__history quiet">Loading older messages…</p>}
        {history === 'failed' && <p class="thread__history quiet">Older messages could not be loaded. {chat.historyError.value}</p>}
        {(history === 'idle' || history === 'failed') && !loading && from > 0 && (
          <button type="button" class="link-button thread__older" onClick={() => void chat.loadOlder(peer.id)}>
            Load older messages
          </button>
        )}
        {history === 'done' && messages.length > 0 && (
          <p class="thread__history quiet">
            This is the beginning of your conversation{isSelf ? '' : ' with '}
            {isSelf ? '' : <bdi>{peer.username}</bdi>}.
          </p>
        )}
        {messages.length === 0 && !loading && history !== 'loading' && (
          <p class="thread__empty quiet">{from > 0 ? 'No recent messages.' : 'No messages yet. Say hello!'}</p>
        )}
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} mine={message.sender.id === chat.me.id} />
        ))}
      </div>
      {dragging && (
        <p class="thread__drop-hint" aria-hidden="true">
          Drop the file to attach it
        </p>
      )}
      <Composer chat={chat} peer={peer} file={file} onFile={chooseFile} fileProblem={fileProblem} />
    </section>
  );
}

/** Loud: the contact's current key is not vouched for by the chain from the key pinned for them. */
function KeyWarning({ chat, peer, problem }: { chat: ChatStore; peer: User; problem: string | null }) {
  const [accepting, setAccepting] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  async function accept() {
    setAccepting(true);
    setFailure(null);
    try {
      await chat.acceptKey(peer.username);
    } catch (error) {
      setFailure(`The new key was not accepted: ${errorSentence(error)}`);
    } finally {
      setAccepting(false);
    }
  }
  return (
    <div role="alert" class="key-warning">
      <p class="key-warning__text">
        <span aria-hidden="true">⚠ </span>
        <bdi>{peer.username}</bdi>'s key changed without a signed link from their previous key. The server, or someone with its database, may be
        impersonating them. Compare safety numbers before trusting new messages.
      </p>
      {problem && <p class="key-warning__detail">What the check found: {problem}.</p>}
      <div class="button-row">
        <button type="button" class="secondary" onClick={() => (chat.verifying.value = peer.id)}>
          Verify <bdi>{peer.username}</bdi>
        </button>
        <button type="button" class="danger" onClick={() => void accept()} disabled={accepting}>
          {accepting ? 'Accepting…' : 'Accept new key'}
        </button>
      </div>
      {failure && <p class="error">{failure}</p>}
    </div>
  );
}

function PeerFingerprint({ chat, peer }: { chat: ChatStore; peer: User }) {
  const [publicKey, setPublicKey] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    chat.client.publicKey(peer.username).then(
      (entry) => current && (entry.keyError === null ? setPublicKey(entry.public_key) : setProblem(`this person's key is unusable (${entry.keyError})`)),
      () => current && setProblem('it could not be loaded'),
    );
    return () => {
      current = false;
    };
  }, [peer.id]);
  if (publicKey) return <KeyFingerprint publicKey={publicKey} />;
  return <p class="fingerprint">Key fingerprint: {problem ? `unavailable, ${problem}` : 'loading…'}</p>;
}

function isNearBottom(element: HTMLElement): boolean {
  return element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM;
}
