// The workspace's size in tokens before a model is loaded, for the status bar. Cheap and lazy: it starts a few
// seconds after activation (never during it), walks the same files the reader would take (collectFiles' walk:
// .gitignore, excludes, skip rules, size cap) up to MAX_FILES, counts a sample of them with gpt-tokenizer, and
// scales (tokenEstimate.ts). Recomputed, debounced, when settings or files change. The walk is async I/O; the
// tokenizer (≈ 0.6 MB of ranks) is loaded on first use, not at activation.
import { promises as fsp } from 'node:fs';
import * as vscode from 'vscode';
import { walkFiles } from '../context/collectFiles';
import { Disposable } from '../disposable';
import { readerSettings, readSettings } from '../settings';
import { estimateTokens, looksBinaryByName, type SampledFile, sampleIndices, type TokenEstimate } from './tokenEstimate';
import { workspaceFolderSpecs } from '../workspaceFolders';

/** Files walked at most; a larger workspace is reported as "more than" this estimate. */
const MAX_FILES = 50_000;
/** Files whose tokens are counted. */
const SAMPLE_FILES = 48;
/** Bytes read from each sampled file. */
const SAMPLE_BYTES = 32 * 1024;
/** Quiet time after a change before recounting. */
const DEBOUNCE_MS = 3_000;

export class WorkspaceSize extends Disposable {
  private estimate: TokenEstimate | undefined;
  private running: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = this._register(new vscode.EventEmitter<TokenEstimate | undefined>());
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
    this._register(vscode.workspace.onDidCreateFiles(() => this.schedule()));
    this._register(vscode.workspace.onDidDeleteFiles(() => this.schedule()));
    this._register(vscode.workspace.onDidRenameFiles(() => this.schedule()));
    this._register(vscode.workspace.onDidSaveTextDocument(() => this.schedule()));
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.schedule()));
    this._register({ dispose: () => this.stop() });
  }

  /** The latest estimate; undefined until the first count finished (or with no folder open). */
  get current(): TokenEstimate | undefined {
    return this.estimate;
  }

  /** Recounts after `delayMs` of quiet (settings changed, files changed, or the first count after activation). */
  schedule(delayMs = DEBOUNCE_MS): void {
    if (this.isDisposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.recount();
    }, delayMs);
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.running?.abort();
  }

  private async recount(): Promise<void> {
    this.running?.abort();
    const run = new AbortController();
    this.running = run;
    const t0 = Date.now();
    try {
      const next = await count(run.signal);
      if (run.signal.aborted) return;
      this.estimate = next;
      if (next) {
        this.log.info(
          `workspace ≈ ${next.tokens} tokens (${next.files} files${next.truncated ? '+' : ''}, ${next.sampled} counted with gpt-tokenizer, ` +
            `${next.tokensPerByte.toFixed(3)} tokens/byte) in ${Date.now() - t0} ms`,
        );
      }
      this.changed.fire(next);
    } catch (err) {
      if (!run.signal.aborted) this.log.warn(`counting the workspace's tokens failed: ${(err as Error).message}`);
    } finally {
      if (this.running === run) this.running = undefined;
    }
  }
}

async function count(signal: AbortSignal): Promise<TokenEstimate | undefined> {
  const folders = workspaceFolderSpecs();
  if (folders.length === 0) return undefined;
  const s = readSettings();
  const reader = readerSettings(s);
  const files: Array<{ absPath: string; size: number }> = [];
  let truncated = false;
  for await (const item of walkFiles({ folders, ...reader, signal })) {
    if (item.kind !== 'file' || looksBinaryByName(item.entry.relPath)) continue;
    if (files.length >= MAX_FILES) {
      truncated = true;
      break;
    }
    files.push({ absPath: item.entry.absPath, size: item.entry.size });
  }
  const { countTokens } = await import('gpt-tokenizer/encoding/p50k_base');
  const sample: SampledFile[] = [];
  for (const i of sampleIndices(files.length, SAMPLE_FILES)) {
    if (signal.aborted) return undefined;
    const text = await readHead(files[i].absPath);
    if (text === undefined) continue;
    sample.push({ bytes: text.bytes, tokens: countTokens(text.text, { disallowedSpecial: new Set() }) });
    await new Promise((r) => setImmediate(r)); // let the extension host breathe between files
  }
  return estimateTokens(
    files.map((f) => f.size),
    sample,
    truncated,
  );
}

/** The first SAMPLE_BYTES of a file as text; undefined when unreadable or binary (a NUL byte). */
async function readHead(path: string): Promise<{ text: string; bytes: number } | undefined> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(path, 'r');
    const buf = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SAMPLE_BYTES, 0);
    const bytes = buf.subarray(0, bytesRead);
    if (bytes.includes(0)) return undefined;
    return { text: bytes.toString('utf8'), bytes: bytesRead };
  } catch {
    return undefined; // vanished or unreadable since the walk
  } finally {
    await handle?.close();
  }
}
