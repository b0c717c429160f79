/** Test helper: reads the repository's Dockerfile into stages of instructions, so tests can replay what a stage does without Docker. */

import fs from 'node:fs';

export interface Instruction { op: string; args: string; line: number }
export interface Stage { from: string; name: string | null; instructions: Instruction[] }

/** Splits a Dockerfile into stages (FROM ... [AS name]); joins `\` continuations and drops comments. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      const next = lines[++i]!.trim();
      line = line.slice(0, -1).trimEnd() + (next.startsWith('#') ? '' : ' ' + next);
    }
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile:${start}: cannot read "${line}"`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile:${start}: cannot read FROM "${args}"`);
      stages.push({ from: f[1]!, name: f[2] ?? null, instructions: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile:${start}: ${op} before the first FROM`);
      stages[stages.length - 1]!.instructions.push({ op, args, line: start });
    }
  }
  return stages;
}

export function readDockerfile(file = 'Dockerfile'): Stage[] {
  return parseDockerfile(fs.readFileSync(file, 'utf8'));
}

/** The exec form of CMD/HEALTHCHECK CMD (a JSON array), or an error naming the line: the shell form would not get signals as PID 1. */
export function execForm(ins: Instruction, prefix = ''): string[] {
  const json = ins.args.slice(ins.args.indexOf('[', prefix ? ins.args.indexOf(prefix) : 0));
  const argv = JSON.parse(json) as unknown;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`Dockerfile:${ins.line}: ${ins.op} is not the exec form`);
  return argv as string[];
}

/** `COPY [--from=x] src... dest`: the sources, the destination and the stage copied from (null: the build context). */
export function copyArgs(ins: Instruction): { from: string | null; sources: string[]; dest: string } {
  const words = ins.args.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop()!;
  return { from, sources: words, dest };
}
