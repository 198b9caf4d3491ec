/**
 * Who is signed in, and where the keys are. Three places, by lifetime:
 * memory (the SDK client, keys included: gone on reload), sessionStorage
 * (token and user: a reload shows Unlock), and, with "Remember this device",
 * IndexedDB (token, user and non-extractable keys: a reload goes straight into
 * the chat). Contacts' pinned signing keys follow the session: IndexedDB on a
 * remembered device, else sessionStorage (pin-store.ts). Ending a session
 * clears all three.
 */
import { signal } from '@preact/signals';
import { SecureChatClient, type DeviceSigningKey, type Mode, type User } from '@securechat/client';
import { forgetDevice, loadRememberedDevice, rememberDevice } from '../device-store.ts';
import { errorSentence } from '../error-text.ts';
import { BrowserPinStore } from '../pin-store.ts';
import { clearTabStorage, loadTabSession, saveTabSession } from '../tab-storage.ts';
import { ChatStore } from './conversations.ts';

export type Screen =
  | { name: 'starting' }
  | { name: 'sign-in'; alert: string | null }
  | { name: 'unlock'; user: User }
  | { name: 'chat'; chat: ChatStore; view: 'conversations' | 'settings' };

export const SESSION_ENDED_SENTENCE = 'This session was ended from another device, or it expired. Log in again to continue.';

export const screen = signal<Screen>({ name: 'starting' });

let client: SecureChatClient | null = null;
let remembered = false;
/** Each client's pin store (so a login that turns out remembered can move its pins to the device). */
const pinStores = new WeakMap<SecureChatClient, BrowserPinStore>();

function newClient(
  mode: Mode, session?: { token: string; user: User }, keys?: Array<[number, CryptoKey]>, signingKeys?: Array<[number, DeviceSigningKey]>,
  options: { onDevice?: boolean } = {},
): SecureChatClient {
  let made: SecureChatClient | null = null;
  const store = new BrowserPinStore(() => made?.user?.id ?? null, options);
  made = new SecureChatClient({
    baseUrl: location.origin, mode, pins: store, ...(session ? { session } : {}), ...(keys ? { keys } : {}), ...(signingKeys ? { signingKeys } : {}),
  });
  pinStores.set(made, store);
  return made;
}

/** On page load: a remembered device goes straight into the chat, a tab session to Unlock. */
export async function restoreSession(): Promise<void> {
  const device = await loadRememberedDevice().catch(() => null);
  if (device) {
    client = newClient(device.mode, { token: device.token, user: device.user }, device.keys, device.signingKeys, { onDevice: true });
    remembered = true;
    saveTabSession({ mode: device.mode, token: device.token, user: device.user });
    return enterChat();
  }
  const tab = loadTabSession();
  if (tab) {
    client = newClient(tab.mode, { token: tab.token, user: tab.user });
    screen.value = { name: 'unlock', user: tab.user };
    return;
  }
  screen.value = { name: 'sign-in', alert: null };
}

export interface Credentials {
  username: string;
  password: string;
  remember: boolean;
}

export async function logIn(credentials: Credentials & { mode: Mode }): Promise<void> {
  const candidate = newClient(credentials.mode);
  await candidate.login(credentials.username, credentials.password);
  await signedIn(candidate, credentials.remember);
}

export async function register(credentials: Credentials): Promise<void> {
  const candidate = newClient('e2e');
  await candidate.register(credentials.username, credentials.password);
  await signedIn(candidate, credentials.remember);
}

/** Unlock screen: opens the keys of the tab's session with the password. */
export async function unlock(password: string): Promise<void> {
  if (!client) throw new Error('There is no session to unlock.');
  await client.unlock(password);
  enterChat();
}

/** The signed-in client, for the settings screen. */
export function currentClient(): SecureChatClient {
  if (!client) throw new Error('Not signed in.');
  return client;
}

/** After a key rotation: a remembered device keeps the new key version too. */
export async function refreshRememberedKeys(): Promise<string | null> {
  if (!remembered || !client?.token || !client.user) return null;
  try {
    await rememberDevice({ mode: client.mode, token: client.token, user: client.user, keys: client.deviceKeys(), signingKeys: client.deviceSigningKeys() });
    return null;
  } catch (error) {
    return `This device could not keep your new key: ${errorSentence(error)}`;
  }
}

export function showSettings(show: boolean): void {
  const current = screen.value;
  if (current.name === 'chat') screen.value = { ...current, view: show ? 'settings' : 'conversations' };
}

/** Log out (also from Unlock): the server forgets the token, this browser forgets everything. */
export async function logOut(): Promise<void> {
  let alert: string | null = null;
  try {
    await client?.logout();
  } catch (error) {
    alert = `You are logged out in this browser, but the server could not be told: ${errorSentence(error)}`;
  }
  await forgetEverything(alert);
}

/** Settings → "Log out everywhere": errors are the caller's to show (nothing is cleared then). */
export async function logOutEverywhere(): Promise<void> {
  await currentClient().logoutAll();
  await forgetEverything(null);
}

/** The server ended this session (revoked elsewhere, expired): back to sign-in, with why. */
export function sessionEnded(): void {
  void forgetEverything(SESSION_ENDED_SENTENCE);
}

async function signedIn(signedInClient: SecureChatClient, remember: boolean): Promise<void> {
  client = signedInClient;
  const { token, user, mode } = signedInClient;
  if (!token || !user) throw new Error('The server did not start a session.');
  saveTabSession({ mode, token, user });
  let notice: string | null = null;
  remembered = false;
  if (remember) {
    try {
      await rememberDevice({ mode, token, user, keys: signedInClient.deviceKeys(), signingKeys: signedInClient.deviceSigningKeys() });
      remembered = true;
      await pinStores.get(signedInClient)?.keepOnDevice();
    } catch (error) {
      notice = `This device could not be remembered (${errorSentence(error).replace(/\.$/, '')}): after a reload you will be asked for your password.`;
    }
  }
  enterChat(notice);
}

function enterChat(notice: string | null = null): void {
  if (!client) return;
  const chat = new ChatStore(client, { onSessionEnded: sessionEnded });
  chat.notice.value = notice;
  screen.value = { name: 'chat', chat, view: 'conversations' };
  void chat.start();
}

async function forgetEverything(alert: string | null): Promise<void> {
  const current = screen.value;
  if (current.name === 'chat') current.chat.stop();
  client = null;
  remembered = false;
  clearTabStorage();
  screen.value = { name: 'sign-in', alert };
  await forgetDevice().catch(() => {});
}
