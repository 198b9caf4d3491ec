/**
 * Writing a message: Enter sends, Shift+Enter starts a new line; a file comes
 * from "Attach file" or is dropped on the thread (see thread.tsx). Files over
 * the server's limit are refused here with a sentence, before any work.
 */
import { TimeoutError, UntrustedKeyError, type SendProgress, type User } from '@securechat/client';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { errorSentence } from '../error-text.ts';
import { formatBytes } from '../format.ts';
import type { ChatStore } from '../state/conversations.ts';

interface ComposerProps {
  chat: ChatStore;
  peer: User;
  file: File | null;
  onFile: (file: File | null) => void;
  /** A sentence about the chosen file (e.g. too big), from whoever chose it. */
  fileProblem: string | null;
}

export function Composer({ chat, peer, file, onFile, fileProblem }: ComposerProps) {
  const textId = useId();
  const fileId = useId();
  const [text, setText] = useState('');
  const [progress, setProgress] = useState<SendProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The error is the SDK refusing the recipient's key: it goes once their key is trusted again ("Accept new key"). */
  const [keyRefused, setKeyRefused] = useState(false);
  const textArea = useRef<HTMLTextAreaElement>(null);
  const sending = progress !== null;
  const untrusted = chat.contact(peer.username)?.keyChange === 'unverified';

  useEffect(() => textArea.current?.focus(), [peer.id]);
  useEffect(() => setError(null), [file]);
  useEffect(() => {
    if (keyRefused && !untrusted) {
      setError(null);
      setKeyRefused(false);
    }
  }, [untrusted]);

  async function send() {
    if (sending || (text.trim() === '' && !file)) return;
    const sentText = text;
    // Cleared at once, so what is typed while this one is on its way is the next message.
    setText('');
    textArea.current?.focus();
    setError(null);
    setKeyRefused(false);
    setProgress({ phase: 'encrypting', loaded: 0, total: file?.size ?? 0 });
    try {
      await chat.send(peer, sentText, file, setProgress);
      onFile(null);
    } catch (e) {
      setText((current) => (current === '' ? sentText : current));
      // After a timeout nobody knows whether the server stored it (a retry of the same send would not double it, a new one would).
      if (e instanceof TimeoutError) setError(`${errorSentence(e)} It may have been sent: check the conversation before sending it again.`);
      // Its sentence says that nothing was sent, and why.
      else if (e instanceof UntrustedKeyError) setError(errorSentence(e));
      else setError(`Not sent: ${errorSentence(e)}`);
      setKeyRefused(e instanceof UntrustedKeyError);
    } finally {
      setProgress(null);
    }
  }

  const problem = fileProblem ?? error;
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      {problem && (
        <p role="alert" class="error composer__problem">
          {problem}
        </p>
      )}
      {file && (
        <div class="composer__file">
          <span class="composer__file-name">
            <bdi>{file.name}</bdi> <span class="quiet">({formatBytes(file.size)})</span>
          </span>
          <button type="button" class="link-button" onClick={() => onFile(null)} disabled={sending}>
            Remove attachment
          </button>
        </div>
      )}
      {progress && (
        <div class="composer__progress">
          <progress aria-label="Upload progress" max={progress.phase === 'uploading' ? progress.total || 1 : undefined} value={progress.phase === 'uploading' ? progress.loaded : undefined} />
          <span class="quiet">{progress.phase === 'encrypting' ? 'Encrypting…' : `Uploading… ${percent(progress)}`}</span>
        </div>
      )}
      <div class="composer__row">
        <div class="composer__text">
          <label for={textId} class="composer__label">
            Message
          </label>
          <textarea
            id={textId}
            ref={textArea}
            rows={2}
            value={text}
            placeholder="Write a message — Enter sends, Shift+Enter adds a line"
            onInput={(event) => setText(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                void send();
              }
            }}
          />
        </div>
        <div class="composer__actions">
          <input
            id={fileId}
            type="file"
            class="visually-hidden file-input"
            disabled={sending}
            onChange={(event) => {
              onFile(event.currentTarget.files?.[0] ?? null);
              event.currentTarget.value = '';
            }}
          />
          <label for={fileId} class="button secondary">
            Attach file
          </label>
          <button type="submit" aria-disabled={sending}>
            Send
          </button>
        </div>
      </div>
    </form>
  );
}

function percent(progress: SendProgress): string {
  return progress.total > 0 ? `${Math.floor((progress.loaded / progress.total) * 100)} %` : '';
}
