/** Settings: rotate keys, change password, sessions (revoke, log out everywhere). */
import type { Session } from '@securechat/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { TextField } from '../components/text-field.tsx';
import { errorSentence, isSessionEnded } from '../error-text.ts';
import { describeUserAgent, formatDateTime } from '../format.ts';
import type { ChatStore } from '../state/conversations.ts';
import { logOutEverywhere, refreshRememberedKeys, sessionEnded, showSettings } from '../state/session.ts';

type Section = 'keys' | 'password' | 'sessions';
/** One sentence at a time, shown in the section it is about. */
type Outcome = { section: Section; ok: boolean; text: string } | null;

export function SettingsScreen({ chat }: { chat: ChatStore }) {
  const client = chat.client;
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [busy, setBusy] = useState<string | null>(null);
  /** Bumped to list the sessions again (a password change logs the others out). */
  const [sessionsVersion, setSessionsVersion] = useState(0);

  /** Runs one action; a 401 means this session is over, anything else is a sentence. */
  async function run(section: Section, label: string, action: () => Promise<string | null>): Promise<boolean> {
    setBusy(label);
    setOutcome(null);
    try {
      const text = await action();
      if (text) setOutcome({ section, ok: true, text });
      return true;
    } catch (error) {
      if (isSessionEnded(error)) sessionEnded();
      else setOutcome({ section, ok: false, text: errorSentence(error) });
      return false;
    } finally {
      setBusy(null);
    }
  }

  const message = (section: Section) =>
    outcome?.section === section ? (
      <p role={outcome.ok ? 'status' : 'alert'} class={outcome.ok ? 'success' : 'error'}>
        {outcome.text}
      </p>
    ) : null;

  return (
    <main class="settings">
      <div class="settings__top">
        <h2>Settings</h2>
        <button type="button" class="secondary" onClick={() => showSettings(false)}>
          Back to chat
        </button>
      </div>
      <KeysSection busy={busy} run={run} message={message('keys')} rotate={async (password) => {
        const envelope = await chat.rotateKeys(password);
        const problem = await refreshRememberedKeys();
        return `Key version ${envelope.key_id} is now in use. Older messages stay readable.${problem ? ` ${problem}` : ''}`;
      }} />
      <PasswordSection busy={busy} run={run} message={message('password')} change={async (current, next) => {
        await client.changePassword(current, next);
        setSessionsVersion((version) => version + 1);
        return 'Your password was changed. Your other sessions were logged out.';
      }} />
      <SessionsSection key={sessionsVersion} busy={busy} run={run} message={message('sessions')} chat={chat} />
    </main>
  );
}

type Run = (section: Section, label: string, action: () => Promise<string | null>) => Promise<boolean>;

interface SectionProps {
  busy: string | null;
  run: Run;
  message: ComponentChildren;
}

function KeysSection({ busy, run, message, rotate }: SectionProps & { rotate: (password: string) => Promise<string> }) {
  const [asking, setAsking] = useState(false);
  const [password, setPassword] = useState('');
  const working = busy === 'rotate';

  async function submit(event: Event) {
    event.preventDefault();
    if (!password) return;
    if (await run('keys', 'rotate', () => rotate(password))) {
      setAsking(false);
      setPassword('');
    }
  }

  return (
    <section class="settings__section">
      <h3 id="settings-keys">Keys</h3>
      <p class="quiet">New messages to you are encrypted to your current key. Rotating makes a new key pair here; older messages stay readable.</p>
      {asking ? (
        <form onSubmit={submit} onKeyDown={(e) => e.key === 'Escape' && !working && setAsking(false)} noValidate>
          <TextField label="Password" type="password" value={password} onValue={setPassword} autoComplete="current-password" autoFocus disabled={working} />
          <div class="button-row">
            <button type="submit" class="primary" disabled={working || !password}>
              {working ? 'Generating a new key…' : 'Rotate'}
            </button>
            <button type="button" class="secondary" onClick={() => setAsking(false)} disabled={working}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button type="button" class="secondary" onClick={() => setAsking(true)} disabled={busy !== null}>
          Rotate keys
        </button>
      )}
      {message}
    </section>
  );
}

function PasswordSection({ busy, run, message, change }: SectionProps & { change: (current: string, next: string) => Promise<string> }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const working = busy === 'password';

  async function submit(event: Event) {
    event.preventDefault();
    const missing = !current ? 'Enter your current password.' : !next ? 'Enter a new password.' : next !== repeat ? 'The new passwords are not the same. Type them again.' : null;
    setProblem(missing);
    if (missing) return;
    if (await run('password', 'password', () => change(current, next))) {
      setCurrent('');
      setNext('');
      setRepeat('');
    }
  }

  return (
    <section class="settings__section">
      <h3 id="settings-password">Password</h3>
      <form onSubmit={submit} noValidate>
        <TextField label="Current password" type="password" value={current} onValue={setCurrent} autoComplete="current-password" disabled={working} />
        <TextField label="New password" type="password" value={next} onValue={setNext} autoComplete="new-password" disabled={working} />
        <TextField label="Repeat new password" type="password" value={repeat} onValue={setRepeat} autoComplete="new-password" disabled={working} />
        <button type="submit" class="primary" disabled={busy !== null}>
          {working ? 'Re-sealing your keys…' : 'Change password'}
        </button>
      </form>
      {problem ? (
        <p role="alert" class="error">
          {problem}
        </p>
      ) : (
        message
      )}
    </section>
  );
}

function SessionsSection({ busy, run, message, chat }: SectionProps & { chat: ChatStore }) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [loadProblem, setLoadProblem] = useState<string | null>(null);

  // Loaded on its own, not through `run`: listing must not wipe another section's sentence.
  useEffect(() => {
    let current = true;
    chat.client.sessions().then(
      (list) => current && setSessions(list),
      (error) => {
        if (!current) return;
        if (isSessionEnded(error)) sessionEnded();
        else setLoadProblem(`Sessions could not be loaded: ${errorSentence(error)}`);
      },
    );
    return () => {
      current = false;
    };
  }, []);

  async function revoke(session: Session) {
    const revoked = await run('sessions', `revoke-${session.id}`, async () => {
      await chat.client.revokeSession(session.id);
      return `The session on ${describeUserAgent(session.user_agent)} was logged out.`;
    });
    if (revoked) setSessions((list) => list?.filter((s) => s.id !== session.id) ?? null);
  }

  return (
    <section class="settings__section">
      <h3 id="settings-sessions">Sessions</h3>
      {sessions === null ? (
        <p class="quiet">{loadProblem ?? 'Loading sessions…'}</p>
      ) : (
        <ul role="list" class="sessions">
          {sessions.map((session) => (
            <li key={session.id} class="session">
              <div class="session__about" id={`session-${session.id}`}>
                <p class="session__device">
                  {describeUserAgent(session.user_agent)}
                  {session.current && <span class="badge badge--quiet">This device</span>}
                </p>
                <p class="quiet">
                  Signed in {formatDateTime(session.created_at)} · last used {formatDateTime(session.last_used_at)}
                </p>
              </div>
              {!session.current && (
                <button type="button" class="secondary" aria-describedby={`session-${session.id}`} onClick={() => revoke(session)} disabled={busy !== null}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {message}
      <div class="button-row">
        <button type="button" class="danger" disabled={busy !== null} onClick={() => run('sessions', 'logout-all', async () => (await logOutEverywhere(), null))}>
          Log out everywhere
        </button>
      </div>
    </section>
  );
}
