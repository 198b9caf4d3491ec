/**
 * A received or sent file: "Download NAME" saves the decrypted bytes through
 * a short-lived `blob:` URL; PNG, JPEG, GIF and WebP are also previewed (by
 * their MIME type, never SVG or HTML, which could carry script).
 */
import { useEffect, useState } from 'preact/hooks';
import { errorSentence } from '../error-text.ts';
import { formatBytes } from '../format.ts';
import type { ChatAttachment } from '../state/conversations.ts';

const PREVIEWABLE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
/** Long enough for the browser to start the download. */
const DOWNLOAD_URL_LIFETIME_MS = 10_000;

export function AttachmentView({ attachment }: { attachment: ChatAttachment }) {
  const name = attachment.name || 'attachment';
  const mime = attachment.mime.toLowerCase().split(';')[0]!.trim();
  const previewable = PREVIEWABLE.has(mime);
  const [data, setData] = useState<Uint8Array | null>(attachment.data);
  const [previewUrl, setPreviewUrl] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function bytes(): Promise<Uint8Array> {
    if (data) return data;
    if (!attachment.fetch) throw new Error('this file cannot be decrypted');
    const fetched = await attachment.fetch();
    if (!fetched) throw new Error('the server no longer has this file');
    setData(fetched.data);
    return fetched.data;
  }

  // Images are fetched for their preview straight away (live messages come without the bytes).
  useEffect(() => {
    if (previewable && !data && attachment.fetch) void bytes().catch((e) => setError(errorSentence(e)));
  }, []);

  useEffect(() => {
    if (!previewable || !data) return;
    const url = URL.createObjectURL(new Blob([copy(data)], { type: mime }));
    setPreviewUrl(url);
    return () => URL.revokeObjectURL(url);
  }, [data]);

  async function download() {
    setBusy(true);
    setError(null);
    try {
      const url = URL.createObjectURL(new Blob([copy(await bytes())], { type: 'application/octet-stream' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      link.rel = 'noopener';
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_LIFETIME_MS);
    } catch (e) {
      setError(`The file could not be downloaded: ${errorSentence(e)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="attachment">
      {previewUrl && <img class="attachment__preview" src={previewUrl} alt={name} />}
      <div class="attachment__row">
        <button type="button" class="secondary attachment__download" onClick={download} disabled={busy}>
          Download <bdi>{name}</bdi>
        </button>
        {data && <span class="quiet">{formatBytes(data.byteLength)}</span>}
        {busy && <span class="quiet">Decrypting…</span>}
      </div>
      {error && <p role="alert" class="error">{error}</p>}
    </div>
  );
}

/** A Blob part backed by a plain ArrayBuffer. */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}
