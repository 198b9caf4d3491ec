import { ChatScreen } from './screens/chat.tsx';
import { SignInScreen } from './screens/sign-in.tsx';
import { UnlockScreen } from './screens/unlock.tsx';
import { screen } from './state/session.ts';

export function App() {
  const current = screen.value;
  switch (current.name) {
    case 'starting':
      return (
        <main class="centered">
          <h1 class="visually-hidden">SecureChat</h1>
          <p class="quiet">Opening SecureChat…</p>
        </main>
      );
    case 'sign-in':
      return <SignInScreen alert={current.alert} />;
    case 'unlock':
      return <UnlockScreen user={current.user} />;
    case 'chat':
      return <ChatScreen chat={current.chat} view={current.view} />;
  }
}
