/**
 * Passwords for the CLI, never from argv: from a TTY prompt without echo,
 * else from the environment (SECURECHAT_PASSWORD, SECURECHAT_NEW_PASSWORD),
 * else one line of standard input per password asked.
 */
import { createInterface } from 'node:readline';

export class PasswordInput {
  readonly #stdin: NodeJS.ReadStream;
  readonly #stderr: NodeJS.WriteStream;
  readonly #env: NodeJS.ProcessEnv;
  #lines: AsyncIterator<string> | null = null;

  constructor(stdin: NodeJS.ReadStream = process.stdin, stderr: NodeJS.WriteStream = process.stderr, env = process.env) {
    this.#stdin = stdin;
    this.#stderr = stderr;
    this.#env = env;
  }

  /** The current password. */
  current(prompt = 'Password: '): Promise<string> {
    return this.#ask(prompt, this.#env.SECURECHAT_PASSWORD);
  }

  /** A new password, typed twice on a terminal. */
  async fresh(prompt = 'New password: ', envValue = this.#env.SECURECHAT_NEW_PASSWORD): Promise<string> {
    const password = await this.#ask(prompt, envValue);
    if (this.#stdin.isTTY && envValue === undefined) {
      const again = await this.#ask('Repeat it: ', undefined);
      if (again !== password) throw new PasswordMismatch();
    }
    return password;
  }

  async #ask(prompt: string, fromEnv: string | undefined): Promise<string> {
    if (fromEnv !== undefined) return fromEnv;
    if (this.#stdin.isTTY) return this.#promptHidden(prompt);
    return this.#nextLine();
  }

  async #nextLine(): Promise<string> {
    this.#lines ??= createInterface({ input: this.#stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const { value, done } = await this.#lines.next();
    if (done) throw new NoPasswordGiven();
    return value;
  }

  /** Reads one line from the terminal in raw mode, echoing nothing. */
  #promptHidden(prompt: string): Promise<string> {
    const stdin = this.#stdin;
    this.#stderr.write(prompt);
    return new Promise((resolve, reject) => {
      let typed = '';
      const finish = (error?: Error) => {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.off('data', onData);
        this.#stderr.write('\n');
        if (error) reject(error);
        else resolve(typed);
      };
      const onData = (chunk: Buffer) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') return finish();
          if (char === '\u0003') return finish(new Interrupted()); // Ctrl-C
          if (char === '\u0004' && typed === '') return finish(new NoPasswordGiven()); // Ctrl-D
          if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
          else typed += char;
        }
      };
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on('data', onData);
    });
  }
}

export class NoPasswordGiven extends Error {
  constructor() {
    super('No password given (type it at the prompt, pipe it on stdin, or set SECURECHAT_PASSWORD).');
  }
}
export class PasswordMismatch extends Error {
  constructor() {
    super('The two passwords differ.');
  }
}
export class Interrupted extends Error {
  constructor() {
    super('Interrupted.');
  }
}
