// How model/corpus/packages.txt was made: the most downloaded npm packages of a registry listing (a TSV with the
// columns name, version, downloads_a_month, summary), minus platform-specific binary packages, most downloaded first.
// Licences are not known here; the corpus builder reads each tarball's package.json and drops the non-permissive.
//   npx esbuild model/corpus/selectPackages.ts --bundle --platform=node --outfile=out/model/select.cjs
//   node out/model/select.cjs LISTING.tsv [MIN_DOWNLOADS=1000000] > model/corpus/packages.txt
import { readFileSync } from 'node:fs';

/** Prebuilt native binaries for one platform (esbuild, swc, rollup …): no source inside. */
const PLATFORM = /(?:^|[-./])(?:darwin|linux|win32|windows|android|freebsd|sunos|openbsd|netbsd|aix|musl|gnu|msvc|x64|arm64|ia32|armv7|wasm32|s390x|ppc64|riscv64|loong64|mips64el)(?:$|[-.])/i;

const [path, minArg] = process.argv.slice(2);
if (!path) {
  console.error('usage: node out/model/select.cjs LISTING.tsv [MIN_DOWNLOADS]');
  process.exit(2);
}
const min = Number(minArg ?? 1_000_000);
const rows = readFileSync(path, 'utf8')
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .filter((c) => c.length >= 3 && Number(c[2]) >= min && !PLATFORM.test(c[0].replace(/^@[^/]+\//, '')) && /^[\w.+-]+$/.test(c[1]))
  .sort((x, y) => Number(y[2]) - Number(x[2]) || (x[0] < y[0] ? -1 : 1));
console.log(`# npm packages with at least ${min} downloads a month, most downloaded first (model/corpus/selectPackages.ts).`);
console.log('# Licences are checked per tarball by the corpus builder; non-permissive packages are dropped there.');
for (const c of rows) console.log(`${c[0]}@${c[1]}`);
