// Where the conversation survives a window reload: the turns (question + answer tokens + status) in workspaceState,
// each turn's heatmap (selection trace + manifest, which can be megabytes) as a JSON file in the workspace's storage
// folder. The newest MAX_TURNS turns and MAX_HEATMAPS heatmaps are kept.
import * as vscode from 'vscode';
import type { HeatmapData, TurnSnapshot } from '../../webview/protocol';

const TURNS_KEY = 'questLens.turns';
export const MAX_TURNS = 50;
export const MAX_HEATMAPS = 20;

export class TurnStore {
  private readonly dir: vscode.Uri | undefined;

  constructor(
    private readonly memento: vscode.Memento,
    storageUri: vscode.Uri | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.dir = storageUri && vscode.Uri.joinPath(storageUri, 'heatmaps');
  }

  /** The saved turns; one still streaming when the window went away ended then (its engine went with it). */
  loadTurns(): TurnSnapshot[] {
    const saved = this.memento.get<unknown>(TURNS_KEY);
    if (!Array.isArray(saved)) return [];
    return saved.filter(isTurn).map((t) => (t.status === 'streaming' ? { ...t, status: 'cancelled' as const } : t));
  }

  async saveTurns(turns: readonly TurnSnapshot[]): Promise<void> {
    await this.memento.update(TURNS_KEY, turns.slice(-MAX_TURNS));
  }

  /** Writes one turn's heatmap and removes the files of turns older than the newest MAX_HEATMAPS. */
  async saveHeatmap(data: HeatmapData, keepTurnIds: readonly string[]): Promise<void> {
    if (!this.dir) return;
    try {
      await vscode.workspace.fs.createDirectory(this.dir);
      await vscode.workspace.fs.writeFile(this.file(data.turnId), Buffer.from(JSON.stringify(data)));
      const keep = new Set(keepTurnIds.slice(-MAX_HEATMAPS).map((id) => `${id}.json`));
      for (const [name] of await vscode.workspace.fs.readDirectory(this.dir)) {
        if (name.endsWith('.json') && !keep.has(name)) await vscode.workspace.fs.delete(vscode.Uri.joinPath(this.dir, name));
      }
    } catch (err) {
      this.log.warn(`could not save the heatmap of turn ${data.turnId}: ${(err as Error).message}`);
    }
  }

  async loadHeatmap(turnId: string): Promise<HeatmapData | undefined> {
    if (!this.dir || !/^[\w-]+$/.test(turnId)) return undefined;
    try {
      const data = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(this.file(turnId))).toString('utf8')) as HeatmapData;
      return data.turnId === turnId && data.trace && Array.isArray(data.trace.steps) ? data : undefined;
    } catch {
      return undefined; // never saved (an answer that failed before its first token) or pruned
    }
  }

  async clear(): Promise<void> {
    await this.memento.update(TURNS_KEY, undefined);
    if (this.dir) await vscode.workspace.fs.delete(this.dir, { recursive: true }).then(undefined, () => {});
  }

  private file(turnId: string): vscode.Uri {
    return vscode.Uri.joinPath(this.dir!, `${turnId}.json`);
  }
}

function isTurn(t: unknown): t is TurnSnapshot {
  const o = t as Partial<TurnSnapshot> | null;
  return !!o && typeof o.turnId === 'string' && typeof o.question === 'string' && Array.isArray(o.tokens) && typeof o.status === 'string';
}
