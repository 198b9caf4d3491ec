/** Test helpers over a real server process: a WebSocket that records message ids, and a whole inbox read through the API. */
import WebSocket from 'ws';
import { http } from './server-process.ts';

export interface Listener {
  /** Every `message` event's id, in arrival order. */
  ids: number[];
  /** Resolves with `ready.last_id`. */
  ready: Promise<number>;
  close(): void;
}

/** A WebSocket (header auth) recording the id of every `message` event; with `afterId`, catching up from there first. */
export function listen(url: string, token: string, afterId?: number): Listener {
  const query = afterId === undefined ? '' : `?after_id=${afterId}`;
  const socket = new WebSocket(`${url.replace('http', 'ws')}/api/ws/${query}`, { headers: { 'x-auth-token': token } });
  const ids: number[] = [];
  const ready = new Promise<number>((resolve, reject) => {
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string; last_id?: number; message?: { id: number } };
      if (event.type === 'message') ids.push(event.message!.id);
      if (event.type === 'ready') resolve(event.last_id!);
    });
    socket.on('error', reject);
    socket.on('close', (code) => reject(new Error(`closed with ${code} before ready`)));
  });
  return { ids, ready, close: () => socket.terminate() };
}

/** Every message id in the user's inbox, following the Link header page by page. */
export async function inboxIds(url: string, token: string): Promise<Set<number>> {
  const ids = new Set<number>();
  for (let next: string | undefined = '/api/messages/?limit=200'; next; ) {
    const res = await http(url, 'GET', next, undefined, token);
    if (res.status !== 200) throw new Error(`listing the inbox: ${res.status}`);
    for (const message of res.json as Array<{ id: number }>) ids.add(message.id);
    next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
  }
  return ids;
}
