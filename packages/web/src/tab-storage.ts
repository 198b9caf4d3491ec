/**
 * What this app keeps in Web Storage: the tab's session (token and user, in
 * sessionStorage, so a reload asks for the password again and closing the tab
 * forgets it), contacts' pinned signing keys when the device is not
 * remembered (sessionStorage, per reader: public keys only), and read markers
 * per user (localStorage). Private keys are never here.
 */
import { isContactPin, type ContactPin, type Mode, type User } from '@securechat/client';

const SESSION_KEY = 'securechat.session';
const PINS_PREFIX = 'securechat.pins.';
const READ_MARKERS_PREFIX = 'securechat.read.';

export interface TabSession {
  mode: Mode;
  token: string;
  user: User;
}

export function loadTabSession(): TabSession | null {
  const session = parse(safely(() => sessionStorage.getItem(SESSION_KEY)));
  const candidate = session as TabSession | null;
  if (
    candidate && (candidate.mode === 'e2e' || candidate.mode === 'server') && typeof candidate.token === 'string' &&
    typeof candidate.user?.id === 'number' && typeof candidate.user?.username === 'string'
  ) {
    return { mode: candidate.mode, token: candidate.token, user: { id: candidate.user.id, username: candidate.user.username } };
  }
  return null;
}

export function saveTabSession(session: TabSession): void {
  safely(() => sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)));
}

/** The pins `reader` keeps in this tab (a list: usernames such as "__proto__" make poor object keys). */
export function loadTabPins(reader: number): ContactPin[] {
  const stored = parse(safely(() => sessionStorage.getItem(PINS_PREFIX + reader)));
  return Array.isArray(stored) ? stored.filter(isContactPin) : [];
}

export function saveTabPin(reader: number, pin: ContactPin): void {
  const pins = loadTabPins(reader).filter((kept) => kept.username !== pin.username);
  pins.push(pin);
  safely(() => sessionStorage.setItem(PINS_PREFIX + reader, JSON.stringify(pins)));
}

/** Read markers: for each conversation (by the other person's id), the newest message id shown. */
export function loadReadMarkers(userId: number): Record<number, number> {
  const stored = parse(safely(() => localStorage.getItem(READ_MARKERS_PREFIX + userId)));
  const markers: Record<number, number> = {};
  if (stored && typeof stored === 'object') {
    for (const [peer, id] of Object.entries(stored)) if (Number.isSafeInteger(id)) markers[Number(peer)] = id as number;
  }
  return markers;
}

export function saveReadMarkers(userId: number, markers: Record<number, number>): void {
  safely(() => localStorage.setItem(READ_MARKERS_PREFIX + userId, JSON.stringify(markers)));
}

/** Everything of ours in sessionStorage and localStorage. */
export function clearTabStorage(): void {
  for (const storage of [() => sessionStorage, () => localStorage]) {
    safely(() => {
      const store = storage();
      const ours = Array.from({ length: store.length }, (_, i) => store.key(i)).filter((key) => key?.startsWith('securechat.'));
      for (const key of ours) store.removeItem(key!);
    });
  }
}

/** Storage can be disabled or full; the app then works without it. */
function safely<T>(action: () => T): T | null {
  try {
    return action();
  } catch {
    return null;
  }
}

function parse(text: string | null): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
