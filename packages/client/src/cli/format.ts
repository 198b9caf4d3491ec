/** Human-friendly output: aligned tables, sizes, one-line previews. Every cell is made terminal-safe here. */
import { terminalLine } from './terminal-text.ts';

export function table(headers: string[], rows: (string | number)[][]): string {
  if (rows.length === 0) return '(none)';
  const cells = [headers, ...rows.map((row) => row.map(terminalLine))];
  const widths = headers.map((_, col) => Math.max(...cells.map((row) => [...(row[col] ?? '')].length)));
  const line = (row: string[]) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd();
  return [line(cells[0]!), line(widths.map((w) => '─'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `2026-11-25T17:37:25.369Z` → `2026-11-25 17:37` (UTC); '' for anything not a string. */
export function when(iso: unknown): string {
  return typeof iso === 'string' ? terminalLine(iso.slice(0, 16).replace('T', ' ')) : '';
}

/** First line of a text (tabs as spaces), shortened, terminal-safe. */
export function preview(text: unknown, max = 50): string {
  const line = [...terminalLine(String(text ?? '').split(/\r?\n/)[0]!.replaceAll('\t', ' '))];
  return line.length > max ? `${line.slice(0, max - 1).join('')}…` : line.join('');
}
