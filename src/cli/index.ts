/**
 * The client commands of `mlsched` (`model`, `pipeline`, `experiment`, `server`, `plan`), declared
 * without loading the gRPC client: the subcommands of one are defined (./commands.ts) only when it runs,
 * so that `mlsched --version`, `serve` and the simulators start without it.
 */
import type { Command } from 'commander';

const NOUNS: Readonly<Record<string, string>> = {
  model: 'models: load, unload, status, list, explain',
  pipeline: 'pipelines: load, unload, status, list',
  experiment: 'experiments: start, stop, status, list',
  server: 'servers: status, list, load',
  plan: 'where the Models of manifests would go (after their Servers), without applying them',
};

/**
 * Adds the client commands to `program`, which is to parse `args` (the arguments after the
 * program's name).
 */
export async function addClientCommands(program: Command, args: readonly string[]): Promise<void> {
  const define = async (cmd: Command) => {
    const { defineClientCommand } = await import('./commands.js');
    defineClientCommand(cmd);
  };
  for (const [noun, description] of Object.entries(NOUNS)) {
    program.command(noun).description(description);
  }
  program.hook('preSubcommand', async (_program, sub) => {
    if (Object.hasOwn(NOUNS, sub.name())) await define(sub);
  });
  // `mlsched help NOUN` prints the command's help without running the hook.
  const [first, second] = args;
  const asked = first === 'help' ? program.commands.find((c) => c.name() === second) : undefined;
  if (asked && Object.hasOwn(NOUNS, asked.name())) await define(asked);
}
