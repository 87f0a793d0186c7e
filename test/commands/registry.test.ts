/**
 * `magento-async <command> …` declares only that command's group (src/commands.ts): each group's
 * names are what it declares, and a command declared alone reads and fails exactly as among all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { buildProgram } from '../../src/cli.ts';
import { COMMAND_GROUPS } from '../../src/commands.ts';

const names = COMMAND_GROUPS.flatMap((group) => group.names);

test("each group's names are the commands it declares, every command in one group", () => {
  for (const group of COMMAND_GROUPS) {
    const program = new Command('magento-async');
    group.register(program);
    assert.deepEqual(
      program.commands.map((command) => command.name()),
      group.names,
    );
  }
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(
    buildProgram()
      .commands.map((command) => command.name())
      .sort(),
    [...names].sort(),
  );
});

/** What commander writes for `argv`, and how it ends, with the program built for `built`. */
function parse(built: string[], argv: string[]): { out: string; err: string; code: number | string } {
  const program = buildProgram(built);
  let out = '';
  let err = '';
  const capture = (command: Command) => {
    command.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    command.commands.forEach(capture);
  };
  capture(program);
  // Only what commander itself does: no action runs.
  program.commands.forEach((command) => command.action(() => {}));
  try {
    program.parse(argv, { from: 'user' });
    return { out, err, code: 'parsed' };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { out, err, code: error.exitCode };
  }
}

test('a command declared alone reads and fails as among all: help, a missing argument, an unknown option', () => {
  assert.ok(buildProgram(['bulk:status']).commands.length < names.length, 'bulk:status alone');
  for (const name of names) {
    for (const argv of [[name, '--help'], [name], [name, 'x', 'y', '--no-such-option']]) {
      const alone = parse(argv, argv);
      assert.deepEqual(alone, parse([], argv), argv.join(' '));
      if (argv[1] === '--help') assert.match(alone.out, new RegExp(`^Usage: magento-async ${name} `));
    }
  }
});
