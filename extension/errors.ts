// Errors the extension host raises on purpose. Each message names the thing and the problem and says what to do;
// `code` picks the way out offered to the user (errorActions.ts) and crosses to the webview as ErrorData.

export class QuestLensError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * No model to load: none is configured (questLens.modelPath is empty, or restricted mode ignores the workspace's
 * value) and the built-in model is not where the package should hold it (`problem`: "does not exist", …).
 */
export class NoModelError extends QuestLensError {
  constructor(builtinPath: string, problem: string, restricted = false) {
    super(
      'no-model',
      `Quest Lens has no model to load: none is selected${restricted ? ' for this machine (restricted mode ignores a model path set in workspace settings)' : ''}, ` +
        `and the built-in model ${builtinPath} ${problem}. Reinstall Quest Lens to get the built-in model back, or run ` +
        '"Quest Lens: Select Model" to pick a .gguf file or a model from Ollama, LM Studio or the Hugging Face cache.',
    );
  }
}

/** questLens.modelPath names a file that does not exist or is not a GGUF file. */
export class ModelFileError extends QuestLensError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super('model-file', `The model ${path} ${problem}. Run "Quest Lens: Select Model" to choose another GGUF file.`);
  }
}

/** The workspace has no folder to read. */
export class NoWorkspaceError extends QuestLensError {
  constructor() {
    super('no-workspace', 'Quest Lens reads the open workspace folders, and none is open: open a folder first (File > Open Folder).');
  }
}

/** A webview asked to open a path that does not resolve to a file inside a workspace folder. */
export class OpenTargetError extends QuestLensError {
  constructor(message: string) {
    super('open-target', message);
  }
}

/** The user stopped the work (Stop, the notification's Cancel): not a failure to report. */
export class CancelledError extends QuestLensError {
  constructor(what: string) {
    super('cancelled', `${what} was cancelled`);
  }
}
