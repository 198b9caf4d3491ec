/** This tab has a session but no keys (e.g. after a reload): the password opens them again, in memory. */
import { AuthenticationError, DecryptionError, type User } from '@securechat/client';
import { useState } from 'preact/hooks';
import { TextField } from '../components/text-field.tsx';
import { errorSentence } from '../error-text.ts';
import { logOut, sessionEnded, unlock } from '../state/session.ts';

export function UnlockScreen({ user }: { user: User }) {
  const [password, setPassword] = useState('');
  const [working, setWorking] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    if (working) return;
    if (!password) return setError('Enter your password.');
    setError(null);
    setWorking('Deriving keys…');
    try {
      await unlock(password);
    } catch (e) {
      if (e instanceof AuthenticationError) return sessionEnded();
      setWorking(null);
      setError(e instanceof DecryptionError ? 'That password does not open your keys. Check it and try again.' : errorSentence(e));
    }
  }

  async function leave() {
    setWorking('Logging out…');
    await logOut();
  }

  return (
    <main class="centered">
      <div class="card">
        <p class="brand-line">SecureChat</p>
        <h1>Unlock</h1>
        <p>
          Signed in as <strong><bdi>{user.username}</bdi></strong>. Your keys are kept only in memory, so after a reload your password opens them again.
        </p>
        <form onSubmit={submit} noValidate>
          <TextField label="Password" type="password" value={password} onValue={setPassword} autoComplete="current-password" autoFocus disabled={!!working} />
          {error && (
            <p role="alert" class="error">
              {error}
            </p>
          )}
          <div class="button-row">
            <button type="submit" class="primary" disabled={!!working}>
              {working === 'Deriving keys…' ? working : 'Unlock'}
            </button>
            <button type="button" class="secondary" onClick={leave} disabled={!!working}>
              Log out
            </button>
          </div>
        </form>
      </div>
    </main>
  );
}
