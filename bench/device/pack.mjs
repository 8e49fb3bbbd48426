// Packs what `npm run bench` needs on the GPU machine into the git-ignored folder .device/bench, carried by the device
// tool next to the working tree (webgpu-node.md §3: that machine has no Node and no Vulkan loader). bench/device/run.sh
// unpacks and runs it there. Contents, xz-compressed where it pays:
//   node.xz                      this machine's Node binary
//   gl/*.deb                     Debian 12's libvulkan1 and glvnd packages (dpkg -x into / on the device)
//   node_modules/webgpu/         index.js, package.json, dist/linux-x64/dawn.node.xz
//   bench.js, benchPeer.mjs      the bench bundle and its llama.cpp runner (node build.mjs)
//   peer.tar.xz                  node-llama-cpp with the modules it imports at run time, and its prebuilt Vulkan build
//                                (@node-llama-cpp/linux-x64-vulkan: libggml-vulkan.so is 55 MB, 5.6 MB in xz)
//   SHA256SUMS                   of the uncompressed node, dawn.node and libggml-vulkan.so, checked after unpacking
//   commit                       `git rev-parse HEAD` and whether the tree is dirty (the device gets no .git)
// Large pieces are only compressed again when their source changed. Fails when the carry and the working tree would
// pass the device tool's 64 MiB.
//   node bench/device/pack.mjs [--out .device/bench]
//   node bench/device/pack.mjs --out .device/eval --runtime-only    Node, the loader and Dawn only (≈ 28 MB): what
//                                `npm run eval` on the GPU machine needs (eval/device.sh), leaving room for a model
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { out: { type: 'string', default: '.device/bench' }, 'runtime-only': { type: 'boolean', default: false } } });
const runtimeOnly = a['runtime-only'];
const root = join(dirname(new URL(import.meta.url).pathname), '..', '..');
process.chdir(root);
const out = a.out;
const MiB = 2 ** 20;
const limit = 64 * MiB;
const run = (cmd, args, o = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...o });
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const log = (m) => console.log(`[pack] ${m}`);
mkdirSync(join(out, 'gl'), { recursive: true });
mkdirSync(join(out, 'node_modules'), { recursive: true });
// Anything else in the folder (an older hand-made carry, an unpacked peer) would travel too.
const made = ['node.xz', 'gl', 'node_modules', 'SHA256SUMS', 'commit', ...(runtimeOnly ? [] : ['bench.js', 'benchPeer.mjs', 'peer.tar.xz'])];
for (const f of readdirSync(out)) if (!made.includes(f.replace(/\.source$/, ''))) rmSync(join(out, f), { recursive: true, force: true });
for (const f of readdirSync(join(out, 'node_modules'), { withFileTypes: true }).filter((e) => e.name !== 'webgpu')) rmSync(join(out, 'node_modules', f.name), { recursive: true, force: true });

// Stamps: a piece is rebuilt when the hash of its source differs from the one recorded beside it.
function cached(target, sourceHash, build) {
  const stamp = `${target}.source`;
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === sourceHash) return;
  log(`building ${relative(root, target)}`);
  build();
  writeFileSync(stamp, sourceHash);
}

const xz = (src, dst) => writeFileSync(dst, run('xz', ['-9', '-T0', '-c', src], { maxBuffer: 256 * MiB }));

// Node.
const nodeHash = sha256(process.execPath);
cached(join(out, 'node.xz'), nodeHash, () => xz(process.execPath, join(out, 'node.xz')));

// Vulkan loader and glvnd (Dawn looks for libEGL too).
const debs = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
if (!debs.every((d) => readdirSync(join(out, 'gl')).some((f) => f.startsWith(`${d}_`)))) {
  log('apt-get download the Vulkan loader and glvnd');
  run('apt-get', ['download', ...debs], { cwd: join(out, 'gl') });
}

// Dawn.
const webgpu = 'node_modules/webgpu';
const dawn = join(webgpu, 'dist/linux-x64/dawn.node');
const dawnHash = sha256(dawn);
mkdirSync(join(out, webgpu, 'dist/linux-x64'), { recursive: true });
for (const f of ['index.js', 'package.json']) copyFileSync(join(webgpu, f), join(out, webgpu, f));
cached(join(out, `${dawn}.xz`), dawnHash, () => xz(dawn, join(out, `${dawn}.xz`)));

