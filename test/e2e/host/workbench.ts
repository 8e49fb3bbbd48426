// Drives the VS Code workbench in Chromium the way a person does: the command palette, notifications, panels,
// webviews. Selectors and waits: ../shared/docs/vscode-host.md §3.
import { join } from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';

const paletteInput = '.quick-input-widget input';
const paletteRow = '.quick-input-list .monaco-list-row';
/** VS Code renders spaces in editors as non-breaking spaces. */
const plain = (s: string) => s.replace(/\u00a0/g, ' ');

export class Workbench {
  constructor(
    readonly page: Page,
    /** Screenshots land here as `<prefix>-<name>.png`. */
    private readonly artifacts: string,
    private readonly prefix: string,
  ) {}

  /** Opens the workbench and waits until the remote extension host has registered every contribution. */
  async open(url: string, timeoutMs = 120_000): Promise<void> {
    await this.page.goto(url, { timeout: timeoutMs });
    await this.page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
    await this.page.locator('.part.statusbar').waitFor({ timeout: timeoutMs });
    await this.waitForExtensions(timeoutMs);
  }

  /**
   * Waits for the `code/didLoadExtensions` mark. The explorer is ready seconds earlier, and a palette opened before
   * it never lists the extension's commands.
   */
  async waitForExtensions(timeoutMs = 120_000): Promise<void> {
    await this.page.waitForFunction(() => performance.getEntriesByName('code/didLoadExtensions').length > 0, undefined, {
      timeout: timeoutMs,
      polling: 250,
    });
  }

  /** Reloads the window (Developer: Reload Window does the same) and waits for the extensions again. */
  async reload(timeoutMs = 120_000): Promise<void> {
    await this.page.reload({ timeout: timeoutMs });
    await this.page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
    await this.waitForExtensions(timeoutMs);
  }

  /** A row of the explorer, e.g. a fixture file or folder name. */
  explorerRow(name: string): Locator {
    return this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
  }

  /** The titles the command palette lists for `query` (e.g. `Quest Lens:`), in order. Closes the palette. */
  async paletteCommands(query: string): Promise<string[]> {
    await this.openPalette(query);
    await this.page.locator(paletteRow).first().waitFor({ timeout: 10_000 });
    const labels = await this.page.locator(`${paletteRow} .label-name`).allTextContents();
    await this.page.keyboard.press('Escape');
    return labels.map((l) => plain(l).trim());
  }

  /** Runs a command through the palette by its full title (`Category: Title`), retrying while it is not listed yet. */
  async runCommand(title: string, attempts = 4): Promise<void> {
    let seen: string[] = [];
    for (let i = 0; i < attempts; i++) {
      await this.openPalette(title);
      const row = this.page.locator(paletteRow).filter({ has: this.page.locator('.label-name', { hasText: exact(title) }) });
      try {
        await row.first().waitFor({ timeout: 5_000 });
      } catch {
        seen = await this.page.locator(`${paletteRow} .label-name`).allTextContents();
        await this.page.keyboard.press('Escape');
        continue;
      }
      await row.first().click();
      // Done once the palette closed, or once the command's own quick pick replaced it (its input holds no '>' query):
      // waiting for the widget to hide would time out on commands that open a quick pick, and a retry would then type
      // into that pick.
      await this.page.waitForFunction(
        `(() => { const i = document.querySelector(${JSON.stringify(paletteInput)}); return !i || i.offsetParent === null || !i.value.startsWith('>'); })()`,
        undefined,
        { timeout: 5_000 },
      );
      return;
    }
    throw new Error(`the command palette never listed "${title}" (${attempts} tries); last rows: [${seen.map(plain).join(' | ')}]`);
  }

