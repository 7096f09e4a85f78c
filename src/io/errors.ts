// Input errors name the file (and row/column where there is one). The CLI maps them to exit code 2.

export class InputError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly row?: number,
    readonly column?: string,
  ) {
    const where = [file, row !== undefined ? `row ${row}` : null, column !== undefined ? `column '${column}'` : null]
      .filter(Boolean)
      .join(", ");
    super(`${where}: ${message}`);
    this.name = "InputError";
  }
}

/** The InputError for a file that cannot be opened or stat'ed (e: the error fs threw). */
export function openError(file: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  return new InputError(file, code === "ENOENT" ? "file not found" : `cannot open (${code ?? String(e)})`);
}
