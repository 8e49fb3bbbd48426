// The corpus builder (build time, needs the npm registry): package list → tarballs → licence filter → groups and
// train/held-out split → each package packed as the extension packs a workspace → corpus parts for the trainer, the
// held-out workspaces for the evaluation, and a manifest of every package and licence for the model card.
//   npx esbuild model/corpus/build.ts --bundle --platform=node --format=esm --outfile=out/model/corpus.mjs
//   node out/model/corpus.mjs [--packages 200 | --all] [--out model/.data/corpus] [--seed 1] …  (see `--help`)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { packerTokenizer } from '../../gpu/session/contextTokenizer';
import { p50kEndOfText, p50kTokenizerMetadata } from '../../gpu/tokenizer/p50k';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { fetchTarballs } from './npmFetch';
import { type PackageSpec, groupPackages, isHeldOut, parsePackageList, unitHash } from './packageList';
import { type PackageMeta, type PackedPackage, packPackage, packageMeta } from './packagePacker';
import { PartWriter } from './partWriter';
import { readTarball } from './tarball';

const usage = `usage: node out/model/corpus.mjs [options]
  --list FILE               package list, name@version per line (default model/corpus/packages.txt)
  --packages N              a seeded sample of N packages from the list (default 200); --all: every package
  --out DIR                 corpus folder (default model/.data/corpus); held-out workspaces go to DIR/heldout-workspaces
  --cache DIR               tarball cache (default model/.data/tarballs)
  --seed N                  split, sample, phrasing and pass-key seed (default 1)
  --heldout F               fraction of package groups held out (default 0.1)
  --part-tokens N           tokens per training part (default 16000000)
  --heldout-part-tokens N   tokens per held-out part (default 2000000: the trainer carries only heldout-000)
  --max-package-tokens N    tokens kept per package, files in path order (default 400000)
  --passkeys N              pass keys per part (default 2048)
  --quest-lengths L,…       context lengths of the Quest-style passkey prompts (default 1024,4096,8192,16384)
  --quest-per-length N      prompts per length and part (default 16)`;

const { values: a } = parseArgs({
  options: {
    list: { type: 'string', default: 'model/corpus/packages.txt' },
    packages: { type: 'string', default: '200' },
    all: { type: 'boolean', default: false },
    out: { type: 'string', default: 'model/.data/corpus' },
    cache: { type: 'string', default: 'model/.data/tarballs' },
    seed: { type: 'string', default: '1' },
    heldout: { type: 'string', default: '0.1' },
    'part-tokens': { type: 'string', default: '16000000' },
    'heldout-part-tokens': { type: 'string', default: '2000000' },
    'max-package-tokens': { type: 'string', default: '400000' },
    passkeys: { type: 'string', default: '2048' },
    'quest-lengths': { type: 'string', default: '1024,4096,8192,16384' },
    'quest-per-length': { type: 'string', default: '16' },
    help: { type: 'boolean', default: false },
  },
});
if (a.help) {
  console.log(usage);
  process.exit(0);
}
const num = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n >= min)) {
    console.error(`--${name} must be a number >= ${min}, got '${v}'\n${usage}`);
    process.exit(2);
  }
  return n;
};
const seed = num('seed', a.seed, 0);
const heldOutFraction = num('heldout', a.heldout, 0);
const partTokens = num('part-tokens', a['part-tokens'], 1);
const heldOutPartTokens = num('heldout-part-tokens', a['heldout-part-tokens'], 1);
const maxPackageTokens = num('max-package-tokens', a['max-package-tokens'], 1);
const questLengths = a['quest-lengths']!.split(',').map((s) => num('quest-lengths', s, 64));
const outDir = a.out!;
const log = (msg: string) => console.error(`[corpus] ${msg}`);

// 1. The packages: the whole list, or a seeded sample across it.
const listed = parsePackageList(readFileSync(a.list!, 'utf8'), a.list);
const chosen: PackageSpec[] = a.all
  ? listed
  : [...listed].sort((x, y) => unitHash(seed, `pick:${x.name}`) - unitHash(seed, `pick:${y.name}`)).slice(0, num('packages', a.packages, 1));
log(`${chosen.length} of ${listed.length} listed packages`);

