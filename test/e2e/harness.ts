// One VS Code session for an e2e test file: the VSIX under test installed into a fresh code-server on 127.0.0.1,
// a copy of the fixture workspace, and Debian's Chromium driving the workbench. Start it once per file in `before`
// (startup ≈ 15–20 s; later steps ≈ 1–2 s) and dispose it in `after`; dispose runs even when startup failed halfway.
//
//   const vscode = await startVscode({ name: 'ui' });
//   await vscode.workbench.runCommand('Quest Lens: Show GPU Info');
//   await vscode.workbench.waitForNotification(/Quest Lens GPU/);
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, sep } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { CodeServer } from './host/codeServer';
import { artifactsDir, repoRoot, vscodeHost, vsixUnderTest } from './host/setup';
import { Workbench } from './host/workbench';

export interface SessionOptions {
  /** Prefix of this session's artifacts (screenshots, logs) in out/artifacts/e2e/. */
  readonly name: string;
  /** Folder copied as the workspace; default test/e2e/fixtures/workspace. */
  readonly workspace?: string;
  /** User settings over the test profile's. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Remote (machine) settings: where code-server reads `machine-overridable` settings such as questLens.modelPath. */
  readonly machineSettings?: Readonly<Record<string, unknown>>;
  /** Environment for code-server, the extension host and the engine process. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * In-host tests: a CommonJS file whose `run()` the workbench calls inside the extension host (vscode-host.md §4).
   * The extension then loads from the unpacked VSIX as extensionDevelopmentPath instead of being installed.
   */
  readonly extensionTests?: string;
  /** Workspace trust on: the folder opens untrusted and the workbench asks whether to trust it (restricted mode). */
  readonly workspaceTrust?: boolean;
}

export interface VscodeSession {
  readonly server: CodeServer;
  readonly browser: BrowserContext;
  readonly workbench: Workbench;
  /** In-host mode: resolves with the code the workbench passed to codeAutomationExit (0 when run() resolved). */
  readonly exitCode: Promise<number>;
  /** Every workbench log line (codeAutomationLog) and browser console message so far. */
  readonly log: string[];
  /**
   * Screenshots the window (`<name>-end.png`), closes the browser, stops code-server, saves logs into the artifacts,
   * removes the temp profile. Idempotent.
   */
  dispose(): Promise<void>;
}

export const fixtureWorkspace = () => join(repoRoot(), 'test', 'e2e', 'fixtures', 'workspace');

export async function startVscode(options: SessionOptions): Promise<VscodeSession> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const dispose = once(async () => {
    const errors: unknown[] = [];
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch((e) => errors.push(e));
    if (errors.length) throw new AggregateError(errors, `disposing the VS Code session ${options.name} failed`);
  });
  try {
    return await start(options, cleanups, dispose);
  } catch (err) {
    await dispose().catch(() => {});
    throw err;
  }
}

async function start(
  options: SessionOptions,
  cleanups: Array<() => Promise<void> | void>,
  dispose: () => Promise<void>,
): Promise<VscodeSession> {
  const host = vscodeHost();
  if (!host.chromium) throw new Error(`the installed host has no Chromium: ${JSON.stringify(host)}`);
  const vsix = vsixUnderTest();
  if (vsix.owned) cleanups.push(() => rmSync(vsix.path, { force: true }));
  const artifacts = artifactsDir();
  const log: string[] = [];

  const server = await CodeServer.start({
    host,
    vsix: { path: vsix.path, as: options.extensionTests ? 'development' : 'installed' },
    workspace: options.workspace ?? fixtureWorkspace(),
    copyWorkspace: true,
    smokeTestDriver: Boolean(options.extensionTests),
    workspaceTrust: Boolean(options.workspaceTrust),
    ...(options.env && { env: options.env }),
    ...(options.settings && { settings: options.settings }),
    ...(options.machineSettings && { machineSettings: options.machineSettings }),
  });
  cleanups.push(() => server.stop());
  // Runs before stop(): the logs live in the profile folder that stop() removes.
  cleanups.push(() => saveLogs(server, log, join(artifacts, `${options.name}-logs`)));

  const browser = await launchChromium(host.chromium, join(server.dir, 'chromium'), server.env);
  cleanups.push(() => browser.close());

  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  let exit!: (code: number) => void;
  const exitCode = new Promise<number>((r) => (exit = r));
  // The smoke-test driver reports through these two window functions; they must exist before the page loads.
  await page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
  await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) =>
    log.push(`[${type}] ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`),
  );

  const workbench = new Workbench(page, artifacts, options.name);
  // The window as the session ends, whatever happened: what a failed step left on screen.
  cleanups.push(() => workbench.screenshot('end').then(() => undefined, () => undefined));
  let payload: Array<[string, string]> | undefined;
  if (options.extensionTests) {
    if (!existsSync(options.extensionTests)) throw new Error(`extensionTests ${options.extensionTests} does not exist`);
    payload = [
      ['extensionDevelopmentPath', server.remoteUri(server.extensionDir!)],
      ['extensionTestsPath', server.remoteUri(options.extensionTests)],
    ];
  }
  await workbench.open(server.url(payload));
  return { server, browser, workbench, exitCode, log, dispose };
}

/** Debian's Chromium, headless, with its profile in `profileDir` (vscode-host.md §3). */
export function launchChromium(executablePath: string, profileDir: string, env: Readonly<Record<string, string>>): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    env: { ...env },
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Copies code-server's log, the workbench log and VS Code's logs folder (extension host, output channels). */
function saveLogs(server: CodeServer, log: string[], into: string): void {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  writeFileSync(join(into, 'workbench.log'), `${log.join('\n')}\n`);
  if (existsSync(server.logFile)) cpSync(server.logFile, join(into, 'code-server.log'));
  const logs = join(server.userDataDir, 'logs');
  if (existsSync(logs)) cpSync(logs, join(into, 'vscode'), { recursive: true });
}

/**
 * The Quest Lens output channel's log of each extension host the session has had, oldest first: a window reload
 * starts a new extension host (and with it a new engine process) with a log of its own.
 */
export function questLensLogs(server: CodeServer): string[] {
  const logs = join(server.userDataDir, 'logs');
  if (!existsSync(logs)) return [];
  const files = (readdirSync(logs, { recursive: true }) as string[]).filter((f) => f.endsWith(join('quest-lens.quest-lens', 'Quest Lens.log')));
  // <server start time>/exthost<N>/quest-lens.quest-lens/Quest Lens.log
  const order = (f: string) => [f.split(sep)[0], Number(/exthost(\d+)/.exec(f)?.[1] ?? 0)] as const;
  files.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0].localeCompare(y[0]) || x[1] - y[1];
  });
  return files.map((f) => readFileSync(join(logs, f), 'utf8'));
}

/** The names two levels deep under the real $HOME; compare before and after a session with `addedInHome`. */
export function snapshotHome(): Set<string> {
  const home = homedir();
  const names = new Set<string>();
  for (const a of readdirSync(home, { withFileTypes: true })) {
    names.add(a.name);
    if (a.isDirectory()) {
      for (const b of safeList(join(home, a.name))) names.add(`${a.name}/${b}`);
    }
  }
  return names;
}

export function addedInHome(before: Set<string>): string[] {
  return [...snapshotHome()].filter((n) => !before.has(n)).sort();
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // unreadable (permissions): nothing to compare
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
