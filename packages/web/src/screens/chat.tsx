/** The unlocked app: header, conversations (with people search) and the open thread, or settings. */
import type { User } from '@securechat/client';
import { useEffect, useState } from 'preact/hooks';
import { ConversationList } from '../components/conversation-list.tsx';
import { LiveStatus } from '../components/live-status.tsx';
import { PeopleSearch } from '../components/people-search.tsx';
import { Thread } from '../components/thread.tsx';
import type { ChatStore } from '../state/conversations.ts';
import { logOut, showSettings } from '../state/session.ts';
import { SettingsScreen } from './settings.tsx';
import { VerifyScreen } from './verify.tsx';

export function ChatScreen({ chat, view }: { chat: ChatStore; view: 'conversations' | 'settings' }) {
  const [leaving, setLeaving] = useState(false);
  const unread = chat.totalUnread.value;
  const active = chat.active.value;
  const verifying = active !== null && chat.verifying.value === active.peer.id;

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) SecureChat` : 'SecureChat';
    return () => {
      document.title = 'SecureChat';
    };
  }, [unread]);

  function open(peer: User | null) {
    chat.openConversation(peer);
  }

  /** Narrow screens: from the thread back to the list, with the focus where the list starts. */
  function backToList() {
    open(null);
    requestAnimationFrame(() => document.querySelector<HTMLElement>('.sidebar input')?.focus());
  }

  async function leave() {
    setLeaving(true);
    await logOut();
  }

  return (
    <div class={`app${active && view === 'conversations' ? ' app--thread-open' : ''}`}>
      <header class="app-header">
        <h1 class="app-header__brand">SecureChat</h1>
        <p class="app-header__user">
          <span class="visually-hidden">Signed in as </span>
          <bdi>{chat.me.username}</bdi>
        </p>
        <LiveStatus state={chat.liveState.value} />
        <div class="app-header__actions">
          {view === 'conversations' && (
            <button type="button" class="secondary" onClick={() => showSettings(true)}>
              Settings
            </button>
          )}
          <button type="button" class="secondary" onClick={leave} disabled={leaving}>
            Log out
          </button>
        </div>
      </header>
      {chat.notice.value && (
        <div class="notice">
          <p>{chat.notice.value}</p>
          <button type="button" class="link-button" onClick={() => (chat.notice.value = null)}>
            Dismiss
          </button>
        </div>
      )}
      {view === 'settings' ? (
        <SettingsScreen chat={chat} />
      ) : (
        <div class="panes">
          <nav class="sidebar" aria-label="Conversations">
            <PeopleSearch chat={chat} onChoose={open}>
              <ConversationList chat={chat} onOpen={open} />
            </PeopleSearch>
          </nav>
          <main class="main">
            {chat.loadError.value ? (
              <div class="empty">
                <p role="alert" class="error">
                  {chat.loadError.value}
                </p>
                <button type="button" class="primary" onClick={() => void chat.start()}>
                  Try again
                </button>
              </div>
            ) : active ? (
              <>
                <Thread key={active.peer.id} chat={chat} peer={active.peer} onBack={backToList} hidden={verifying} />
                {verifying && <VerifyScreen key={active.peer.id} chat={chat} peer={active.peer} onBack={() => (chat.verifying.value = null)} />}
              </>
            ) : (
              <div class="empty">
                <h2>No conversation open</h2>
                <p class="quiet">Choose a conversation, or search for people by username to start one.</p>
              </div>
            )}
          </main>
        </div>
      )}
    </div>
  );
}
