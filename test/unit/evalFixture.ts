// Test helper (not a test): a tiny held-out corpus in the corpus builder's layout (heldout-workspaces/<package>/ and
// heldout-questions.json), with definitions chosen so that each question rule of eval/questions.ts decides something:
//   add      implementation in demo-a/src/math.js:2 and declaration in demo-a/index.d.ts:1 (signature)
//            → definition quotes the implementation, signature quotes the declaration
//   twice    two implementations → neither question
//   VERSION  implementation (no signature) and a declaration → definition only
//   run      one indented implementation with a signature → definition and signature, whitespace tokens dropped
//   label    one definition whose line text occurs twice in the context → not asked
//   hidden   in coverage/, which corpusSkipDirs skips → not in the context, not asked
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const fixtureFiles: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'demo-a': {
    'src/math.js': '// math helpers\nexport function add(a, b) {\n  return a + b;\n}\n\nexport function twice(x) {\n  return add(x, x);\n}\n',
    'src/dup.js': 'function twice(y) {\n  return y * 2;\n}\nexport const VERSION = \'1.0\';\n',
    'index.d.ts': 'export declare function add(a: number, b: number): number;\nexport declare const VERSION: string;\n',
  },
  '@scope/demo-b': {
    'lib/run.js': '    function run(task) {\n      return task();\n    }\nconst label = \'x\';\n',
    'lib/other.js': 'const label = \'x\';\nmodule.exports = label;\n',
    'coverage/hidden.js': 'export function hidden() {}\n',
  },
};

const def = (name: string, file: string, line: number, declaration: boolean, signature: boolean, text: string) => ({ name, line, kind: 'function', declaration, signature, file, text });

export const fixtureQuestions = [
  {
    package: 'demo-a',
    definitions: [
      def('add', 'src/math.js', 2, false, true, 'export function add(a, b) {'),
      def('twice', 'src/math.js', 6, false, true, 'export function twice(x) {'),
      def('twice', 'src/dup.js', 1, false, true, 'function twice(y) {'),
      def('VERSION', 'src/dup.js', 4, false, false, "export const VERSION = '1.0';"),
      def('add', 'index.d.ts', 1, true, true, 'export declare function add(a: number, b: number): number;'),
      def('VERSION', 'index.d.ts', 2, true, false, 'export declare const VERSION: string;'),
    ],
    usages: [],
  },
  {
    package: '@scope/demo-b',
    definitions: [
      def('run', 'lib/run.js', 1, false, true, '    function run(task) {'),
      def('label', 'lib/run.js', 4, false, false, "const label = 'x';"),
      def('hidden', 'coverage/hidden.js', 1, false, true, 'export function hidden() {}'),
    ],
    usages: [],
  },
];

/** The questions the rules allow, as `task name → file:line`. */
export const fixtureAskable: readonly string[] = [
  'definition add → demo-a/src/math.js:2',
  'signature add → demo-a/index.d.ts:1',
  'definition VERSION → demo-a/src/dup.js:4',
  'definition run → @scope/demo-b/lib/run.js:1',
  'signature run → @scope/demo-b/lib/run.js:1',
];

/** Writes the corpus under `dir` and returns `dir`. */
export function writeFixtureCorpus(dir: string): string {
  for (const [pkg, files] of Object.entries(fixtureFiles)) {
    for (const [rel, text] of Object.entries(files)) {
      const path = join(dir, 'heldout-workspaces', pkg, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  }
  writeFileSync(join(dir, 'heldout-questions.json'), JSON.stringify(fixtureQuestions));
  return dir;
}