// 2. Tarballs, fetched once into the cache.
mkdirSync(a.cache!, { recursive: true });
const t0 = performance.now();
const fetched = await fetchTarballs(chosen, a.cache!, { onProgress: (d, t) => log(`fetched ${d}/${t}`) });
const fetchSeconds = (performance.now() - t0) / 1000;
log(`${fetched.paths.size} tarballs ready (${fetched.failed.length} failed) in ${fetchSeconds.toFixed(1)} s`);

// 3. Licences and repositories (a first pass over the tarballs keeps only this).
interface Candidate {
  readonly spec: PackageSpec;
  readonly path: string;
  readonly meta: PackageMeta;
}
const candidates: Candidate[] = [];
const rejected: { name: string; version: string; reason: string }[] = [];
for (const spec of chosen) {
  const path = fetched.paths.get(spec.name);
  if (!path) continue;
  let meta: PackageMeta;
  try {
    meta = packageMeta(readTarball(readFileSync(path), path));
  } catch (e) {
    rejected.push({ ...spec, reason: (e as Error).message });
    continue;
  }
  if (!meta.licence.ok) rejected.push({ ...spec, reason: meta.licence.reason ?? 'licence' });
  else candidates.push({ spec, path, meta });
}
log(`${candidates.length} packages with a permissive licence, ${rejected.length} left out`);

// 4. Groups and the split.
const groups = groupPackages(candidates.map((c) => ({ name: c.spec.name, ...(c.meta.repository ? { repository: c.meta.repository } : {}) })));
const heldOut = (c: Candidate) => isHeldOut(seed, groups.get(c.spec.name)!, heldOutFraction);
// Held-out packages are packed first, so that a file shipped by both a held-out and a training package is kept in
// the held-out one and dropped from training (held-out code must be unseen).
const byName = (x: Candidate, y: Candidate) => (x.spec.name < y.spec.name ? -1 : 1);
const heldOutList = candidates.filter(heldOut).sort(byName);
const trainList = candidates
  .filter((c) => !heldOut(c))
  .sort((x, y) => unitHash(seed, `order:${x.spec.name}`) - unitHash(seed, `order:${y.spec.name}`));

// 5. Pack.
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const tokenizer = createTokenizer(p50kTokenizerMetadata());
const packer = packerTokenizer(tokenizer);
const corpusTok = {
  encode: (text: string) => tokenizer.encode(text, { addBos: false, parseSpecial: false }),
  tokenBytes: (id: number) => tokenizer.tokenBytes(id),
  vocabSize: tokenizer.vocabSize,
  eot: p50kEndOfText,
};
const seen = new Set<string>();
const partOptions = { seed, passkeys: num('passkeys', a.passkeys, 1), questPerLength: num('quest-per-length', a['quest-per-length'], 0), questLengths };
const manifestPackages: Record<string, unknown>[] = [];
const partSummaries: Record<string, unknown>[] = [];
const dropped: Record<string, number> = {};
const heldOutQuestions: Record<string, unknown>[] = [];
const workspaceDir = join(outDir, 'heldout-workspaces');
let packSeconds = 0;
let packedTokens = 0;

async function packOne(c: Candidate): Promise<PackedPackage | undefined> {
  const t = performance.now();
  try {
    const packed = await packPackage(c.spec.name, readTarball(readFileSync(c.path), c.path), packer, seen, maxPackageTokens);
    packSeconds += (performance.now() - t) / 1000;
    packedTokens += packed.tokens;
    for (const [k, v] of Object.entries(packed.dropped)) dropped[k] = (dropped[k] ?? 0) + v;
    return packed;
  } catch (e) {
    rejected.push({ ...c.spec, reason: `packing failed: ${(e as Error).message}` });
    return undefined;
  }
}

function record(c: Candidate, packed: PackedPackage, split: string, part: string): void {
  manifestPackages.push({
    name: c.spec.name,
    version: c.spec.version,
    licence: c.meta.licence.declared,
    ...(c.meta.repository ? { repository: c.meta.repository } : {}),
    group: groups.get(c.spec.name),
    split,
    part,
    files: packed.files.length,
    tokens: packed.tokens,
  });
}

