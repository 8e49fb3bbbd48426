// Default skip lists: what is never worth context tokens, decided from names alone (no read). Content checks
// (NUL bytes, long lines) are in readSource.ts. An include glob that spells a path out overrides these lists.

/**
 * Folder names skipped at any depth. Chosen like Copilot's and Continue's defaults, narrowed to folders that are
 * almost never hand-written source: version control, installed dependencies, virtual environments, tool caches and
 * framework build caches, coverage output, `dist`. Not listed: `build`, `out`, `target`, `bin` — real source lives
 * there in some repositories (VS Code's own `build/`); they are normally .gitignored, and bundles in them are caught
 * by the minified and size checks.
 */
export const DEFAULT_SKIP_DIRS: readonly string[] = [
  '.git', '.hg', '.svn', '.jj', 'CVS',
  'node_modules', 'bower_components', 'jspm_packages', '.yarn', '.pnpm-store', 'vendor',
  '.venv', 'venv', '__pycache__', '.mypy_cache', '.pytest_cache', '.ruff_cache', '.tox', '.eggs',
  '.gradle', '.m2', '.idea', '.vs', '.vscode-test', '.cache', '.parcel-cache', '.turbo',
  '.next', '.nuxt', '.svelte-kit', '.angular', '.docusaurus', '.terraform',
  'coverage', '.nyc_output', 'dist',
];

/** Lock files: machine-written, large, and nothing a question about the code needs. */
export const LOCK_FILES: ReadonlySet<string> = new Set([
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock',
  'Cargo.lock', 'poetry.lock', 'Pipfile.lock', 'uv.lock', 'pdm.lock', 'Gemfile.lock', 'composer.lock',
  'go.sum', 'flake.lock', 'mix.lock', 'pubspec.lock', 'Podfile.lock', 'packages.lock.json', 'gradle.lockfile',
  'deno.lock', 'conda-lock.yml',
]);

/**
 * Generated-file names: minified bundles (`*.min.js`, `*-min.css`, `*.bundle.js`, `*.chunk.js`), source maps (`*.map`),
 * protobuf output (`*.pb.go`, `*_pb2.py`). Files that only look minified are caught by the content check.
 */
const GENERATED_NAME = /(?:[.-]min\.(?:js|mjs|cjs|css)|\.map|\.bundle\.js|\.chunk\.js|\.pb\.go|_pb2\.py)$/i;

/** Extensions of formats that are binary (skipped without reading); anything else is sniffed for NUL bytes. */
const BINARY_EXTENSIONS: ReadonlySet<string> = new Set([
  'png', 'jpg', 'jpeg', 'gif', 'bmp', 'ico', 'icns', 'webp', 'avif', 'tif', 'tiff', 'psd',
  'mp3', 'mp4', 'm4a', 'wav', 'ogg', 'flac', 'mov', 'avi', 'mkv', 'webm',
  'zip', 'gz', 'tgz', 'bz2', 'xz', 'zst', '7z', 'rar', 'tar', 'jar', 'war', 'whl', 'vsix', 'nupkg',
  'exe', 'dll', 'so', 'dylib', 'a', 'lib', 'o', 'obj', 'class', 'pyc', 'pyo', 'wasm', 'node',
  'ttf', 'otf', 'woff', 'woff2', 'eot',
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx',
  'db', 'sqlite', 'sqlite3', 'parquet', 'npy', 'npz', 'pt', 'pth', 'onnx', 'safetensors', 'gguf', 'bin', 'dat',
  'DS_Store',
]);

export type NameVerdict =
  | { readonly reason: 'lock-file'; readonly detail: string }
  | { readonly reason: 'minified'; readonly detail: string }
  | { readonly reason: 'binary'; readonly detail: string };

/** Why a file is skipped from its name alone, or undefined when its content has to decide. */
export function skipByName(name: string): NameVerdict | undefined {
  if (LOCK_FILES.has(name)) return { reason: 'lock-file', detail: `lock file (${name})` };
  if (GENERATED_NAME.test(name)) return { reason: 'minified', detail: 'generated file name (minified bundle or source map)' };
  const dot = name.lastIndexOf('.');
  if (dot >= 0) {
    const ext = name.slice(dot + 1);
    if (BINARY_EXTENSIONS.has(ext) || BINARY_EXTENSIONS.has(ext.toLowerCase())) {
      return { reason: 'binary', detail: `binary format by extension (.${ext})` };
    }
  }
  return undefined;
}
