import { readFile } from 'node:fs/promises';
import { Args } from '@oclif/core';
import { BaseCommand, outputFlag } from '../../lib/base-command.ts';
import { withSinkTarget } from '../../lib/sink-target.ts';
import { sinkFlags } from '../../lib/sink-flags.ts';
import { evError } from '../../../src/errors.ts';
import { parseRules } from '../../../src/rules-schema.ts';
import { readAtMost } from '../../lib/read-bounded.ts';
import { codeOrMessage } from '../../../src/guards.ts';

/** Largest rules file read: rules are a few dozen lines; this guards against the wrong file. */
export const MAX_RULES_FILE_BYTES = 1024 * 1024;

async function readSource(path: string): Promise<string> {
  if (path === '-') {
    const data = await readAtMost(process.stdin, MAX_RULES_FILE_BYTES, () => {
      throw evError(
        'EV_ERR_PAYLOAD_TOO_LARGE',
        `rules on stdin are larger than ${MAX_RULES_FILE_BYTES} bytes`,
        { hint: 'a rules file is a short YAML list' },
      );
    });
    return data.toString('utf8');
  }
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw evError('EV_ERR_FILE_READ', `cannot read ${path}: ${codeOrMessage(err)}`, {
      hint: 'check the path; use - to read the rules from stdin',
      cause: err,
    });
  }
  if (data.length > MAX_RULES_FILE_BYTES)
    throw evError(
      'EV_ERR_PAYLOAD_TOO_LARGE',
      `${path} is larger than ${MAX_RULES_FILE_BYTES} bytes`,
      { hint: 'a rules file is a short YAML list' },
    );
  return data.toString('utf8');
}

export default class RulesSet extends BaseCommand {
  static override summary = "Replace the sink's rules with a YAML file (or - for stdin).";
  static override description =
    'The sink validates the rules before using them; invalid rules are refused (exit 2) and the previous rules stay in force. With several pods, every pod gets the rules.';
  static override examples = [
    '<%= config.bin %> rules set rules.yaml',
    'cat rules.yaml | <%= config.bin %> rules set -',
    'echo "rules: []" | <%= config.bin %> rules set -   # back to the built-in conventions only',
  ];
  static override args = {
    file: Args.string({ description: 'Rules YAML file, or - for stdin.', required: true }),
  };
  static override flags = { output: outputFlag, ...sinkFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RulesSet);
    const source = await readSource(args.file);
    // Checked here first: the error names the file, and no pod gets half of an update.
    parseRules(source, args.file === '-' ? 'stdin' : args.file);
    await withSinkTarget(flags, { onStatus: (l) => this.status(l) }, async (target) => {
      let count = 0;
      for (const sink of target.sinks) count = (await sink.api.setRules(source)).count;
      const result = { count, sinks: target.sinks.length };
      this.emit(
        flags.output,
        result,
        () =>
          `Rules updated: ${count} rule(s) active${target.sinks.length > 1 ? ` on ${target.sinks.length} pods` : ''}.`,
      );
    });
  }
}
