// Starts code-server (a real VS Code server + web workbench) on 127.0.0.1 in a throwaway profile, and stops it.
// Everything it writes goes under one temp folder (HOME and XDG dirs included), so a run leaves nothing in $HOME.
// Shared by the e2e harness and scripts/try-in-browser.mjs. Recipe and timings: ../shared/docs/vscode-host.md §2.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Where scripts/vscode-host.mjs installed code-server, its Node 24 and Chromium. */
export interface HostPaths {
  readonly node: string;
  /** code-server's out/node/entry.js */
  readonly codeServer: string;
  /** Absent when the installer was told not to provide it (try-in-browser uses the person's own browser). */
  readonly chromium?: string;
}

export interface CodeServerOptions {
  readonly host: HostPaths;
  /**
   * Installed with `--install-extension` before the server starts: into the profile's extensions (`installed`), or
   * unpacked beside them for the workbench to load as extensionDevelopmentPath (`development`, in-host tests).
   */
  readonly vsix?: { readonly path: string; readonly as: 'installed' | 'development' };
  /** A folder copied into the profile (tests), or opened where it is (`copyWorkspace: false`, try-in-browser). */
  readonly workspace: string;
  readonly copyWorkspace: boolean;
  /** `--vscode-option enable-smoke-test-driver`: lets the workbench run extensionTestsPath (vscode-host.md §4). */
  readonly smokeTestDriver?: boolean;
  /**
   * Workspace trust on, as a person's VS Code has it (restricted-mode tests): the window opens the folder untrusted
   * and asks. Off by default, so that no trust prompt stands between a test and the workbench.
   */
  readonly workspaceTrust?: boolean;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Extra environment for the server and so for the extension host and the engine process it forks. */
  readonly env?: Readonly<Record<string, string>>;
  /** User settings merged over the test profile's. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /**
   * Remote (machine) settings, `<user-data-dir>/Machine/settings.json`. code-server is a remote window: settings of
   * scope `machine` and `machine-overridable` (questLens.modelPath) are read from here, not from the user settings.
   */
  readonly machineSettings?: Readonly<Record<string, unknown>>;
}

/** The test profile: no welcome pages, tips, trust prompts, telemetry, update or gallery checks. */
export const testProfileSettings: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'window.restoreWindows': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
  // The page title becomes the active editor's absolute path: how Workbench.activeEditor() tells which file is open.
  'window.title': '${activeEditorLong}',
};

const run = promisify(execFile);

export class CodeServer {
  private constructor(
    private readonly owned: Owned,
    /** HOME, XDG dirs and QUEST_LENS_CACHE the server (and so the extension host) runs with. */
    readonly env: Readonly<Record<string, string>>,
    /** The workspace folder the window opens. */
    readonly workspace: string,
    /** Where the VSIX's files landed (undefined without a vsix). */
    readonly extensionDir: string | undefined,
    readonly userDataDir: string,
    readonly logFile: string,
    /** e.g. http://127.0.0.1:41235 (no trailing slash) */
    readonly origin: string,
  ) {}

  /** The temp folder holding the whole profile; removed by stop(). */
  get dir(): string {
    return this.owned.dir;
  }

  /** The workbench URL for the workspace, with an optional smoke-test payload. */
  url(payload?: ReadonlyArray<readonly [string, string]>): string {
    const query = `folder=${encodeURIComponent(this.workspace)}`;
    return `${this.origin}/?${query}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
  }

  /** A path on the server's machine as the workbench addresses it (for extensionDevelopmentPath & co). */
  remoteUri(path: string): string {
    return `vscode-remote://${new URL(this.origin).host}${path}`;
  }

  /** Makes the profile, installs the VSIX, starts the server and waits until it listens (≈ 1–3 s). */
  static async start(options: CodeServerOptions): Promise<CodeServer> {
    const owned: Owned = { dir: mkdtempSync(join(tmpdir(), 'quest-lens-vscode-')) };
    live.add(owned);
    try {
      return await CodeServer.startIn(owned, options);
    } catch (err) {
      await release(owned);
      throw err;
    }
  }

