import { BaseCommand, outputFlag } from '../lib/base-command.ts';
import { PROTOCOL_VERSION } from '../../src/protocol.ts';

export default class Version extends BaseCommand {
  static override summary = 'Print the version of the plugin and its protocol.';
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version -o json'];
  static override flags = { output: outputFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    const info = {
      version: this.config.version,
      protocol: PROTOCOL_VERSION,
      node: process.version,
    };
    this.emit(
      flags.output,
      info,
      () => `kubectl-email_validate ${info.version} (protocol ${info.protocol}, node ${info.node})`,
    );
  }
}
