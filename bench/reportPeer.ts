// BENCHMARKS.md's issue-9 tables: the engine against llama.cpp on the same card, GGUF and contexts, each decode as a
// share of its bytes-per-token limit, and the targets met or missed by how much. Every ratio pairs figures of one
// run (one results file): for each model and weight type, the newest run that measured llama.cpp on it.
import type { PeerDecodeRun, PeerResult } from './peer/peerBench';
import { f1, pct, row, table, times } from './reportFormat';
import type { BenchResult, DecodeRun, ModelResult } from './results';

/** The extension's default Quest budget (package.json questLens.tokenBudget): the setting users decode with. */
export const defaultBudget = 1024;

interface Paired {
  readonly file: string;
  readonly run: BenchResult;
  readonly peer: PeerResult;
}

/** Per model and type, the newest run that has a llama.cpp result for it. */
export function pairedRuns(results: readonly { file: string; result: BenchResult }[]): Paired[] {
  const latest = new Map<string, Paired>();
  for (const { file, result } of [...results].sort((x, y) => x.result.date.localeCompare(y.result.date))) {
    for (const peer of result.peers ?? []) latest.set(`${peer.model}|${peer.weightType}`, { file, run: result, peer });
  }
  return [...latest.values()];
}

/** The engine's figures at `context` in `run`: decode from a real prefill when there is one, else from kvAppend. */
function ours(run: BenchResult, model: string, type: string, context: number): { m: ModelResult; dense?: DecodeRun; quest?: DecodeRun; prefillTokensPerSecond?: number } | undefined {
  const same = run.models.filter((m) => m.model === model && m.weightType === type && m.context === context);
  const m = same.find((x) => x.fill === 'prefill') ?? same[0];
  if (!m) return undefined;
  return {
    m,
    dense: m.runs.find((r) => r.mode === 'dense'),
    quest: m.runs.find((r) => r.mode === 'quest' && r.budget === defaultBudget),
    ...(m.prefillMs ? { prefillTokensPerSecond: m.context / (m.prefillMs / 1000) } : {}),
  };
}

export function renderPeerTables(results: readonly { file: string; result: BenchResult }[]): string {
  const paired = pairedRuns(results);
  if (paired.length === 0) return '';
  const out: string[] = [];
  out.push('\n### Quest Lens vs llama.cpp on the same card\n');
  out.push(
    `llama.cpp: node-llama-cpp ${paired[0].peer.nodeLlamaCpp}'s prebuilt ${paired[0].peer.gpu || 'CPU'} build (llama.cpp ${paired[0].peer.llamaCppRelease}), ` +
      `flash attention on, f16 KV, ${paired[0].peer.settings.gpuLayers === 'max' ? 'every layer on the GPU' : 'on the CPU'}, batch ${paired[0].peer.settings.batchSize}, ` +
      'on the same GGUF as the engine in the same run ' +
      `(bench/peer/). As ../shared/docs/peers.md §4: an untimed warm-up, then per context a fresh llama.cpp context, a prompt of ` +
      `${pct(paired[0].peer.settings.promptFraction)} of it and ${paired[0].peer.settings.decodeTokens} greedy tokens. "own timers" = llama.cpp's ` +
      'llama_perf_context (what llama-bench reports); "wall" = around the JS calls, as the engine is timed. Quest Lens: median wall ms between ' +
      `tokens; Quest at the extension's default budget of ${defaultBudget} tokens; its prefill is of the whole context. Ratios are Quest Lens over ` +
      'llama.cpp\'s own timers (> 1: Quest Lens is faster).\n',
  );
  for (const { file, run, peer } of paired) {
    out.push(`\n**${peer.model} ${peer.weightType}** (bench/results/${file}${peer.devices.length ? `; llama.cpp: ${peer.offloadedLayers} layers on ${peer.devices.join(', ')}` : ''})\n`);
    out.push(table(['context', 'llama.cpp prompt', 'dense tok/s', `Quest ${defaultBudget} tok/s`, 'llama.cpp tok/s (own timers)', 'llama.cpp tok/s (wall)', 'dense / llama.cpp', `Quest ${defaultBudget} / llama.cpp`, 'prefill tok/s', 'llama.cpp prefill tok/s', 'prefill / llama.cpp']));
    for (const p of peer.runs) {
      const o = ours(run, peer.model, peer.weightType, p.context);
      out.push(row([p.context, p.promptTokens, f1(o?.dense?.tokensPerSecond), f1(o?.quest?.tokensPerSecond), f1(p.decodeTokensPerSecond), f1(1000 / p.decodeWallMsPerToken),
        times(o?.dense?.tokensPerSecond, p.decodeTokensPerSecond), times(o?.quest?.tokensPerSecond, p.decodeTokensPerSecond),
        o?.prefillTokensPerSecond?.toFixed(0) ?? '-', p.prefillTokensPerSecond.toFixed(0), times(o?.prefillTokensPerSecond, p.prefillTokensPerSecond)]));
    }
  }

  out.push('\n### Share of the bandwidth limit\n');
  out.push(
    'Limit = bytes a decode step must read (weights, K/V of the tokens attended, Quest\'s page metadata: bench/traffic.ts) over the run\'s copy bandwidth; ' +
      'each figure is that limit over the measured time per token. llama.cpp is counted like dense (the GGUF\'s tensors and an f16 cache) at its middle decode step.\n',
  );
  out.push(table(['model', 'type', 'context', 'dense MB/token', 'dense limit µs', 'dense', `Quest ${defaultBudget}`, 'llama.cpp (own timers)', 'llama.cpp (wall)']));
  for (const { run, peer } of paired) {
    for (const p of peer.runs) {
      const o = ours(run, peer.model, peer.weightType, p.context);
      out.push(row([peer.model, peer.weightType, p.context, o?.dense ? (o.dense.traffic.total / 1e6).toFixed(0) : '-', o?.dense ? o.dense.limitUs.toFixed(0) : '-',
        o?.dense ? pct(o.dense.percentOfLimit / 100) : '-', o?.quest ? pct(o.quest.percentOfLimit / 100) : '-', pct(p.percentOfLimit / 100), pct(p.percentOfLimitWall / 100)]));
    }
  }
  out.push(renderTargets(paired));
  return out.join('\n');
}

