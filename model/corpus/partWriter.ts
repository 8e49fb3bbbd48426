// Writes one corpus part (corpusFormat.ts): packages are added one at a time into growing tables, then written out
// with the part's names, question sequences, pass keys and Quest-style passkey prompts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CORPUS_FORMAT, CORPUS_VERSION, type CorpusIndex, DEFINITION_KINDS, DEF_COLUMNS, DEF_DECLARATION, DEF_SIGNATURE,
  FILE_COLUMNS, FILE_DECLARATION, NAME_COLUMNS, PACKAGE_COLUMNS, PASSKEY_COLUMNS, QUEST_COLUMNS, SAFE_LINE, type TableShape, USE_COLUMNS,
} from './corpusFormat';
import { u16s, u32s } from './growable';
import type { PackedPackage } from './packagePacker';
import { unitHash } from './packageList';
import {
  nameFirstPrefix, notInContextAnswer, passkeyAnswer, passkeyNeedle, passkeyQuestion, promptFormatId, questPasskey,
  questionFor, questionPart, questionTasks,
} from './promptFormat';

/** The tokenizer calls the writer needs: plain text in, ids out (no special tokens parsed), and token bytes. */
export interface CorpusTokenizer {
  encode(text: string): number[];
  tokenBytes(id: number): Uint8Array;
  readonly vocabSize: number;
  readonly eot: number;
}

export interface PartOptions {
  readonly part: string;
  readonly split: 'train' | 'heldout';
  readonly seed: number;
  /** Pass keys to pre-tokenize (needle and answer). */
  readonly passkeys: number;
  /** Quest-style passkey prompts per context length. */
  readonly questPerLength: number;
  readonly questLengths: readonly number[];
}

export class PartWriter {
  private readonly tokens = u16s();
  private readonly files = u32s();
  private readonly lines = u32s();
  private readonly packages = u32s();
  private readonly defs = u32s();
  private readonly uses = u32s();
  private readonly names = u32s();
  private readonly seqs = u16s();
  private readonly nameIds = new Map<string, number>();
  private readonly nameList: string[] = [];
  private readonly packageList: { name: string; version: string }[] = [];

  constructor(
    private readonly tok: CorpusTokenizer,
    private readonly options: PartOptions,
  ) {}

  get tokenCount(): number {
    return this.tokens.length;
  }

  private seq(ids: readonly number[]): [number, number] {
    const off = this.seqs.length;
    this.seqs.append(ids);
    return [off, ids.length];
  }

  private nameId(name: string): number {
    let id = this.nameIds.get(name);
    if (id !== undefined) return id;
    id = this.nameList.length;
    this.nameIds.set(name, id);
    this.nameList.push(name);
    const row: number[] = [];
    for (const task of questionTasks) {
      // One phrasing per (name, task), from a hash: the same on every build.
      const variant = Math.floor(unitHash(this.options.seed, `${task}:${name}`) * 3);
      row.push(...this.seq(this.tok.encode(questionPart(questionFor(task, name, variant)))));
    }
    row.push(...this.seq(this.tok.encode(nameFirstPrefix(name))));
    this.names.push(...row);
    return id;
  }

  addPackage(name: string, version: string, pkg: PackedPackage): void {
    const pkgIndex = this.packageList.length;
    this.packageList.push({ name, version });
    const fileStart = this.files.length / FILE_COLUMNS.length;
    const defStart = this.defs.length / DEF_COLUMNS.length;
    const useStart = this.uses.length / USE_COLUMNS.length;
    const definedHere = new Set(pkg.files.flatMap((f) => f.askables.definitions.map((d) => d.name)));
    for (const [k, f] of pkg.files.entries()) {
      const file = fileStart + k;
      for (const id of f.tokens) {
        if (id > 0xffff) throw new RangeError(`token id ${id} does not fit the corpus's u16 tokens`);
      }
      this.files.push(pkgIndex, this.tokens.length, f.tokens.length, this.lines.length, f.lineTokenStarts.length, f.headerTokens, f.declaration ? FILE_DECLARATION : 0);
      this.tokens.append(f.tokens);
      // (lines + 1) starts; the end entry counts as a safe split point.
      this.lines.append(f.lineTokenStarts.map((s, i) => (s | ((i === f.safeLines.length || f.safeLines[i]) ? SAFE_LINE : 0)) >>> 0));
      for (const d of f.askables.definitions) {
        const kind = DEFINITION_KINDS.indexOf(d.kind) | (d.declaration ? DEF_DECLARATION : 0) | (d.signature ? DEF_SIGNATURE : 0);
        this.defs.push(file, d.line, this.nameId(d.name), kind);
      }
      for (const u of f.askables.usages) {
        // Only names some file of this package defines can be asked about.
        if (definedHere.has(u.name)) this.uses.push(file, u.line, this.nameId(u.name), u.kind === 'import' ? 0 : 1);
      }
    }
    const fileCount = pkg.files.length;
    const defCount = this.defs.length / DEF_COLUMNS.length - defStart;
    const useCount = this.uses.length / USE_COLUMNS.length - useStart;
    this.packages.push(fileStart, fileCount, defStart, defCount, useStart, useCount, pkg.tokens);
  }

