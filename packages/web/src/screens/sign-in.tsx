/**
 * Sign-in: "Log in" and "Create account" tabs. End-to-end accounts by
 * default; "Original client account" logs in the old way (the server holds
 * the keys), labelled as weaker.
 */
import { AuthenticationError } from '@securechat/client';
import { useId, useState } from 'preact/hooks';
import { TextField } from '../components/text-field.tsx';
import { errorSentence } from '../error-text.ts';
import { logIn, register } from '../state/session.ts';

type Tab = 'log-in' | 'create';
const TABS: Array<{ tab: Tab; label: string }> = [
  { tab: 'log-in', label: 'Log in' },
  { tab: 'create', label: 'Create account' },
];

export function SignInScreen({ alert }: { alert: string | null }) {
  const ids = useId();
  const [tab, setTab] = useState<Tab>('log-in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [remember, setRemember] = useState(false);
  const [serverMode, setServerMode] = useState(false);
  const [working, setWorking] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(alert);
  const creating = tab === 'create';
  const tabId = (t: Tab) => `${ids}-tab-${t}`;
  const panelId = `${ids}-panel`;
  const rememberHintId = `${ids}-remember-hint`;
  const serverHintId = `${ids}-server-hint`;

  function select(next: Tab) {
    setTab(next);
    setError(null);
    setRepeat('');
  }

  function onTabKey(event: KeyboardEvent) {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
    event.preventDefault();
    const next: Tab = event.key === 'Home' ? 'log-in' : event.key === 'End' ? 'create' : tab === 'log-in' ? 'create' : 'log-in';
    select(next);
    document.getElementById(tabId(next))?.focus();
  }

  async function submit(event: Event) {
    event.preventDefault();
    if (working) return;
    const problem =
      username.trim() === '' ? 'Enter your username.'
      : password === '' ? 'Enter your password.'
      : creating && password !== repeat ? 'The two passwords are not the same. Type them again.'
      : null;
    if (problem) return setError(problem);
    setError(null);
    const mode = !creating && serverMode ? 'server' : 'e2e';
    setWorking(creating ? 'Generating your keys…' : mode === 'e2e' ? 'Deriving keys…' : 'Logging in…');
    try {
      if (creating) await register({ username: username.trim(), password, remember });
      else await logIn({ username: username.trim(), password, remember, mode });
    } catch (e) {
      setWorking(null);
      setError(sentenceFor(e, mode));
    }
  }

  return (
    <main class="centered">
      <div class="card">
        <h1 class="brand-title">SecureChat</h1>
        <p class="quiet">Messages are encrypted in this browser; the server only ever stores ciphertext.</p>
        <div role="tablist" aria-label="Sign in" class="tabs">
          {TABS.map(({ tab: t, label }) => (
            <button
              key={t}
              type="button"
              role="tab"
              id={tabId(t)}
              class="tab"
              aria-selected={tab === t}
              aria-controls={panelId}
              tabIndex={tab === t ? 0 : -1}
              onClick={() => select(t)}
              onKeyDown={onTabKey}
            >
              {label}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={panelId} aria-labelledby={tabId(tab)} class="tabpanel">
          <form onSubmit={submit} noValidate>
            <TextField label="Username" value={username} onValue={setUsername} autoComplete="username" autoFocus required disabled={!!working} />
            <TextField
              label="Password"
              type="password"
              value={password}
              onValue={setPassword}
              autoComplete={creating ? 'new-password' : 'current-password'}
              required
              disabled={!!working}
            />
            {creating && (
              <TextField label="Repeat password" type="password" value={repeat} onValue={setRepeat} autoComplete="new-password" required disabled={!!working} />
            )}
            {creating && <p class="hint">At least 8 characters. Your password opens your keys: nobody, not even the server, can reset it.</p>}
            <div class="check">
              <input id={`${ids}-remember`} type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} aria-describedby={rememberHintId} disabled={!!working} />
              <label for={`${ids}-remember`}>Remember this device</label>
            </div>
            <p class="hint" id={rememberHintId}>
              Stay signed in after a reload, with your keys kept in this browser in a form that cannot be copied out. Only on a device you alone use.
            </p>
            {!creating && (
              <div class="check">
                <input
                  id={`${ids}-server`}
                  type="checkbox"
                  checked={serverMode}
                  onChange={(e) => setServerMode(e.currentTarget.checked)}
                  aria-describedby={serverMode ? serverHintId : undefined}
                  disabled={!!working}
                />
                <label for={`${ids}-server`}>Original client account (server-side keys, weaker)</label>
              </div>
            )}
            {!creating && serverMode && (
              <p class="warning" id={serverHintId}>
                For accounts made with an original SecureChat client: the server keeps their keys and encrypts their messages, so it can read them. Your
                password is sent to the server.
              </p>
            )}
            {error && (
              <p role="alert" class="error">
                {error}
              </p>
            )}
            <button type="submit" class="primary wide" disabled={!!working}>
              {working ?? (creating ? 'Create account' : 'Log in')}
            </button>
            {working && (
              <p class="hint" role="status">
                {creating ? 'Making a key pair and sealing it with your password. This takes a few seconds.' : 'Your password is stretched before it leaves this browser. This takes a moment.'}
              </p>
            )}
          </form>
        </div>
      </div>
    </main>
  );
}

function sentenceFor(error: unknown, mode: 'e2e' | 'server'): string {
  const sentence = errorSentence(error);
  if (error instanceof AuthenticationError && mode === 'e2e') {
    return `${sentence} If this account was made with an original SecureChat client, tick “Original client account”.`;
  }
  return sentence;
}
