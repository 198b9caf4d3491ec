/** A row completer for writer-thread.test.ts: the thread sets `v` from the input, upper-cased; "fail" throws. */
export async function completeRow(input: string): Promise<{ v: string }> {
  if (input === 'fail') throw new Error('this row cannot be completed');
  return { v: input.toUpperCase() };
}
