import type { User } from '@securechat/client';
import { formatMessageTime } from '../format.ts';
import type { ChatMessage, ChatStore } from '../state/conversations.ts';

/** Conversations, newest activity first; each names the person and its unread count. */
export function ConversationList({ chat, onOpen }: { chat: ChatStore; onOpen: (peer: User) => void }) {
  const summaries = chat.summaries.value;
  const activeId = chat.activePeerId.value;
  return (
    <div class="conversations">
      <h2 class="pane-heading">Conversations</h2>
      {chat.loading.value && summaries.length === 0 ? (
        <p class="quiet">Loading your messages…</p>
      ) : summaries.length === 0 ? (
        <p class="quiet">No conversations yet. Search for someone by username to write to them.</p>
      ) : (
        <ul role="list" class="conversation-list">
          {summaries.map(({ peer, last, unread }) => (
            <li key={peer.id}>
              <button
                type="button"
                class={`conversation${peer.id === activeId ? ' conversation--active' : ''}${unread > 0 ? ' conversation--unread' : ''}`}
                aria-current={peer.id === activeId ? 'true' : undefined}
                onClick={() => onOpen(peer)}
              >
                <span class="conversation__top">
                  <span class="conversation__name">
                    <bdi>{peer.username}</bdi>
                    {peer.id === chat.me.id && <span class="quiet"> (you)</span>}
                  </span>
                  {unread > 0 && <span class="badge">{unread} unread</span>}
                </span>
                <span class="conversation__bottom">
                  <span class="conversation__preview">
                    <bdi>{preview(last, chat.me.id)}</bdi>
                  </span>
                  {last && <span class="conversation__time">{formatMessageTime(last.sentAt)}</span>}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function preview(message: ChatMessage | null, myId: number): string {
  if (!message) return 'No messages yet';
  const prefix = message.sender.id === myId ? 'You: ' : '';
  if (message.text === null) return message.noSenderCopy ? `${prefix}Sent before SecureChat` : `${prefix}Message cannot be read`;
  const text = message.text.replace(/\s+/g, ' ').trim();
  if (text) return prefix + (text.length > 80 ? `${text.slice(0, 80)}…` : text);
  return message.attachment ? `${prefix}File: ${message.attachment.name || 'attachment'}` : `${prefix}(empty message)`;
}