const sums = [`${nodeHash}  node`, `${dawnHash}  ${dawn}`];
if (!runtimeOnly) {
  // The bench bundles.
  log('node build.mjs');
  run(process.execPath, ['build.mjs'], { stdio: 'inherit' });
  for (const f of ['bench.js', 'benchPeer.mjs']) copyFileSync(join('dist', f), join(out, f));

  // node-llama-cpp: its package and every package its dependencies reach, as npm laid them out, without types, maps,
  // docs, the llama.cpp sources (llama/: only its JSON files are read at run time) and the other platforms' binaries.
  const vulkanPkg = 'node_modules/@node-llama-cpp/linux-x64-vulkan';
  const vulkanSo = join(vulkanPkg, 'bins/linux-x64-vulkan/libggml-vulkan.so');
  const closure = packageClosure('node_modules/node-llama-cpp');
  const peerFiles = [...closure, vulkanPkg].flatMap((dir) => listFiles(dir)).filter((f) => keep(f)).sort();
  const peerHash = createHash('sha256').update(peerFiles.map((f) => `${f} ${statSync(f).size} ${statSync(f).mtimeMs}`).join('\n')).digest('hex');
  cached(join(out, 'peer.tar.xz'), peerHash, () => {
    const list = join(out, 'peer.files');
    writeFileSync(list, peerFiles.map((f) => relative('node_modules', f)).join('\n') + '\n');
    writeFileSync(join(out, 'peer.tar.xz'), run('sh', ['-c', `tar -C node_modules -cf - -T '${list}' | xz -9 -T0`], { maxBuffer: 256 * MiB }));
    rmSync(list);
  });
  sums.push(`${sha256(vulkanSo)}  ${vulkanSo}`);
}

writeFileSync(join(out, 'SHA256SUMS'), sums.join('\n') + '\n');
const git = (args) => run('git', args, { encoding: 'utf8' }).trim();
writeFileSync(join(out, 'commit'), `${git(['rev-parse', 'HEAD'])} ${git(['status', '--porcelain', '--untracked-files=no']) === '' ? 0 : 1}\n`);

// What travels: the carried folder (compressed pieces only) and the working tree (tracked and untracked, not ignored).
const carried = listFiles(out).filter((f) => !f.endsWith('.source'));
const carryBytes = carried.reduce((s, f) => s + statSync(f).size, 0);
const tree = run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { encoding: 'utf8' }).split('\0').filter((f) => f && existsSync(f));
const treeBytes = tree.reduce((s, f) => s + statSync(f).size, 0);
for (const f of carried.sort()) if (statSync(f).size > MiB) log(`  ${relative(out, f)}: ${(statSync(f).size / MiB).toFixed(1)} MiB`);
log(`${out}: ${(carryBytes / MiB).toFixed(1)} MiB in ${carried.length} files; working tree ${(treeBytes / MiB).toFixed(1)} MiB; together ${((carryBytes + treeBytes) / MiB).toFixed(1)} of ${limit / MiB} MiB`);
if (carryBytes + treeBytes > limit) {
  console.error(`[pack] the carry and the working tree take ${((carryBytes + treeBytes) / MiB).toFixed(1)} MiB, over the device tool's ${limit / MiB} MiB`);
  process.exit(1);
}

/** Folders of `pkg` and of every package its `dependencies` reach, resolved as Node would from each package. */
function packageClosure(pkg) {
  const seen = new Set();
  const visit = (dir) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const deps = Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {});
    for (const d of deps) visit(resolvePackage(d, dir));
  };
  visit(pkg);
  return [...seen];
}

function resolvePackage(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === '.' || dir === dirname(dir)) throw new Error(`[pack] ${name} (a dependency of ${from}) is not installed: run npm ci`);
  }
}

function keep(f) {
  if (/\.(d\.ts|d\.mts|d\.cts|map|md)$/.test(f)) return false;
  const inNlc = f.startsWith('node_modules/node-llama-cpp/') && !f.startsWith('node_modules/node-llama-cpp/node_modules/');
  if (inNlc && /^node_modules\/node-llama-cpp\/(templates|bins)\//.test(f)) return false;
  if (inNlc && f.startsWith('node_modules/node-llama-cpp/llama/')) return /^node_modules\/node-llama-cpp\/llama\/[^/]+\.json$/.test(f);
  return true;
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}
