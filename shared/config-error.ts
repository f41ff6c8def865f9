/** A bad or missing app setting: the message names the setting and shows a valid example. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly setting: string,
    problem: string,
    example: string,
  ) {
    super(`Setting ${setting} ${problem}. Example: ${setting}=${example}`);
  }
}
