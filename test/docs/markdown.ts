/** Test helper: reads the repository's Markdown pages and finds their fenced code blocks, links and heading anchors. */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** README.md and every docs/*.md, as paths relative to the repository root; new pages are picked up as they are added. */
export function docPages(): string[] {
  const docs = existsSync(path.join(ROOT, 'docs'))
    ? readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...docs];
}

export interface FencedBlock {
  /** The info string's words after the opening fence: ["yaml"], ["yaml", "fragment"], ["sh"]. */
  readonly info: string[];
  readonly text: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** CommonMark fences: three or more backticks or tildes, closed by the same character at least as many times. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const out: FencedBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(lines[j]!);
    }
    out.push({ info: open[2]!.trim().split(/\s+/).filter(Boolean), text: body.join('\n') + '\n', line: i + 1 });
    i = j;
  }
  return out;
}

/** The Markdown with fenced blocks and inline code spans blanked, so links and headings are read from prose only. */
export function prose(markdown: string): string {
  const lines = markdown.split('\n');
  for (const b of fencedBlocks(markdown)) {
    for (let k = b.line - 1; k < b.line + b.text.split('\n').length && k < lines.length; k++) lines[k] = '';
  }
  return lines.join('\n').replace(/(`+)[^`][\s\S]*?\1/g, (m) => m.replace(/[^\n]/g, ''));   // keep line numbers
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats numbered -1, -2, ... */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const lines = markdown.split('\n');
  const fenced = new Set<number>();
  for (const b of fencedBlocks(markdown)) for (let k = 0; k <= b.text.split('\n').length; k++) fenced.add(b.line - 1 + k);
  lines.forEach((l, i) => {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!h || fenced.has(i)) return;
    const text = h[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  });
  return out;
}

/** Inline links `[text](target)` in prose, with their 1-based line. */
export function links(markdown: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  prose(markdown).split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ target: m[1]!, line: i + 1 });
  });
  return out;
}

export function read(rel: string): string {
  return readFileSync(path.join(ROOT, rel), 'utf8');
}
