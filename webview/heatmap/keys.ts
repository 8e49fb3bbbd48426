// Keyboard navigation of the heatmap as a pure function: key → what to do. The view applies it; tests call it
// directly. Arrows move one cell (Shift: ten), PageUp/PageDown a screen of steps, Home/End the row's ends
// (Ctrl: the first/last step), ',' and '.' the previous/next selected page of the row, Enter/Space open the file,
// '+'/'-' zoom, '0' fits.

export interface Cell {
  readonly step: number;
  readonly page: number;
}

export type KeyAction =
  | { readonly kind: 'move'; readonly to: Cell }
  | { readonly kind: 'open' }
  | { readonly kind: 'zoom'; readonly factor: number }
  | { readonly kind: 'fit' };

export interface KeyPress {
  readonly key: string;
  readonly shift: boolean;
  readonly ctrl: boolean;
}

export interface Grid {
  readonly steps: number;
  readonly pages: number;
  /** Steps one screen shows (PageUp/PageDown). */
  readonly visibleSteps: number;
  /** Pages the row of `step` selected, ascending. */
  readonly selected: (step: number) => readonly number[];
}

/** The action for a key, or undefined for keys the heatmap leaves alone (Tab, letters, …). */
export function keyAction(press: KeyPress, from: Cell, grid: Grid): KeyAction | undefined {
  const big = press.shift ? 10 : 1;
  const move = (step: number, page: number): KeyAction => ({
    kind: 'move',
    to: {
      step: Math.max(0, Math.min(grid.steps - 1, step)),
      page: Math.max(0, Math.min(grid.pages - 1, page)),
    },
  });
  switch (press.key) {
    case 'ArrowLeft':
      return move(from.step, from.page - big);
    case 'ArrowRight':
      return move(from.step, from.page + big);
    case 'ArrowUp':
      return move(from.step - big, from.page);
    case 'ArrowDown':
      return move(from.step + big, from.page);
    case 'PageUp':
      return move(from.step - Math.max(1, Math.floor(grid.visibleSteps)), from.page);
    case 'PageDown':
      return move(from.step + Math.max(1, Math.floor(grid.visibleSteps)), from.page);
    case 'Home':
      return press.ctrl ? move(0, from.page) : move(from.step, 0);
    case 'End':
      return press.ctrl ? move(grid.steps - 1, from.page) : move(from.step, grid.pages - 1);
    case '.':
    case ',': {
      const pages = grid.selected(from.step);
      const p = press.key === '.' ? pages.find((x) => x > from.page) : [...pages].reverse().find((x) => x < from.page);
      return p === undefined ? undefined : move(from.step, p);
    }
    case 'Enter':
    case ' ':
      return { kind: 'open' };
    case '+':
    case '=':
      return { kind: 'zoom', factor: 2 };
    case '-':
      return { kind: 'zoom', factor: 0.5 };
    case '0':
      return { kind: 'fit' };
    default:
      return undefined;
  }
}
