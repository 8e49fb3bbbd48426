// Checks every message a webview posts before the host acts on it. The page renders model output: if that output ever
// got to run code in the page, posting messages is all it could do to the host, so each message is checked field by
// field against webview/protocol.ts: unknown types and fields are refused, strings have length caps (and a path no
// NUL), numbers are integers in range, ids have the shape the host makes, and the host gets a fresh object holding
// only the known fields. No vscode import: unit tests call it directly.
import type { FromWebview } from '../../webview/protocol';

/** Caps on what one message may carry. */
export const WEBVIEW_MESSAGE_LIMITS = {
  /** A question or clipboard text (a pasted snippet, a whole answer) in UTF-16 code units. */
  text: 1 << 20,
  /** A path in an editor/open (Linux's PATH_MAX). */
  path: 4096,
  /** Largest line number an editor/open may name. */
  line: 100_000_000,
  /** Workspace folder indices. */
  folders: 1024,
  /** webview/didFail's error code and message. */
  errorCode: 64,
  errorMessage: 65_536,
} as const;

/** The message types parseFromWebview checks: a type added to FromWebview but not here fails to compile below. */
type Checked = 'webview/ready' | 'webview/didFail' | 'chat/ask' | 'chat/stop' | 'editor/open' | 'clipboard/write' | 'heatmap/open' | 'model/select';
const everyTypeChecked: [Exclude<FromWebview['type'], Checked>] extends [never] ? true : never = true;
void everyTypeChecked;

/** The host's turn ids are UUIDs; nothing else names a turn (turnStore.ts makes file names of them). */
const TURN_ID = /^[\w-]{1,64}$/;

export type ParsedWebviewMessage = { readonly message: FromWebview } | { readonly problem: string };

/** The message if it is one the protocol allows, else why not (for the log). */
export function parseFromWebview(raw: unknown): ParsedWebviewMessage {
  if (!isRecord(raw)) return { problem: `not an object (${describe(raw)})` };
  const check = new Fields(raw);
  const type = raw.type;
  let message: FromWebview | undefined;
  switch (type) {
    case 'webview/ready': {
      const view = check.oneOf('view', ['chat', 'heatmap'] as const);
      message = view && { type, view };
      break;
    }
    case 'webview/didFail': {
      const error = raw.error;
      if (!isRecord(error) || error.kind !== 'error') {
        check.problem = `error must be { kind: 'error', code, message }, got ${describe(error)}`;
        break;
      }
      const inner = new Fields(error);
      const code = inner.string('code', WEBVIEW_MESSAGE_LIMITS.errorCode);
      const text = inner.string('message', WEBVIEW_MESSAGE_LIMITS.errorMessage);
      inner.only(['kind', 'code', 'message']);
      check.problem ??= inner.problem && `error.${inner.problem}`;
      message = code !== undefined && text !== undefined ? { type, error: { kind: 'error', code, message: text } } : undefined;
      break;
    }
    case 'chat/ask': {
      const question = check.string('question', WEBVIEW_MESSAGE_LIMITS.text);
      message = question !== undefined ? { type, question } : undefined;
      break;
    }
    case 'chat/stop': {
      const turnId = check.turnId('turnId');
      message = turnId !== undefined ? { type, turnId } : undefined;
      break;
    }
    case 'editor/open': {
      const path = check.string('path', WEBVIEW_MESSAGE_LIMITS.path, 1);
      if (path?.includes('\0')) check.problem ??= 'path holds a NUL character';
      const line = check.integer('line', 1, WEBVIEW_MESSAGE_LIMITS.line);
      const endLine = raw.endLine === undefined ? undefined : check.integer('endLine', line ?? 1, WEBVIEW_MESSAGE_LIMITS.line);
      const folder = raw.folder === undefined ? undefined : check.integer('folder', 0, WEBVIEW_MESSAGE_LIMITS.folders - 1);
      message =
        path !== undefined && line !== undefined
          ? { type, path, line, ...(endLine !== undefined ? { endLine } : {}), ...(folder !== undefined ? { folder } : {}) }
          : undefined;
      break;
    }
    case 'clipboard/write': {
      const text = check.string('text', WEBVIEW_MESSAGE_LIMITS.text);
      message = text !== undefined ? { type, text } : undefined;
      break;
    }
    case 'heatmap/open': {
      const turnId = check.turnId('turnId');
      const where = check.oneOf('where', ['view', 'beside'] as const);
      message = turnId !== undefined && where ? { type, turnId, where } : undefined;
      break;
    }
    case 'model/select':
      message = { type };
      break;
    default:
      return { problem: `unknown message type ${describe(type)}` };
  }
  check.only(['type', ...Object.keys(message ?? {})]);
  if (check.problem || !message) return { problem: `${type}: ${check.problem ?? 'malformed'}` };
  return { message };
}

/** Field checks on one object; the first problem found is kept. */
class Fields {
  problem: string | undefined;

  constructor(private readonly o: Record<string, unknown>) {}

  string(key: string, max: number, min = 0): string | undefined {
    const v = this.o[key];
    if (typeof v !== 'string') return this.fail(`${key} must be a string, got ${describe(v)}`);
    if (v.length < min || v.length > max) return this.fail(`${key} has ${v.length} characters, allowed ${min}..${max}`);
    return v;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const v = this.o[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) return this.fail(`${key} must be an integer in ${min}..${max}, got ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.o[key];
    if (!values.includes(v as T)) return this.fail(`${key} must be one of ${values.join(', ')}, got ${describe(v)}`);
    return v as T;
  }

  turnId(key: string): string | undefined {
    const v = this.string(key, 64, 1);
    if (v !== undefined && !TURN_ID.test(v)) return this.fail(`${key} is not a turn id: ${describe(v)}`);
    return v;
  }

  /**
   * Refuses fields other than `keys` (a field the protocol does not have is a page that is not ours); a field holding
   * undefined is an optional one left out.
   */
  only(keys: readonly string[]): void {
    const extra = Object.keys(this.o).filter((k) => !keys.includes(k) && this.o[k] !== undefined);
    if (extra.length) this.fail(`unexpected field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`);
  }

  private fail(problem: string): undefined {
    this.problem ??= problem;
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short, safe rendering of a bad value for the log. */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? `an array of ${v.length}` : typeof v;
}
