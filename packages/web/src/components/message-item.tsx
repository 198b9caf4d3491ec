import type { MessageTrust } from '@securechat/client';
import { formatMessageTime } from '../format.ts';
import type { ChatMessage } from '../state/conversations.ts';
import { AttachmentView } from './attachment-view.tsx';

/** One message: text only as text (never HTML, links not clickable), in its own bidi isolate; marks say who can be proven to have written it. */
export function MessageItem({ message, mine }: { message: ChatMessage; mine: boolean }) {
  const { trust } = message;
  const forged = trust.signature === 'invalid';
  return (
    <article class={`message ${mine ? 'message--mine' : 'message--theirs'}${forged ? ' message--not-verified' : ''}`}>
      <header class="message__meta">
        <span class="message__sender">{mine ? 'You' : <bdi>{message.sender.username}</bdi>}</span>
        <time dateTime={message.sentAt}>{formatMessageTime(message.sentAt)}</time>
        <QuietMarks trust={trust} sender={mine ? null : message.sender.username} />
      </header>
      {forged && <NotVerified trust={trust} />}
      {message.text === null ? (
        message.noSenderCopy ? (
          <p class="message__no-copy quiet" title={NO_COPY_WHY}>
            {NO_COPY}
          </p>
        ) : (
          <p class="message__unreadable">This message cannot be read: {message.unreadableReason}.</p>
        )
      ) : (
        message.text !== '' && (
          <p class="message__text" dir="auto">
            {message.text}
          </p>
        )
      )}
      {message.attachment && message.text !== null && <AttachmentView attachment={message.attachment} />}
    </article>
  );
}

/** One's own message imported from the original backend: nothing is wrong, there is only no copy to open (calm, not an error). */
const NO_COPY = 'Sent before SecureChat — no copy was kept for you, the sender.';
const NO_COPY_WHY = 'The original server wrapped each message’s key for its recipient only, so there is no copy here for you to open.';

const UNSIGNED = 'Sent by an older client or from a server-mode account: it has no signature, so nothing proves who wrote it.';

/**
 * Small marks in the message's header line: "Unsigned" (calm: common for
 * older clients and server-mode accounts) and "Key not vouched for". Each is
 * text, with its explanation as a tooltip and for screen readers.
 */
function QuietMarks({ trust, sender }: { trust: MessageTrust; sender: string | null }) {
  const keyProblem =
    `${sender === null ? 'Your key' : `${sender}'s key`} changed and nothing vouches for the new one${trust.trustProblem ? ` (${trust.trustProblem})` : ''}. ` +
    'Compare safety numbers before trusting this message.';
  return (
    <>
      {trust.signature === 'unsigned' && (
        <span class="trust-mark trust-mark--unsigned" title={UNSIGNED}>
          <span>Unsigned</span>
          <span class="visually-hidden">: {UNSIGNED}</span>
        </span>
      )}
      {trust.keyChange === 'unverified' && (
        <span class="trust-mark trust-mark--key" title={keyProblem}>
          <span aria-hidden="true">⚠ </span>
          <span>Key not vouched for</span>
          <span class="visually-hidden">: {keyProblem}</span>
        </span>
      )}
    </>
  );
}

/** A loud line above the text of a message whose signature fails: forged, altered, re-labelled or replayed. */
function NotVerified({ trust }: { trust: MessageTrust }) {
  if (trust.replayOf !== null) {
    return (
      <p class="trust-warning" title={trust.trustProblem ?? undefined}>
        <span aria-hidden="true">⚠ </span>
        Repeated message (replay of an earlier one)
        <span class="visually-hidden">: {asSentence(trust.trustProblem ?? '')}</span>
      </p>
    );
  }
  return (
    <p class="trust-warning">
      <span aria-hidden="true">⚠ </span>
      Not verified: {asSentence(trust.trustProblem ?? 'its signature does not match the message')}
    </p>
  );
}

function asSentence(fragment: string): string {
  const trimmed = fragment.trim();
  return trimmed === '' || /[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