function finishPart(writer: PartWriter, name: string): void {
  const t = performance.now();
  const index = writer.finish(join(outDir, name));
  partSummaries.push({ part: name, split: index.split, packages: index.packages.length, ...index.totals, writeSeconds: (performance.now() - t) / 1000 });
  log(`part ${name}: ${index.packages.length} packages, ${index.totals.tokens} tokens, ${index.totals.definitions} definitions, ${index.totals.usages} usages`);
}

// Held-out: parts heldout-000, … (the trainer's evaluation needs only the first), plus each package's kept files on
// disk as a workspace, and its askable lines (the engine evaluation reads those).
let heldNo = 0;
let held: PartWriter | undefined;
for (const c of heldOutList) {
  const packed = await packOne(c);
  if (!packed || packed.files.length === 0) continue;
  const name = `heldout-${String(heldNo).padStart(3, '0')}`;
  held ??= new PartWriter(corpusTok, { ...partOptions, part: name, split: 'heldout', seed: seed + 1 });
  held.addPackage(c.spec.name, c.spec.version, packed);
  record(c, packed, 'heldout', name);
  for (const f of packed.files) {
    const path = join(workspaceDir, c.spec.name, f.relPath);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.text);
  }
  const lines = (f: { text: string }, n: number) => f.text.split('\n')[n - 1]?.replace(/\r$/, '') ?? '';
  heldOutQuestions.push({
    package: c.spec.name,
    definitions: packed.files.flatMap((f) => f.askables.definitions.map((d) => ({ ...d, file: f.relPath, text: lines(f, d.line) }))),
    usages: packed.files.flatMap((f) => f.askables.usages.map((u) => ({ ...u, file: f.relPath, text: lines(f, u.line) }))),
  });
  if (held.tokenCount >= heldOutPartTokens) {
    finishPart(held, name);
    held = undefined;
    heldNo++;
  }
}
if (held) finishPart(held, `heldout-${String(heldNo).padStart(3, '0')}`);

let partNo = 0;
let writer: PartWriter | undefined;
let done = 0;
for (const c of trainList) {
  const packed = await packOne(c);
  if (++done % 50 === 0) log(`packed ${done}/${trainList.length} training packages, ${packedTokens} tokens, ${Math.round(packedTokens / packSeconds)} tokens/s`);
  if (!packed || packed.files.length === 0) continue;
  const name = `train-${String(partNo).padStart(3, '0')}`;
  writer ??= new PartWriter(corpusTok, { ...partOptions, part: name, split: 'train' });
  writer.addPackage(c.spec.name, c.spec.version, packed);
  record(c, packed, 'train', name);
  if (writer.tokenCount >= partTokens) {
    finishPart(writer, name);
    writer = undefined;
    partNo++;
  }
}
if (writer) finishPart(writer, `train-${String(partNo).padStart(3, '0')}`);

// 6. The manifest: every package with version, licence, group and split (the model card's table), and the numbers.
const sum = (split: string, key: 'tokens' | 'files') => manifestPackages.filter((p) => p.split === split).reduce((n, p) => n + (p[key] as number), 0);
const manifest = {
  built: { seed, heldOutFraction, partTokens, maxPackageTokens, list: a.list, sampled: a.all ? 'all' : chosen.length },
  timing: { fetchSeconds, packSeconds, tokensPerSecond: Math.round(packedTokens / packSeconds) },
  totals: {
    packages: manifestPackages.length,
    train: { packages: manifestPackages.filter((p) => p.split === 'train').length, files: sum('train', 'files'), tokens: sum('train', 'tokens') },
    heldout: { packages: manifestPackages.filter((p) => p.split === 'heldout').length, files: sum('heldout', 'files'), tokens: sum('heldout', 'tokens') },
  },
  parts: partSummaries,
  droppedFiles: dropped,
  leftOut: [...fetched.failed.map((f) => ({ name: f.name, version: f.version, reason: `fetch: ${f.error}` })), ...rejected],
  packages: manifestPackages,
};
writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
writeFileSync(join(outDir, 'heldout-questions.json'), JSON.stringify(heldOutQuestions));
log(`done: ${JSON.stringify(manifest.totals)}; packing ${manifest.timing.tokensPerSecond} tokens/s`);
