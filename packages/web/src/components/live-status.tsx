import type { LiveState } from '../state/conversations.ts';

const LABELS: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
};

/** Whether new messages arrive as they are sent. */
export function LiveStatus({ state }: { state: LiveState }) {
  return (
    <p role="status" class={`live-status live-status--${state}`}>
      {LABELS[state]}
    </p>
  );
}
