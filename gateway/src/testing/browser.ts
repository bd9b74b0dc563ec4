/**
 * The explorer in Debian's Chromium (playwright-core, never a downloaded browser): launching it, and reading and
 * writing GraphiQL 5's Monaco editors the way a person does — click, select all, type — since the page exposes no
 * editor object to scripts. Screenshots go to `.data/artifacts/explorer/` (git-ignored), kept after the run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../../common/paths';

const CHROMIUM = '/usr/bin/chromium';
export const EXPLORER_ARTIFACTS = join(PROJECT_ROOT, '.data', 'artifacts', 'explorer');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Replaces the text of the Monaco editor inside `container` (a GraphiQL editor's CSS selector). */
export async function setEditorText(page: Page, container: string, text: string): Promise<void> {
  await page.click(`${container} .monaco-editor .view-lines`);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText types the whole text at once: Monaco's auto-closing of brackets and quotes applies to typed
  // characters one by one, so the text arrives as written.
  await page.keyboard.insertText(text);
}

/** The text of the Monaco editor inside `container`, as rendered (spaces normalised). */
export async function editorText(page: Page, container: string): Promise<string> {
  const text = await page.innerText(`${container} .monaco-editor .view-lines`);
  return text.replace(/\u00a0/g, ' ');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(EXPLORER_ARTIFACTS, { recursive: true });
  const path = join(EXPLORER_ARTIFACTS, name);
  await page.screenshot({ path });
  return path;
}

/**
 * Every page error, console error and request URL of a page, to assert nothing failed and nothing left the origin;
 * and every 4xx/5xx answer (status and path), to assert which refusals happened.
 */
export function watchPage(page: Page): { requests: string[]; problems: string[]; refusals: string[] } {
  const watched = { requests: [] as string[], problems: [] as string[], refusals: [] as string[] };
  page.on('request', (request) => watched.requests.push(request.url()));
  page.on('pageerror', (error) => watched.problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chromium logs every 4xx a fetch() gets; the page shows those refusals itself, and tests assert them.
    if (message.text().startsWith('Failed to load resource')) return;
    watched.problems.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) watched.refusals.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  return watched;
}
