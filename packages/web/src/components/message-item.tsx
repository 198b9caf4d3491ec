import { formatMessageTime } from '../format.ts';
import type { ChatMessage } from '../state/conversations.ts';
import { AttachmentView } from './attachment-view.tsx';

/** One message: text only as text (never HTML, links not clickable), in its own bidi isolate. */
export function MessageItem({ message, mine }: { message: ChatMessage; mine: boolean }) {
  return (
    <article class={`message ${mine ? 'message--mine' : 'message--theirs'}`}>
      <header class="message__meta">
        <span class="message__sender">{mine ? 'You' : <bdi>{message.sender.username}</bdi>}</span>
        <time dateTime={message.sentAt}>{formatMessageTime(message.sentAt)}</time>
      </header>
      {message.text === null ? (
        <p class="message__unreadable">This message cannot be read: {message.unreadableReason}.</p>
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
