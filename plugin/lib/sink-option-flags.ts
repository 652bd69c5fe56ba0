import { Flags } from '@oclif/core';
import type { Interfaces } from '@oclif/core';
import { SINK_OPTIONS, defaultText, optionRows, valueName } from '../../sink/index.ts';
import type { SinkOptionSpec } from '../../sink/index.ts';

const specs = optionRows();
const flagOf = (key: string): string | undefined =>
  (SINK_OPTIONS as Record<string, SinkOptionSpec>)[key]?.flag ?? undefined;
const flagsOf = (keys: readonly string[] | undefined): string[] | undefined => {
  const flags = (keys ?? []).map(flagOf).filter((f): f is string => f !== undefined);
  return flags.length ? flags : undefined;
};

/**
 * The `sink` command's flags, generated from the sink's options table. They
 * carry no defaults: a flag left out falls back to its environment variable,
 * then to the table's default, exactly as in the cluster; the defaults are
 * only shown in the help.
 */
export const sinkOptionFlags: Interfaces.FlagInput = Object.fromEntries(
  specs.filter(([, spec]) => spec.flag !== null).map(([, spec]) => [spec.flag!, flagOfSpec(spec)]),
);

function flagOfSpec(spec: SinkOptionSpec): Interfaces.FlagInput[string] {
  const common = {
    description: `${spec.help} [env: ${spec.env}]`,
    helpGroup: spec.group,
    exclusive: flagsOf(spec.exclusive),
    dependsOn: flagsOf(spec.dependsOn),
  };
  if (spec.type === 'boolean') return Flags.boolean(common);
  if (spec.type === 'users')
    return Flags.string({ ...common, helpValue: valueName(spec), multiple: true });
  const shownDefault = defaultText(spec);
  return Flags.string({
    ...common,
    helpValue: spec.choices ? undefined : valueName(spec),
    options: spec.choices ? [...spec.choices] : undefined,
    ...(shownDefault !== null ? { defaultHelp: async () => shownDefault } : {}),
  });
}

/** The environment variables of the sink's options, for the command's description. */
export const sinkOptionEnvNames: string[] = specs.map(([, spec]) => spec.env);