interface Target {
  readonly target: string;
  readonly subject: string;
  /** The measured value and the target, both as ratios (percent targets as fractions). */
  readonly measured?: number;
  readonly goal: number;
  readonly shown: (x: number) => string;
  readonly note?: string;
}

/** Issue 9's targets, each for every model measured against llama.cpp, met or missed by how much. */
function renderTargets(paired: readonly Paired[]): string {
  const targets: Target[] = [];
  const asPct = (x: number) => pct(x);
  const asTimes = (x: number) => `${x.toFixed(2)}×`;
  for (const { run, peer } of paired) {
    const subject = `${peer.model} ${peer.weightType}`;
    const at = (c: number) => ours(run, peer.model, peer.weightType, c);
    const peerAt = (c: number): PeerDecodeRun | undefined => peer.runs.find((r) => r.context === c);
    const d32 = at(32768)?.dense;
    targets.push({ target: 'dense decode ≥ 70 % of the limit at 32K', subject, measured: d32 ? d32.percentOfLimit / 100 : undefined, goal: 0.7, shown: asPct });
    const m128 = at(131072);
    const best = m128?.m.runs.filter((r) => r.mode === 'quest').sort((x, y) => y.tokensPerSecond - x.tokensPerSecond)[0];
    targets.push({
      target: 'Quest end-to-end ≥ 2.5× dense at 128K',
      subject,
      measured: best && m128?.dense ? best.tokensPerSecond / m128.dense.tokensPerSecond : undefined,
      goal: 2.5,
      shown: asTimes,
      ...(best ? { note: `best budget ${best.budget}` } : {}),
    });
    for (const c of [32768, 65536, 131072]) {
      const p = peerAt(c);
      const q = at(c)?.quest;
      targets.push({
        target: `decode faster than llama.cpp at ${c / 1024}K`,
        subject,
        measured: q && p ? q.tokensPerSecond / p.decodeTokensPerSecond : undefined,
        goal: 1,
        shown: asTimes,
        note: `Quest ${defaultBudget} over llama.cpp's own timers; dense ${times(at(c)?.dense?.tokensPerSecond, p?.decodeTokensPerSecond)}`,
      });
    }
    const p8 = peerAt(8192);
    const ours8 = at(8192)?.prefillTokensPerSecond;
    targets.push({ target: 'prefill ≥ 50 % of llama.cpp\'s tok/s at 8K', subject, measured: ours8 && p8 ? ours8 / p8.prefillTokensPerSecond : undefined, goal: 0.5, shown: asPct });
  }
  const lines = ['\n### Targets (issue 9), from the runs above\n', table(['target', 'model', 'measured', 'met?', 'missing', 'note'])];
  for (const t of targets) {
    const met = t.measured === undefined ? 'not measured' : t.measured >= t.goal ? 'yes' : 'no';
    const missing = t.measured === undefined || t.measured >= t.goal ? '-' : `needs ${(t.goal / t.measured).toFixed(2)}× its speed`;
    lines.push(row([t.target, t.subject, t.measured === undefined ? '-' : t.shown(t.measured), met, missing, t.note ?? '']));
  }
  return lines.join('\n');
}
