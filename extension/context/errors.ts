// Errors the context reader and packer raise on purpose; each message names the thing, the problem and what to do.

/** Base of the reader's and packer's deliberate errors; `code` crosses process boundaries as data. */
export class ContextError extends Error {
  constructor(
    readonly code: 'workspace-folder' | 'tokenizer' | 'options',
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
