/**
 * `securechat`: a command-line client on the SDK.
 *
 *   securechat register alice          securechat send bob "hi" --file photo.png
 *   securechat inbox                   securechat read 12 --save ~/Downloads
 *   securechat verify bob              securechat verify bob --confirm
 */
import { Command, CommanderError, Option } from 'commander';
import * as commands from './commands.ts';
import { Context, DEFAULT_SERVER, parseMode } from './context.ts';
import { describeError, EXIT, EXIT_CODES_HELP, exitCodeOf } from './exit-codes.ts';

// `securechat inbox | head` closes our stdout early: stop quietly, like other Unix tools.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command('securechat')
  .description('SecureChat from the terminal: end-to-end encrypted messages and files.')
  .option('--server <url>', `server URL (default: $SECURECHAT_SERVER, the saved login's, or ${DEFAULT_SERVER})`)
  .option('--json', 'print JSON for scripts instead of tables (watch: one object per line)')
  .addHelpText(
    'after',
    `
Passwords are never taken from the command line: they are asked at the
terminal without echo, or read one per line from standard input, or taken
from SECURECHAT_PASSWORD (and SECURECHAT_NEW_PASSWORD for passwd).
The login token is kept in $SECURECHAT_CONFIG or ~/.config/securechat/config.json (mode 0600);
private keys never touch the disk. Contacts' pinned signing keys are kept in
the same file: a contact whose key changes without a chain vouching for it is
marked K, and send refuses it unless --accept-new-key.
${EXIT_CODES_HELP}`,
  )
  .showHelpAfterError('(run "securechat --help" for usage)')
  .exitOverride();

const ctx = () => new Context(program.opts());
const modeOption = () => new Option('--mode <mode>', '"e2e" (keys made and kept on this device) or "server" (original accounts)').default('e2e').argParser(parseMode);

program.command('register <username>').description('create an account and log in').addOption(modeOption()).action((username, options) => commands.register(ctx(), username, options));
program.command('login <username>').description('log in and remember the session').addOption(modeOption()).action((username, options) => commands.login(ctx(), username, options));
program.command('logout').description('end this session and forget it').action(() => commands.logout(ctx()));
program.command('whoami').description('show who is logged in, where').action(() => commands.whoami(ctx()));
program
  .command('verify <user>')
  .description("print the safety number of you and USER, to compare with theirs in person or on a call")
  .option('--confirm', 'record that the numbers matched: USER is marked verified')
  .action((user, options) => commands.verify(ctx(), user, options));
program.command('users').description('list the other users, their key fingerprints and trust marks').option('--search <prefix>', 'only usernames starting with this').action((options) => commands.users(ctx(), options));
program
  .command('send <user> [text]')
  .description('send a message (the text may also come on stdin) and/or a file')
  .option('--file <path>', 'attach this file')
  .option('--mime <type>', 'MIME type of the file (guessed from its extension otherwise)')
  .option('--accept-new-key', "send even though the recipient's key changed without a chain vouching for it (after comparing safety numbers)")
  .action((user, text, options) => commands.send(ctx(), user, text, options));
program.command('inbox').description('list received messages, decrypted').option('--limit <n>', 'how many', '20').action((options) => commands.mailbox(ctx(), 'inbox', options));
program.command('sent').description('list sent messages, decrypted').option('--limit <n>', 'how many', '20').action((options) => commands.mailbox(ctx(), 'sent', options));
program.command('read <id>').description('show one message').option('--save <dir>', 'save its attachment into this directory').action((id, options) => commands.read(ctx(), id, options));
program
  .command('watch')
  .description('print messages (received and sent) as they arrive, decrypted; reconnects by itself, Ctrl-C stops')
  .option('--after <id>', 'first catch up on the messages after this id (0: all of them)')
  .action((options) => commands.watch(ctx(), options));
program.command('rotate').description('make a new key pair current (old messages stay readable)').action(() => commands.rotate(ctx()));
program.command('sessions').description('list your logged-in sessions').action(() => commands.sessions(ctx()));
program.command('revoke <id>').description('log out one session by its id').action((id) => commands.revoke(ctx(), id));
program.command('passwd').description('change your password').action(() => commands.passwd(ctx()));
program.command('keys').description('list your key versions').action(() => commands.keys(ctx()));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the message (or the help / version) already.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    process.stderr.write(`securechat: ${describeError(error)}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
