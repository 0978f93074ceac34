/** Bad command-line usage: xl prints the message and `Try 'xl CMD --help'`, exit 2. */
export class Usage extends Error {
  constructor(
    message: string,
    readonly cmd?: string,
  ) {
    super(message);
  }
}

/** An xl failure already worded for the user (printed as is), with xl's exit status. */
export class XlFail extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
