import { render } from 'preact';
import { App } from './app.tsx';
import { restoreSession } from './state/session.ts';

// A file dropped outside the thread would otherwise make the browser navigate to it, leaving the app.
for (const type of ['dragover', 'drop'] as const) window.addEventListener(type, (event) => event.preventDefault());

render(<App />, document.getElementById('app')!);
void restoreSession();
