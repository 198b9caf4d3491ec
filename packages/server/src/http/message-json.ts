/**
 * Messages are immutable and their views are cached (domain/message-cache.ts),
 * so each view is serialised once and its JSON reused for every later page
 * that contains it. A view's JSON has exactly the fields of the Message
 * schema, which still documents the response in OpenAPI.
 *
 * A large attachment's base64 is held as bytes (domain/views.ts). It is
 * strict base64 — ASCII, nothing to escape — so its JSON is the rest of the
 * view serialised around an empty attachment, with the bytes sent in between
 * as they are: no 25 MiB string, no copy.
 */
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { DeferredAttachment, hasLargeAttachment, type MessageView } from '../domain/views.ts';
import { releaseMemorySoon } from '../release-memory.ts';

const serialised = new WeakMap<MessageView, Buffer>();
/** Encoded pages, by the page's array: a cached page (domain/page-cache.ts) is the same array each time. */
const serialisedPages = new WeakMap<MessageView[], Buffer>();
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');
const ATTACHMENT_FIELD = '"encrypted_attachment":"';
const JSON_TYPE = 'application/json; charset=utf-8';

/** Attachments from this size on are written into the JSON as they are. */
const SPLICE_FROM_CHARS = 1024;

/**
 * UTF-8 JSON of a view: one buffer, or — around a large attachment held as
 * bytes — head, attachment bytes and tail, so the attachment is never copied.
 * An attachment is strict base64 (ASCII, nothing to escape), so rather than
 * running it through JSON.stringify and then encoding the result — a scan
 * and two more copies — the rest of the view is serialised around an empty
 * attachment and its characters are written in between.
 */
export function encodeMessageJson(view: MessageView): Buffer[] {
  const attachment = view.encrypted_attachment;
  if (attachment instanceof DeferredAttachment) throw new Error(`message ${view.id}: its attachment must be read before encoding`);
  if (typeof attachment === 'string' && attachment.length < SPLICE_FROM_CHARS) return [Buffer.from(JSON.stringify(view), 'utf8')];
  const [head, tail] = jsonAroundAttachment(view);
  if (Buffer.isBuffer(attachment) && hasLargeAttachment(view)) return [head, attachment, tail];
  const out = Buffer.allocUnsafe(head.length + attachment.length + tail.length);
  head.copy(out, 0);
  if (typeof attachment === 'string') out.write(attachment, head.length, 'latin1');
  else attachment.copy(out, head.length);
  tail.copy(out, head.length + attachment.length);
  return [out];
}

/** The view's JSON before and after its attachment's characters. */
function jsonAroundAttachment(view: MessageView): [Buffer, Buffer] {
  const rest = JSON.stringify({ ...view, encrypted_attachment: '' });
  // The first unescaped occurrence is the property itself: inside string values quotes are escaped.
  const at = rest.indexOf(ATTACHMENT_FIELD) + ATTACHMENT_FIELD.length;
  return [Buffer.from(rest.slice(0, at), 'utf8'), Buffer.from(rest.slice(at), 'utf8')];
}

/** A view's JSON: a small one is encoded once, then only copied into responses. */
function messageJson(view: MessageView): Buffer[] {
  let json = serialised.get(view);
  if (json === undefined) {
    const parts = encodeMessageJson(view);
    if (parts.length > 1) return parts;
    json = parts[0]!;
    serialised.set(view, json);
  }
  return [json];
}

/** Writes the parts one after another, without joining them; then frees what the large message left behind. */
function streamParts(reply: FastifyReply, parts: Buffer[]): FastifyReply {
  const length = parts.reduce((total, part) => total + part.length, 0);
  reply.raw.once('close', () => releaseMemorySoon(length));
  return reply.type(JSON_TYPE).header('content-length', length).send(Readable.from(parts));
}

/** A cached view (domain/message-cache.ts): its JSON is kept with it. */
export function sendMessage(reply: FastifyReply, status: number, view: MessageView): FastifyReply {
  return sendParts(reply.code(status), messageJson(view));
}

/**
 * A view made for this response only, such as a message just sent: its JSON
 * is not kept. Keeping it would cost a WeakMap entry per send, which also
 * makes every young-generation GC work through those entries.
 */
export function sendNewMessage(reply: FastifyReply, status: number, view: MessageView): FastifyReply {
  return sendParts(reply.code(status), encodeMessageJson(view));
}

function sendParts(reply: FastifyReply, parts: Buffer[]): FastifyReply {
  return parts.length === 1 ? reply.type(JSON_TYPE).send(parts[0]) : streamParts(reply, parts);
}

/** Reads an attachment that a page left unread (domain/mail.ts readAttachment). */
export type AttachmentReader = (attachment: DeferredAttachment) => Promise<Buffer>;

export function sendMessages(reply: FastifyReply, views: MessageView[], readAttachment: AttachmentReader): FastifyReply {
  const encoded = serialisedPages.get(views);
  if (encoded) return reply.type(JSON_TYPE).send(encoded);
  if (views.some((view) => view.encrypted_attachment instanceof DeferredAttachment)) {
    return reply.type(JSON_TYPE).send(Readable.from(streamedPage(views, readAttachment), { highWaterMark: 0 }));
  }
  const parts: Buffer[] = [OPEN];
  views.forEach((view, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(...messageJson(view));
  });
  parts.push(CLOSE);
  if (views.some(hasLargeAttachment)) return streamParts(reply, parts);
  const page = Buffer.concat(parts);
  serialisedPages.set(views, page);
  return reply.type(JSON_TYPE).send(page);
}

/**
 * A page with unread large attachments, written one message at a time: an
 * attachment is read only when the client has taken what came before it
 * (the stream pulls nothing ahead: highWaterMark 0), so a client that stops
 * reading holds at most one large attachment in the server's memory.
 */
async function* streamedPage(views: MessageView[], readAttachment: AttachmentReader): AsyncGenerator<Buffer> {
  for (let i = 0; i < views.length; i++) {
    const view = views[i]!;
    const opening = i === 0 ? OPEN : COMMA;
    const attachment = view.encrypted_attachment;
    if (!(attachment instanceof DeferredAttachment)) {
      yield Buffer.concat([opening, ...messageJson(view)]);
      continue;
    }
    const [head, tail] = jsonAroundAttachment(view);
    // Yielded before the read: the stream asks for what follows only once the client has taken what came before.
    yield Buffer.concat([opening, head]);
    const bytes = await readAttachment(attachment);
    yield bytes;
    yield tail;
    releaseMemorySoon(bytes.length);
  }
  yield views.length === 0 ? Buffer.from('[]') : CLOSE;
}
