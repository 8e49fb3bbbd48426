// The summary rows of a run: per context length, configuration and task (and all tasks together), the share of
// questions answered exactly, with the right first token, and cited to the right file and line. Citation columns are
// null when the run had no attention citations at all: a missing measurement, never a zero.
import type { EvalRecord, SummaryRow } from './results';
import { evalTasks } from './questions';

export function summarize(records: readonly EvalRecord[], configs: readonly string[], citationsAvailable: boolean): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const lengths = [...new Set(records.map((r) => r.length))].sort((a, b) => a - b);
  for (const length of lengths) {
    for (const config of configs) {
      for (const task of ['all', ...evalTasks] as const) {
        const answers = records.filter((r) => r.length === length && (task === 'all' || r.task === task)).map((r) => r.answers[config]).filter((a) => a !== undefined);
        if (answers.length === 0) continue;
        const share = (f: (a: (typeof answers)[number]) => boolean) => answers.filter(f).length / answers.length;
        rows.push({
          length,
          config,
          task,
          questions: answers.length,
          exact: share((a) => a.exact),
          firstToken: share((a) => a.firstToken),
          citationFile: citationsAvailable ? share((a) => a.citationFile) : null,
          citationLine: citationsAvailable ? share((a) => a.citationLine) : null,
        });
      }
    }
  }
  return rows;
}
