/**
 * "Search people": a username prefix search over the SDK's paginated
 * `users()` generator; "Show more" continues the same generator. While a
 * search is typed its results take the place of the conversation list.
 */
import type { CheckedPublicKeyEntry, User } from '@securechat/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { errorSentence } from '../error-text.ts';
import type { ChatStore } from '../state/conversations.ts';
import { KeyFingerprint } from './key-fingerprint.tsx';

const PAGE = 20;
const TYPING_PAUSE_MS = 250;

interface SearchState {
  results: CheckedPublicKeyEntry[];
  more: boolean;
  busy: boolean;
  error: string | null;
}

export function PeopleSearch({ chat, onChoose, children }: { chat: ChatStore; onChoose: (user: User) => void; children: ComponentChildren }) {
  const inputId = useId();
  const [query, setQuery] = useState('');
  const [state, setState] = useState<SearchState>({ results: [], more: false, busy: false, error: null });
  const pages = useRef<AsyncGenerator<CheckedPublicKeyEntry> | null>(null);
  const trimmed = query.trim();

  useEffect(() => {
    pages.current = null;
    if (!trimmed) return setState({ results: [], more: false, busy: false, error: null });
    setState((s) => ({ ...s, busy: true, error: null }));
    const timer = setTimeout(() => {
      const generator = chat.client.users({ search: trimmed, limit: PAGE });
      pages.current = generator;
      void loadMore(generator, []);
    }, TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [trimmed]);

  async function loadMore(generator: AsyncGenerator<CheckedPublicKeyEntry>, shown: CheckedPublicKeyEntry[]) {
    setState({ results: shown, more: false, busy: true, error: null });
    try {
      const next = await take(generator, PAGE);
      if (pages.current !== generator) return; // a newer search replaced this one
      setState({ results: [...shown, ...next], more: next.length === PAGE, busy: false, error: null });
    } catch (error) {
      if (pages.current === generator) setState({ results: shown, more: false, busy: false, error: errorSentence(error) });
    }
  }

  function choose(user: User) {
    setQuery('');
    onChoose(user);
  }

  return (
    <>
      <div class="search field">
        <label for={inputId}>Search people</label>
        <input
          id={inputId}
          type="search"
          value={query}
          placeholder="Username"
          autocomplete="off"
          spellcheck={false}
          autocapitalize="none"
          onInput={(event) => setQuery(event.currentTarget.value)}
          onKeyDown={(event) => event.key === 'Escape' && setQuery('')}
        />
      </div>
      {trimmed === '' ? (
        children
      ) : (
        <div class="search-results">
          <h2 class="pane-heading">People</h2>
          {state.error && <p role="alert" class="error">{state.error}</p>}
          {state.results.length > 0 && (
            <ul role="list" class="people" aria-label="People found">
              {state.results.map((entry) => (
                <li key={entry.user.id} class="person">
                  <button type="button" class="person__name" aria-describedby={`person-key-${entry.user.id}`} onClick={() => choose(entry.user)}>
                    <bdi>{entry.user.username}</bdi>
                  </button>
                  {entry.keyError === null ? (
                    <KeyFingerprint publicKey={entry.public_key} id={`person-key-${entry.user.id}`} />
                  ) : (
                    <p class="fingerprint fingerprint--problem" id={`person-key-${entry.user.id}`}>
                      Key fingerprint unavailable: this person's key is unusable ({entry.keyError}), so messages cannot be sent to them.
                    </p>
                  )}
                </li>
              ))}
            </ul>
          )}
          {state.busy && <p class="quiet">Searching…</p>}
          {!state.busy && !state.error && state.results.length === 0 && <p class="quiet">Nobody’s username starts with “<bdi>{trimmed}</bdi>”.</p>}
          {state.more && !state.busy && (
            <button type="button" class="secondary" onClick={() => pages.current && loadMore(pages.current, state.results)}>
              Show more
            </button>
          )}
        </div>
      )}
    </>
  );
}

/** The next `count` items, without closing the generator (so "Show more" can go on). */
async function take<T>(generator: AsyncGenerator<T>, count: number): Promise<T[]> {
  const items: T[] = [];
  while (items.length < count) {
    const next = await generator.next();
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}
