/**
 * A guest image (ELF file) that Tachyxx refuses to load. User-facing: the CLI prints `message`
 * (one line, naming the file and the problem) and exits with `exitCode` (2).
 */
export class ImageError extends Error {
  override readonly name = 'ImageError';
  /** The image's file name as given by the caller (or `<image>` when none was given). */
  readonly file: string;
  /** The problem without the file prefix, e.g. `not an ELF file (bad magic 7f 45 4c 47)`. */
  readonly problem: string;
  /** Process exit status the CLI uses for an unloadable image. */
  readonly exitCode = 2;

  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.file = file;
    this.problem = problem;
  }
}