  private static async startIn(owned: Owned, options: CodeServerOptions): Promise<CodeServer> {
    const { host } = options;
    const { dir } = owned;
    const userDataDir = join(dir, 'user-data');
    // Tests inside the extension host read the extension's log channel files through it.
    const env = isolatedEnv(dir, { QUEST_LENS_VSCODE_LOGS: join(userDataDir, 'logs'), ...options.env });
    const extensionsDir = join(dir, 'extensions');
    mkdirSync(join(userDataDir, 'User'), { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), 'auth: none\n'); // else code-server writes ~/.config/code-server/config.yaml
    writeFileSync(
      join(userDataDir, 'User', 'settings.json'),
      JSON.stringify({ ...testProfileSettings, ...(options.workspaceTrust && { 'security.workspace.trust.enabled': true }), ...options.settings }, null, 2),
    );
    if (options.machineSettings) {
      mkdirSync(join(userDataDir, 'Machine'), { recursive: true });
      writeFileSync(join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(options.machineSettings, null, 2));
    }
    const profile = ['--config', join(dir, 'config.yaml'), '--user-data-dir', userDataDir];
    const common = [...profile, '--extensions-dir', extensionsDir];

    let extensionDir: string | undefined;
    if (options.vsix) {
      const into = options.vsix.as === 'installed' ? extensionsDir : join(dir, 'development-extension');
      extensionDir = await installVsix(host, env, profile, into, options.vsix.path);
    }

    let workspace = options.workspace;
    if (options.copyWorkspace) {
      workspace = join(dir, 'workspace');
      cpSync(options.workspace, workspace, { recursive: true });
    }

    const logFile = join(dir, 'code-server.log');
    const args = [
      host.codeServer,
      ...common,
      '--bind-addr',
      `127.0.0.1:${options.port ?? 0}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      ...(options.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
      workspace,
    ];
    // Detached: its own process group, so stop() takes down the extension host and the engine process with it.
    const child = spawn(host.node, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    owned.child = child;
    const log = createWriteStream(logFile);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const origin = await listening(child, logFile);
    return new CodeServer(owned, env, workspace, extensionDir, userDataDir, logFile, origin);
  }

  /** Kills the server's process group and removes the profile folder. Idempotent. */
  async stop(): Promise<void> {
    await release(this.owned);
  }
}

/** A profile folder and the server running in it: gone after release(), or at exit whatever happened. */
interface Owned {
  readonly dir: string;
  child?: ChildProcess;
}

const live = new Set<Owned>();

async function release(owned: Owned): Promise<void> {
  if (!live.delete(owned)) return;
  if (owned.child) await killGroup(owned.child);
  rmSync(owned.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

// The server runs detached (its own process group), so neither Ctrl-C nor the test runner's kill reaches it: kill
// every live one when this process exits (only synchronous work runs then), and turn the usual signals into an exit.
// `on`, not `once`: a second Ctrl-C (the terminal's and a parent's forwarded one) would otherwise kill this process
// with the default action halfway through the cleanup.
process.once('exit', () => {
  for (const { dir, child } of live) {
    try {
      signalGroup(child?.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); // dying processes may still write
    } catch (err) {
      console.error(`could not clean up code-server profile ${dir}: ${(err as Error).message}`);
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => process.exit(128 + osConstants.signals[signal]));
}

/** `--install-extension` into the extensions dir `into`; returns the extension's folder. */
async function installVsix(host: HostPaths, env: Record<string, string>, profile: string[], into: string, vsix: string): Promise<string> {
  const args = [host.codeServer, ...profile, '--extensions-dir', into, '--install-extension', vsix];
  const { stdout, stderr } = await run(host.node, args, { env }).catch(
    (err: { message: string; stdout?: string }) => {
      // execFile's message already holds the command and its stderr.
      throw new Error(`code-server --install-extension ${vsix} failed: ${err.message}\n${err.stdout ?? ''}`);
    },
  );
  if (!/was successfully installed/.test(stdout)) {
    throw new Error(`code-server --install-extension ${vsix} did not report success:\n${stdout}${stderr}`);
  }
  const found = readdirSync(into).filter((d) => !d.startsWith('.') && d !== 'extensions.json');
  if (found.length !== 1) throw new Error(`expected one extension in ${into} after installing ${vsix}, found [${found.join(', ')}]`);
  return join(into, found[0]);
}

/**
 * The server's environment: HOME, TMPDIR and the XDG dirs inside the profile (code-server writes its config,
 * heartbeat, logs and sockets there, Mesa its shader cache); QUEST_LENS_CACHE pinned to the real cache so the engine still finds lavapipe.
 * VSCODE_* variables are dropped: inside a VS Code terminal they would send `--install-extension` to that VS Code.
 */
function isolatedEnv(dir: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE') env[k] = v;
  }
  const home = join(dir, 'home');
  for (const d of ['home', 'tmp', 'xdg-config', 'xdg-data', 'xdg-cache', 'xdg-state']) mkdirSync(join(dir, d), { recursive: true });
  return {
    ...env,
    HOME: home,
    // code-server's IPC sockets and Chromium's scratch folders would otherwise outlive a killed session in /tmp.
    TMPDIR: join(dir, 'tmp'),
    XDG_CONFIG_HOME: join(dir, 'xdg-config'),
    XDG_DATA_HOME: join(dir, 'xdg-data'),
    XDG_CACHE_HOME: join(dir, 'xdg-cache'),
    XDG_STATE_HOME: join(dir, 'xdg-state'),
    QUEST_LENS_CACHE: process.env.QUEST_LENS_CACHE || join(homedir(), '.cache', 'quest-lens'),
    ...extra,
  };
}

/** Resolves with the origin code-server prints once it listens; rejects with its output if it exits or hangs. */
function listening(child: ChildProcess, logFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(`code-server did not listen within 60 s`), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        cleanup();
        resolve(m[1]);
      }
    };
    const onExit = (code: number | null, signal: string | null) => fail(`code-server exited (${signal ?? `exit code ${code}`}) before listening`);
    const onError = (err: Error) => fail(`code-server could not start: ${err.message}`);
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    function fail(why: string) {
      cleanup();
      void killGroup(child);
      reject(new Error(`${why}; its output (${logFile}):\n${output.trimEnd()}`));
    }
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
    child.on('error', onError);
  });
}

/** SIGTERM to the process group, SIGKILL after 5 s; resolves once the leader has exited. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    signalGroup(child.pid, 'SIGKILL'); // the leader is gone; its children (extension host, engine) may not be
    return;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  signalGroup(child.pid, 'SIGKILL');
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
