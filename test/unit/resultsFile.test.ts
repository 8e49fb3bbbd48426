// Results files stored gzip-compressed (bench/resultsFile.ts): the writer's bytes are gzip and round-trip, a killed
// write leaves nothing half-written under the name, and both reports (eval/report.ts's model card, bench/report.ts's
// BENCHMARKS.md tables) give the same output from a run's `.json.gz` as from the older plain `.json` of the same run.
// The committed results serve as the runs, so the conversion of eval/results and bench/results is checked too.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { readResults, renderTables } from '../../bench/report';
import { isResultsFile, readResultsFile, resultsExtension, writeResultsFile } from '../../bench/resultsFile';

/** The name without `.json` / `.json.gz`: one run's files in either format share it. */
const resultsBaseName = (name: string): string => name.replace(/\.json(\.gz)?$/, '');
import { cardBegin, cardEnd, writeCard } from '../../eval/report';
import { repoRoot } from '../util/paths';

const tmp = mkdtempSync(join(tmpdir(), 'ql-results-file-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const evalDir = join(repoRoot, 'eval/results');
const benchDir = join(repoRoot, 'bench/results');
const gzNames = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(resultsExtension)).sort();
/** A plain `.json` copy of a committed `.json.gz`: the format runs wrote before. */
const writePlain = (gz: string, json: string) => writeFileSync(json, gunzipSync(readFileSync(gz)));

test('writeResultsFile writes gzip that reads back as the value, and refuses a name without .json.gz', () => {
  const value = { schema: 1, date: '2026-11-23T00:00:00.000Z', rows: [1, 2.5, 'x'], nested: { a: null } };
  const file = join(tmp, 'run.json.gz');
  writeResultsFile(file, value, 1);
  const bytes = readFileSync(file);
  assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b], 'gzip magic');
  assert.equal(gunzipSync(bytes).toString('utf8'), `${JSON.stringify(value, null, 1)}\n`);
  assert.deepEqual(readResultsFile(file), value);
  assert.ok(!existsSync(`${file}.partial`), 'the temporary file is renamed over the result');
  writeResultsFile(file, { ...value, rows: [] });
  assert.deepEqual(readResultsFile(file), { ...value, rows: [] }, 'a later save replaces the earlier one');
  assert.throws(() => writeResultsFile(join(tmp, 'run.json'), value), /\.json\.gz/);
  assert.throws(() => readResultsFile(join(tmp, 'run.txt')), /\.json\.gz/);
  assert.deepEqual(['a.json', 'a.json.gz', 'a.gz', 'a.json.xz', 'a.tar.xz'].map(isResultsFile), [true, true, false, false, false]);
});

test('committed results are all .json.gz and readable', () => {
  for (const dir of [evalDir, join(evalDir, 'parity'), benchDir]) {
    const names = readdirSync(dir).filter((f) => f.includes('.json'));
    assert.ok(names.length > 0, `${dir} has results`);
    for (const f of names) {
      assert.ok(f.endsWith(resultsExtension), `${dir}/${f} is stored as ${resultsExtension}`);
      assert.equal(typeof readResultsFile(join(dir, f)), 'object', `${f} parses`);
    }
  }
});

test("the model card's section is the same from a run's .json.gz and from its plain .json", () => {
  const name = gzNames(evalDir).at(-1)!;
  const base = resultsBaseName(name);
  const gz = join(tmp, name);
  const json = join(tmp, `${base}.json`);
  copyFileSync(join(evalDir, name), gz);
  writePlain(gz, json);
  const card = (file: string) => {
    const path = join(tmp, `card-${file.endsWith('.gz') ? 'gz' : 'json'}.md`);
    writeFileSync(path, `# Card\n${cardBegin}\nold\n${cardEnd}\n`);
    writeCard(file, path);
    return readFileSync(path, 'utf8');
  };
  const fromGz = card(gz);
  const fromJson = card(json);
  assert.match(fromGz, /\*\*All questions\*\*/, 'tables were rendered');
  assert.ok(fromGz.includes(`Run \`${gz}\``) && fromJson.includes(`Run \`${json}\``), 'each names the file it came from');
  assert.equal(fromGz.replace(gz, 'FILE'), fromJson.replace(json, 'FILE'), 'otherwise the same');
});

test("BENCHMARKS.md's tables are the same from .json.gz runs as from plain .json runs", () => {
  const names = gzNames(benchDir);
  const gzDir = join(tmp, 'bench-gz');
  const jsonDir = join(tmp, 'bench-json');
  for (const d of [gzDir, jsonDir]) mkdirSync(d);
  for (const f of names) {
    copyFileSync(join(benchDir, f), join(gzDir, f));
    writePlain(join(benchDir, f), join(jsonDir, `${resultsBaseName(f)}.json`));
  }
  const fromGz = readResults(gzDir);
  const fromJson = readResults(jsonDir);
  assert.equal(fromGz.length, fromJson.length);
  assert.ok(fromGz.length > 0, 'hardware runs are read');
  const tablesGz = renderTables(fromGz);
  assert.match(tablesGz, /bench\/results\/[^ ]+\.json\.gz \|/, 'the runs table names the .json.gz files');
  assert.equal(tablesGz, renderTables(fromJson).replace(/(bench\/results\/[0-9a-z-]+)\.json/g, '$1.json.gz'));
});
