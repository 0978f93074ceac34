import { TachyxxError } from '@tachyxx/core/errors';

/** Bad command-line usage: xl prints the message and `Try 'xl CMD --help'`, exit 2. */
export class Usage extends TachyxxError {
  override readonly name: string = 'Usage';
  constructor(
    message: string,
    readonly cmd?: string,
  ) {
    super(message, 2);
  }
}

/** An xl failure already worded for the user (printed as is), with xl's exit status. */
export class XlFail extends TachyxxError {
  override readonly name: string = 'XlFail';
  constructor(message: string, exitCode = 1) {
    super(message, exitCode);
  }
}