  /** Opens a file by Quick Open (`src/retry.ts:12` jumps to line 12), as Ctrl+P does. */
  async quickOpen(query: string): Promise<void> {
    const input = this.page.locator(paletteInput);
    await this.page.keyboard.press('F1');
    await input.waitFor({ timeout: 5_000 });
    await input.fill(query); // without the leading '>' the palette searches files
    await this.page.locator(paletteRow).first().waitFor({ timeout: 10_000 });
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 });
  }

  /**
   * The active editor's absolute path (the test profile sets `window.title` to it) and cursor position (status bar).
   * Waits until an editor is active.
   */
  async activeEditor(timeoutMs = 10_000): Promise<{ path: string; line: number; column: number }> {
    const selection = this.page.locator('[id="status.editor.selection"]');
    await selection.waitFor({ timeout: timeoutMs });
    const text = plain((await selection.textContent()) ?? '');
    const m = /Ln (\d+), Col (\d+)/.exec(text);
    if (!m) throw new Error(`the status bar's cursor position reads "${text}", expected "Ln <line>, Col <column>"`);
    const path = await this.page.title();
    if (!path.startsWith('/')) throw new Error(`the window title "${path}" is not a path: is window.title still \${activeEditorLong}?`);
    return { path, line: Number(m[1]), column: Number(m[2]) };
  }

  /**
   * Waits for a notification toast whose message matches; returns its text. With `failOnError`, an error toast that
   * does not match ends the wait at once with its message (a failed load instead of minutes of waiting).
   */
  async waitForNotification(text: string | RegExp, timeoutMs = 30_000, { failOnError = false } = {}): Promise<string> {
    const toast = this.page.locator('.notifications-toasts .notification-list-item-message', { hasText: text }).first();
    const error = this.page.locator('.notifications-toasts .notification-list-item', { has: this.page.locator('.codicon-error') });
    try {
      await (failOnError ? toast.or(error.locator('.notification-list-item-message')) : toast).first().waitFor({ timeout: timeoutMs });
    } catch {
      throw new Error(`no notification matching ${String(text)} within ${timeoutMs} ms; showing: [${(await this.notifications()).join(' | ')}]`);
    }
    if (!(await toast.count())) throw new Error(`an error notification instead of ${String(text)}: [${(await this.notifications()).join(' | ')}]`);
    return plain((await toast.textContent()) ?? '');
  }

  /** The messages of the notification toasts on screen. */
  async notifications(): Promise<string[]> {
    return (await this.page.locator('.notifications-toasts .notification-list-item-message').allTextContents()).map(plain);
  }

  /** Closes every notification toast (Notifications: Clear All Notifications). */
  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications');
    await this.page.locator('.notifications-toasts .notification-list-item').first().waitFor({ state: 'hidden', timeout: 5_000 });
  }

  /** The bottom panel (Output, Problems, …) and the text of the editor it shows. */
  panel(): Locator {
    return this.page.locator('.part.panel');
  }

  async panelText(): Promise<string> {
    return plain((await this.panel().locator('.monaco-editor .view-lines').first().innerText()) ?? '');
  }

  /** The channel the Output view shows (its picker in the panel title). */
  async outputChannel(): Promise<string> {
    return plain((await this.panel().locator('select.monaco-select-box option:checked').first().textContent()) ?? '').trim();
  }

  /** The document inside the visible webview (a hidden one without retainContextWhenHidden has no iframe at all). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  }

  /** Saves a screenshot of the whole window; returns its path. */
  async screenshot(name: string): Promise<string> {
    const path = join(this.artifacts, `${this.prefix}-${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  private async openPalette(text: string): Promise<void> {
    const input = this.page.locator(paletteInput);
    if (!(await input.isVisible())) {
      await this.page.keyboard.press('F1');
      await input.waitFor({ timeout: 5_000 });
    }
    await input.fill(`>${text}`);
  }
}

/** A RegExp matching exactly this text (Playwright's hasText string matches substrings). */
function exact(text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s');
  return new RegExp(`^\\s*${escaped}\\s*$`);
}
