/** The CLI's version, as in cli/package.json (a test holds them equal): a constant, so `--version` reads no file. */
export const CLI_VERSION = '0.1.0'
