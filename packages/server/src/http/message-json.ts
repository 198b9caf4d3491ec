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

/** Attachments from this size on are written straight into the JSON bytes. */
const SPLICE_FROM_CHARS = 1024 * 1024;
const ATTACHMENT_FIELD = '"encrypted_attachment":"';

/**
 * UTF-8 JSON of a view. A large attachment is strict base64 (ASCII, nothing
 * to escape), so instead of running it through JSON.stringify and then
 * encoding the result — two more full-size copies and a scan — its characters
 * are written once into a buffer allocated at the final size.
 */
export function encodeMessageJson(view: MessageView): Buffer {
  const attachment = view.encrypted_attachment;
  if (attachment.length < SPLICE_FROM_CHARS) return Buffer.from(JSON.stringify(view), 'utf8');
  const rest = JSON.stringify({ ...view, encrypted_attachment: '' });
  // The first unescaped occurrence is the property itself: inside string values quotes are escaped.
  const at = rest.indexOf(ATTACHMENT_FIELD) + ATTACHMENT_FIELD.length;
  const head = Buffer.from(rest.slice(0, at), 'utf8');
  const tail = Buffer.from(rest.slice(at), 'utf8');
  const out = Buffer.allocUnsafe(head.length + attachment.length + tail.length);
  head.copy(out, 0);
  out.write(attachment, head.length, 'latin1');
  tail.copy(out, head.length + attachment.length);
  return out;
}

/** A view's JSON bytes: encoded once, then only copied into responses. */
function messageJson(view: MessageView): Buffer {
  let json = serialised.get(view);
  if (json === undefined) {
    json = encodeMessageJson(view);
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
