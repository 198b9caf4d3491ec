/**
 * Messages are immutable and their views are cached (domain/message-cache.ts),
 * so each view is serialised once and its JSON reused for every later page
 * that contains it. A view's JSON has exactly the fields of the Message
 * schema, which still documents the response in OpenAPI.
 */
import type { FastifyReply } from 'fastify';
import type { MessageView } from '../domain/views.ts';

const serialised = new WeakMap<MessageView, Buffer>();
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** UTF-8 JSON bytes of a view: encoded once, then only copied into responses. */
function messageJson(view: MessageView): Buffer {
  let json = serialised.get(view);
  if (json === undefined) {
    json = Buffer.from(JSON.stringify(view), 'utf8');
    serialised.set(view, json);
  }
  return json;
}

export function sendMessage(reply: FastifyReply, status: number, view: MessageView): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(messageJson(view));
}

export function sendMessages(reply: FastifyReply, views: MessageView[]): FastifyReply {
  const parts: Buffer[] = [OPEN];
  views.forEach((view, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(messageJson(view));
  });
  parts.push(CLOSE);
  return reply.type('application/json; charset=utf-8').send(Buffer.concat(parts));
}
