import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/**
 * The import graph between the parts of a source tree (its top folders: src/ps, src/queue, ...),
 * checked against the allowed directions written once, as a table, in docs/architecture.md.
 * Plain text analysis, like the before-stop hook's: every relative `import ... from`, `export ...
 * from`, side-effect `import '...'` and dynamic `import('...')`, type-only imports included.
 */

export interface Layering {
  /** part -> the parts it may import. */
  readonly allowed: ReadonlyMap<string, ReadonlySet<string>>;
  /** part -> packages it must not import (a name, or a scope such as `@aws-sdk`). */
  readonly banned: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  /** One file that makes the edge (relative to the tree's root), and what it imports. */
  readonly file: string;
  readonly spec: string;
}

const PACKAGE_IMPORT = /(?:import|export)[^'"]*?from\s*['"]([^.'"][^'"]*)['"]|import\s*\(\s*['"]([^.'"][^'"]*)['"]\s*\)/g;

const IMPORT = /(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\s*\(\s*['"](\.[^'"]+)['"]\s*\)|import\s+['"](\.[^'"]+)['"]/g;

/** The part a file belongs to: its first folder under `src`, or '.' for a file at the top. */
function partOf(srcRelative: string): string {
  const parts = srcRelative.split(sep);
  return parts.length > 1 ? parts[0]! : '.';
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every import that crosses from one part to another, one edge per (from, to, file, spec). */
export function crossPartImports(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of tsFiles(srcDir).sort()) {
    const rel = relative(srcDir, file);
    const from = partOf(rel);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      const target = relative(srcDir, normalize(join(dirname(file), spec)));
      if (target.startsWith('..')) continue; // outside the tree
      const to = partOf(target);
      if (to !== from) edges.push({ from, to, file: rel, spec });
    }
  }
  return edges;
}

/**
 * The layering table of docs/architecture.md: the rows between `<!-- layering:begin -->` and
 * `<!-- layering:end -->`, each `| \`part\` | \`a\`, \`b\` | \`pkg\` |`: the parts it may import
 * (`-` for none), then the packages it must not import (optional column).
 */
export function parseLayering(markdown: string): Layering {
  const m = /<!-- layering:begin -->([\s\S]*?)<!-- layering:end -->/.exec(markdown);
  if (!m) throw new Error('docs/architecture.md has no <!-- layering:begin --> ... <!-- layering:end --> table');
  const allowed = new Map<string, Set<string>>();
  const banned = new Map<string, Set<string>>();
  const names = (cell: string | undefined) => new Set([...(cell ?? '').matchAll(/`([^`]+)`/g)].map((x) => x[1]!));
  for (const line of m[1]!.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const part = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!part) continue;
    allowed.set(part, names(cells[2]));
    banned.set(part, names(cells[3]));
  }
  return { allowed, banned };
}

/** A cycle in a directed graph given as adjacency, or null. */
export function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const next of [...(graph.get(n) ?? [])].sort()) {
      const c = visit(next);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

/**
 * Everything wrong with a tree's imports against a layering, as sentences (empty: all good):
 * a part the table does not know, an import against the allowed directions, and any cycle
 * between parts (so the table itself cannot allow one either).
 */
export function layeringProblems(srcDir: string, layering: Layering): string[] {
  const problems: string[] = [];
  const { allowed, banned } = layering;
  const tableCycle = findCycle(allowed);
  if (tableCycle) problems.push(`the layering table allows a cycle: ${tableCycle.join(' -> ')}`);
  const edges = crossPartImports(srcDir);
  const graph = new Map<string, Set<string>>();
  const reported = new Set<string>();
  for (const e of edges) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)!.add(e.to);
    for (const part of [e.from, e.to]) {
      if (!allowed.has(part) && !reported.has(part)) {
        reported.add(part);
        problems.push(`src/${part} is not a part of the layering table in docs/architecture.md`);
      }
    }
    if (allowed.has(e.from) && !allowed.get(e.from)!.has(e.to)) {
      problems.push(`${e.from} may not import ${e.to}: src/${e.file} imports '${e.spec}'`);
    }
  }
  const cycle = findCycle(graph);
  if (cycle) problems.push(`parts import each other around a loop: ${cycle.join(' -> ')}`);
  for (const file of tsFiles(srcDir).sort()) {
    const rel = relative(srcDir, file);
    const ban = banned.get(partOf(rel));
    if (!ban || ban.size === 0) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(PACKAGE_IMPORT)) {
      const pkg = (m[1] ?? m[2])!;
      const hit = [...ban].find((b) => pkg === b || pkg.startsWith(`${b}/`));
      if (hit) problems.push(`${partOf(rel)} must not import ${hit}: src/${rel} imports '${pkg}'`);
    }
  }
  return problems;
}