  /** Writes the part folder; returns its index. */
  finish(dir: string): CorpusIndex {
    mkdirSync(dir, { recursive: true });
    const o = this.options;
    // Pass keys: 5-digit numbers from a seeded generator (the held-out part gets other keys through its seed).
    const passkeys = u32s();
    for (let i = 0; i < o.passkeys; i++) {
      const key = String(10000 + Math.floor(unitHash(o.seed, `passkey:${o.part}:${i}`) * 90000));
      passkeys.push(...this.seq(this.tok.encode(passkeyNeedle(key))), ...this.seq(this.tok.encode(passkeyAnswer(key))));
    }
    const quest = u32s();
    const questTokens = u16s();
    const fillerTokens = this.tok.encode(questPasskey.filler).length;
    for (const length of o.questLengths) {
      for (let i = 0; i < o.questPerLength; i++) {
        const key = String(10000 + Math.floor(unitHash(o.seed, `quest:${o.part}:${length}:${i}`) * 90000));
        const depth = unitHash(o.seed, `quest-depth:${o.part}:${length}:${i}`);
        const prompt = questPrompt(this.tok, length, key, depth, fillerTokens);
        const answer = this.tok.encode(passkeyAnswer(key));
        quest.push(length, questTokens.length, prompt.length, questTokens.length + prompt.length, answer.length);
        questTokens.append(prompt);
        questTokens.append(answer);
      }
    }
    const whitespaceTokens: number[] = [];
    for (let id = 0; id < this.tok.vocabSize; id++) {
      if (id === this.tok.eot) continue;
      const b = this.tok.tokenBytes(id);
      if (b.length > 0 && b.every((c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c)) whitespaceTokens.push(id);
    }
    const newline = this.tok.encode('\n');
    if (newline.length !== 1) throw new Error(`the tokenizer encodes "\\n" as ${newline.length} tokens, expected 1`);
    const constants = { passkeyQuestion: this.tok.encode(questionPart(passkeyQuestion)), notInContext: this.tok.encode(notInContextAnswer) };

    const tables: Record<string, TableShape> = {};
    const write = (name: string, file: string, data: { bytes(): Uint8Array; length: number }, dtype: 'u16' | 'u32', columns: readonly string[]) => {
      writeFileSync(join(dir, file), data.bytes());
      tables[name] = { file, dtype, rows: data.length / columns.length, columns };
    };
    write('tokens', 'tokens.u16', this.tokens, 'u16', ['token']);
    write('files', 'files.u32', this.files, 'u32', FILE_COLUMNS);
    write('lines', 'lines.u32', this.lines, 'u32', ['start']);
    write('packages', 'packages.u32', this.packages, 'u32', PACKAGE_COLUMNS);
    write('defs', 'defs.u32', this.defs, 'u32', DEF_COLUMNS);
    write('uses', 'uses.u32', this.uses, 'u32', USE_COLUMNS);
    write('names', 'names.u32', this.names, 'u32', NAME_COLUMNS);
    write('seqs', 'seqs.u16', this.seqs, 'u16', ['token']);
    write('passkeys', 'passkeys.u32', passkeys, 'u32', PASSKEY_COLUMNS);
    write('quest', 'quest.u32', quest, 'u32', QUEST_COLUMNS);
    write('questTokens', 'quest.u16', questTokens, 'u16', ['token']);
    writeFileSync(join(dir, 'names.json'), JSON.stringify(this.nameList));
    const index: CorpusIndex = {
      format: CORPUS_FORMAT,
      version: CORPUS_VERSION,
      part: o.part,
      split: o.split,
      seed: o.seed,
      tokenizer: 'p50k_base',
      vocabSize: this.tok.vocabSize,
      promptFormat: promptFormatId,
      eot: this.tok.eot,
      newline: newline[0],
      whitespaceTokens,
      constants,
      tables,
      packages: this.packageList,
      totals: {
        tokens: this.tokens.length,
        files: this.files.length / FILE_COLUMNS.length,
        definitions: this.defs.length / DEF_COLUMNS.length,
        usages: this.uses.length / USE_COLUMNS.length,
        names: this.nameList.length,
      },
    };
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index, null, 1));
    return index;
  }
}

/** eval/passkey.ts's prompt: about `length` tokens with the needle at `depth` of the filler. */
export function questPrompt(tok: Pick<CorpusTokenizer, 'encode'>, length: number, key: string, depth: number, fillerTokens: number): number[] {
  const q = questPasskey;
  const fixed = tok.encode(q.intro + q.needle(key) + q.question).length + 1;
  const repeats = Math.max(1, Math.floor((length - fixed) / fillerTokens));
  const before = Math.round(repeats * depth);
  return tok.encode(q.intro + q.filler.repeat(before) + q.needle(key) + q.filler.repeat(repeats - before) + q.question);
}
