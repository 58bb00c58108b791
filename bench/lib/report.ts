// Sections hand back plain tables and notes; run.ts prints them and writes bench/RESULTS.md.

export interface Table {
  caption?: string
  columns: string[]
  rows: string[][]
  /** Columns right-aligned (numbers). */
  numeric?: number[]
}

export interface Section {
  title: string
  intro?: string
  tables: Table[]
  notes: string[]
  /** One-line verdicts on the targets. */
  targets?: string[]
  /** Extra machine-readable figures for later sections (e.g. a baseline). */
  figures?: Record<string, number>
}

export function markdownTable(table: Table): string {
  const numeric = new Set(table.numeric ?? [])
  const head = `| ${table.columns.join(' | ')} |`
  const rule = `|${table.columns.map((_, i) => (numeric.has(i) ? '---:' : '---')).join('|')}|`
  const body = table.rows.map((row) => `| ${row.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`)
  return [...(table.caption ? [`**${table.caption}**`, ''] : []), head, rule, ...body].join('\n')
}

/** Fixed-width rendering for the terminal. */
export function textTable(table: Table): string {
  const numeric = new Set(table.numeric ?? [])
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)))
  const fmt = (row: string[]) =>
    row.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')
  return [
    ...(table.caption ? [table.caption] : []),
    fmt(table.columns),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.rows.map(fmt),
  ].join('\n')
}

export function sectionMarkdown(section: Section): string {
  const parts = [`## ${section.title}`]
  if (section.intro) parts.push(section.intro)
  for (const table of section.tables) parts.push(markdownTable(table))
  if (section.targets?.length) parts.push(section.targets.map((t) => `- ${t}`).join('\n'))
  if (section.notes.length) parts.push(section.notes.map((n) => `- ${n}`).join('\n'))
  return parts.join('\n\n')
}

export function sectionText(section: Section): string {
  const parts = [`== ${section.title} ==`]
  for (const table of section.tables) parts.push(textTable(table))
  if (section.targets?.length) parts.push(section.targets.map((t) => `* ${t}`).join('\n'))
  return parts.join('\n\n')
}
