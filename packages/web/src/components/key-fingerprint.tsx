import { fingerprint } from '@securechat/client';
import { useEffect, useState } from 'preact/hooks';

/** "Key fingerprint: 3f2a 91c0 …" — to compare with what the other person sees for their key. */
export function KeyFingerprint({ publicKey, id, label = 'Key fingerprint' }: { publicKey: string; id?: string; label?: string }) {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    fingerprint(publicKey).then(
      (value) => current && setText(value),
      () => current && setText('unavailable (the key is malformed)'),
    );
    return () => {
      current = false;
    };
  }, [publicKey]);
  return (
    <p class="fingerprint" id={id}>
      {label}: <span class="fingerprint__value">{text ?? 'computing…'}</span>
    </p>
  );
}
