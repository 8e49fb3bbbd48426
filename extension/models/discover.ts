// GGUF models already on this machine, from the stores local-LLM users have: Ollama's blob store (a manifest per
// model names the blob that holds the weights), LM Studio's model folders, and the Hugging Face hub cache. No vscode
// import: unit-tested against fixture folders (test/unit/extensionModels.test.ts). Reads directory listings and
// small manifest files only; a store that is missing or unreadable contributes nothing.
import { type Dirent, promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';

export type ModelSource = 'ollama' | 'lmstudio' | 'huggingface';

export interface FoundModel {
  /** The file to load (for Ollama a blob without an extension; it is still a GGUF file). */
  readonly path: string;
  /** How the store names it: `llama3.2:1b`, `lmstudio-community/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf`, … */
  readonly label: string;
  readonly source: ModelSource;
  readonly bytes: number;
}

export interface StoreRoots {
  /** Ollama's models folder (OLLAMA_MODELS, else ~/.ollama/models). */
  readonly ollama: readonly string[];
  /** LM Studio's models folders (~/.lmstudio/models and the older ~/.cache/lm-studio/models). */
  readonly lmstudio: readonly string[];
  /** The Hugging Face hub cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
  readonly huggingface: readonly string[];
}

export function storeRoots(home: string, env: Readonly<Record<string, string | undefined>>): StoreRoots {
  const hfHome = env.HF_HOME || join(home, '.cache', 'huggingface');
  return {
    ollama: [env.OLLAMA_MODELS || join(home, '.ollama', 'models')],
    lmstudio: [join(home, '.lmstudio', 'models'), join(home, '.cache', 'lm-studio', 'models')],
    huggingface: [env.HF_HUB_CACHE || join(hfHome, 'hub')],
  };
}

/** Every model found, each real file once (the first store that names it wins), sorted by source then label. */
export async function discoverModels(roots: StoreRoots): Promise<FoundModel[]> {
  const lists = await Promise.all([
    ...roots.ollama.map(ollamaModels),
    ...roots.lmstudio.map(lmStudioModels),
    ...roots.huggingface.map(huggingFaceModels),
  ]);
  const seen = new Set<string>();
  const out: FoundModel[] = [];
  for (const m of lists.flat()) {
    const real = await fsp.realpath(m.path).catch(() => m.path);
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(m);
  }
  const order: Record<ModelSource, number> = { ollama: 0, lmstudio: 1, huggingface: 2 };
  return out.sort((a, b) => order[a.source] - order[b.source] || a.label.localeCompare(b.label));
}

/** Ollama's media type of the layer that holds the model weights. */
const OLLAMA_MODEL_LAYER = 'application/vnd.ollama.image.model';

/**
 * Ollama: `manifests/<registry>/<namespace>/<model>/<tag>` are JSON image manifests; the layer with the model media
 * type names the weights blob by digest (`sha256:<hex>`), stored as `blobs/sha256-<hex>` (older versions: `sha256:<hex>`).
 * Labels are Ollama's own names: `model:tag`, with `namespace/` unless it is `library`, and the registry unless it
 * is registry.ollama.ai.
 */
export async function ollamaModels(root: string): Promise<FoundModel[]> {
  const manifests = join(root, 'manifests');
  const out: FoundModel[] = [];
  for (const registry of await dirs(manifests)) {
    for (const namespace of await dirs(join(manifests, registry))) {
      for (const model of await dirs(join(manifests, registry, namespace))) {
        const folder = join(manifests, registry, namespace, model);
        for (const tag of await files(folder)) {
          const digest = await modelDigest(join(folder, tag));
          if (!digest) continue;
          const hex = digest.replace(/^sha256[:-]/, '');
          const blob = await firstFile([join(root, 'blobs', `sha256-${hex}`), join(root, 'blobs', `sha256:${hex}`)]);
          if (!blob) continue;
          const prefix = `${registry === 'registry.ollama.ai' ? '' : `${registry}/`}${namespace === 'library' ? '' : `${namespace}/`}`;
          out.push({ path: blob.path, label: `${prefix}${model}:${tag}`, source: 'ollama', bytes: blob.bytes });
        }
      }
    }
  }
  return out;
}

async function modelDigest(manifestPath: string): Promise<string | undefined> {
  try {
    const stat = await fsp.stat(manifestPath);
    if (stat.size > 1 << 20) return undefined; // a manifest is a few hundred bytes; anything else is not one
    const manifest = JSON.parse(await fsp.readFile(manifestPath, 'utf8')) as { layers?: Array<{ mediaType?: unknown; digest?: unknown }> };
    const layer = manifest.layers?.find((l) => l.mediaType === OLLAMA_MODEL_LAYER);
    return typeof layer?.digest === 'string' && /^sha256[:-][0-9a-f]{64}$/.test(layer.digest) ? layer.digest : undefined;
  } catch {
    return undefined; // unreadable or not JSON: not a model manifest
  }
}

/** LM Studio: `<publisher>/<repository>/<file>.gguf` (deeper folders are searched too, up to 4 levels). */
export async function lmStudioModels(root: string): Promise<FoundModel[]> {
  const found = await ggufFiles(root, 4);
  return found.map((f) => ({ path: f.path, label: f.rel, source: 'lmstudio' as const, bytes: f.bytes }));
}

/**
 * Hugging Face hub cache: `models--<org>--<name>/snapshots/<revision>/…/*.gguf` (symlinks into `blobs/`). One entry
 * per file name across revisions: the newest snapshot folder (by modification time) wins.
 */
export async function huggingFaceModels(root: string): Promise<FoundModel[]> {
  const out: FoundModel[] = [];
  for (const repo of await dirs(root)) {
    if (!repo.startsWith('models--')) continue;
    const repoId = repo.slice('models--'.length).split('--').join('/');
    const snapshots = join(root, repo, 'snapshots');
    const revisions = await Promise.all(
      (await dirs(snapshots)).map(async (r) => ({ r, mtime: (await fsp.stat(join(snapshots, r)).catch(() => undefined))?.mtimeMs ?? 0 })),
    );
    revisions.sort((a, b) => b.mtime - a.mtime);
    const names = new Set<string>();
    for (const { r } of revisions) {
      for (const f of await ggufFiles(join(snapshots, r), 3)) {
        if (names.has(f.rel)) continue;
        names.add(f.rel);
        out.push({ path: f.path, label: `${repoId}/${f.rel}`, source: 'huggingface', bytes: f.bytes });
      }
    }
  }
  return out;
}

/**
 * `.gguf` files under `root` (following symlinks to files), as paths relative to root with forward slashes.
 * Left out: vision projectors (`mmproj*`), which are not language models, and the parts of split models
 * (`-00001-of-00003.gguf`), which the engine does not read.
 */
async function ggufFiles(root: string, depth: number): Promise<Array<{ path: string; rel: string; bytes: number }>> {
  const out: Array<{ path: string; rel: string; bytes: number }> = [];
  const walk = async (dir: string, rel: string, left: number): Promise<void> => {
    for (const e of await entries(dir)) {
      const path = join(dir, e.name);
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const stat = e.isSymbolicLink() ? await fsp.stat(path).catch(() => undefined) : e;
      if (!stat) continue; // a dangling link (an HF blob still downloading, or removed)
      if (stat.isDirectory()) {
        if (left > 1 && !e.isSymbolicLink()) await walk(path, relPath, left - 1);
      } else if (stat.isFile() && isLoadableGgufName(e.name)) {
        const bytes = (await fsp.stat(path).catch(() => undefined))?.size ?? 0;
        out.push({ path, rel: relPath, bytes });
      }
    }
  };
  await walk(root, '', depth);
  return out;
}

export function isLoadableGgufName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.endsWith('.gguf') && !lower.startsWith('mmproj') && !/-\d{5}-of-\d{5}\.gguf$/.test(lower);
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return []; // missing or unreadable: this store has nothing here
  }
}

async function dirs(dir: string): Promise<string[]> {
  return (await entries(dir)).filter((e) => e.isDirectory()).map((e) => e.name);
}

async function files(dir: string): Promise<string[]> {
  return (await entries(dir)).filter((e) => e.isFile()).map((e) => e.name);
}

async function firstFile(paths: readonly string[]): Promise<{ path: string; bytes: number } | undefined> {
  for (const path of paths) {
    const stat = await fsp.stat(path).catch(() => undefined);
    if (stat?.isFile()) return { path, bytes: stat.size };
  }
  return undefined;
}

/** The name to show for a model path: the store's label when the picker knew it, else the file name without `.gguf`. */
export function modelDisplayName(path: string, knownLabel?: string): string {
  if (knownLabel) return knownLabel;
  const name = basename(path);
  return name.toLowerCase().endsWith('.gguf') ? name.slice(0, -'.gguf'.length) : name;
}
