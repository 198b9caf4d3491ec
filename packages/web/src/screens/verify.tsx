/**
 * "Verify USERNAME": the safety number of the reader and a contact (API.md
 * B 11: 60 digits from both first signing keys, the same on both sides), to
 * compare in person or over another channel; "Mark as verified" records that
 * they matched. Shown in place of the thread (which stays, hidden, with its
 * draft) until "Back to chat".
 */
import type { User } from '@securechat/client';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { KeyFingerprint } from '../components/key-fingerprint.tsx';
import { errorSentence } from '../error-text.ts';
import { formatDateTime } from '../format.ts';
import type { ChatStore } from '../state/conversations.ts';

export function VerifyScreen({ chat, peer, onBack }: { chat: ChatStore; peer: User; onBack: () => void }) {
  const labelId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [number, setNumber] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [marking, setMarking] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const contact = chat.contact(peer.username);
  const name = peer.username;

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    let current = true;
    // The number refetches both key histories; the contact's status then comes from that fresh copy.
    chat.safetyNumber(name).then(
      (digits) => current && setNumber(digits),
      (error) => current && setProblem(errorSentence(error)),
    ).finally(() => current && void chat.checkContact(name));
    return () => {
      current = false;
    };
  }, [peer.id]);

  async function mark() {
    setMarking(true);
    setOutcome(null);
    try {
      await chat.markVerified(name);
      setOutcome({ ok: true, text: `${name} is now marked as verified.` });
    } catch (error) {
      setOutcome({ ok: false, text: errorSentence(error) });
    } finally {
      setMarking(false);
    }
  }

  /** Their current key was accepted although their first signing key (the one this number covers) does not vouch for it. */
  const accepted = contact !== null && contact.keyChange !== 'unverified' && contact.signs && contact.chain.current?.trusted !== true;
  const unchained = contact?.keyChange === 'unverified' || accepted;
  const canMark = number !== null && contact !== null && !contact.verified && !unchained;

  return (
    <section
      class="verify"
      aria-labelledby={`${labelId}-heading`}
      onKeyDown={(event) => {
        if (event.key === 'Escape') onBack();
      }}
    >
      <div class="verify__top">
        <h2 id={`${labelId}-heading`} ref={heading} tabIndex={-1}>
          Verify <bdi>{name}</bdi>
        </h2>
        <button type="button" class="secondary" onClick={onBack}>
          Back to chat
        </button>
      </div>
      <div class="verify__card">
        <p>
          Compare this safety number with the one <bdi>{name}</bdi> sees on their “Verify” screen for you, in person or over another channel you trust,
          such as a phone call. If all 60 digits match, nobody — not even the server — has put their own keys between you.
        </p>
        <p class="verify__label" id={labelId}>
          Safety number
        </p>
        {number ? (
          <div class="safety-number" role="group" aria-labelledby={labelId}>
            {number.split(' ').map((group, i) => (
              <span key={i}>{group} </span>
            ))}
          </div>
        ) : problem ? (
          <p role="alert" class="error">
            {problem}
          </p>
        ) : (
          <p role="status" class="quiet safety-number__pending">
            Computing safety number…
          </p>
        )}
        {contact?.keyChange === 'unverified' && (
          <p class="warning">
            <bdi>{name}</bdi>'s current key is not vouched for by the key you first saw for them{contact.problem ? ` (${contact.problem})` : ''}. This
            number covers that first key only, so it cannot verify the new one: ask <bdi>{name}</bdi> whether they replaced their keys.
          </p>
        )}
        {accepted && (
          <p class="warning">
            You accepted <bdi>{name}</bdi>'s current key although nothing links it to their first signing key, which this number covers: it cannot verify
            their current key.
          </p>
        )}
        {contact?.keyChange === 'rotated' && !accepted && (
          <p class="quiet">
            <bdi>{name}</bdi> rotated their key since you first saw it; each new key was signed by the one before, so this number still covers it.
          </p>
        )}
        {contact?.verified ? (
          <p class="verified-line">
            <span aria-hidden="true">✓ </span>
            Verified: you confirmed this safety number{contact.pin?.verifiedAt ? ` on ${formatDateTime(contact.pin.verifiedAt)}` : ''}.
          </p>
        ) : (
          number && !unchained && (
            <p class="quiet">If every digit matches, mark <bdi>{name}</bdi> as verified. If any differ, do not trust this conversation: someone may be impersonating one of you.</p>
          )
        )}
        {canMark && (
          <div class="button-row">
            <button type="button" onClick={() => void mark()} disabled={marking}>
              {marking ? 'Marking…' : 'Mark as verified'}
            </button>
          </div>
        )}
        {outcome && (
          <p role={outcome.ok ? 'status' : 'alert'} class={outcome.ok ? 'success' : 'error'}>
            {outcome.text}
          </p>
        )}
        <Fingerprints chat={chat} peer={peer} />
      </div>
    </section>
  );
}

/** Both users' current encryption keys (not needed to verify: the safety number covers the signing keys behind them). */
function Fingerprints({ chat, peer }: { chat: ChatStore; peer: User }) {
  const [keys, setKeys] = useState<{ mine: string | null; theirs: string | null } | null>(null);
  useEffect(() => {
    let current = true;
    const key = (username: string) => chat.client.publicKey(username).then((entry) => (entry.keyError === null ? entry.public_key : null), () => null);
    Promise.all([key(chat.me.username), key(peer.username)]).then(([mine, theirs]) => current && setKeys({ mine, theirs }));
    return () => {
      current = false;
    };
  }, [peer.id]);
  if (!keys) return null;
  return (
    <div class="verify__fingerprints">
      <h3>Encryption key fingerprints</h3>
      {keys.mine && <KeyFingerprint publicKey={keys.mine} label="Your key fingerprint" />}
      {keys.theirs && <KeyFingerprint publicKey={keys.theirs} label={`${peer.username}'s key fingerprint`} />}
    </div>
  );
}
