import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

/**
 * Labelled text from CSV files (RFC 4180: quoted fields may hold newlines, so a real parser reads them).
 * Formats: `tweeteval` (columns label,text), `youtube-spam` (CONTENT,CLASS), `csv` (text,label with a
 * header; label a class index or a class name).
 */
export const dataFormats = ['tweeteval', 'youtube-spam', 'csv'] as const;
export type DataFormat = (typeof dataFormats)[number];

export interface LabelledText {
  text: string;
  label: number;
}

export function parseLabelled(content: string, format: DataFormat, labels: readonly string[]): LabelledText[] {
  const rows = parse(content, { columns: true, skip_empty_lines: true, relax_column_count: true, bom: true }) as Record<string, string>[];
  const [textCol, labelCol] = format === 'youtube-spam' ? ['CONTENT', 'CLASS'] : ['text', 'label'];
  const out: LabelledText[] = [];
  rows.forEach((row, i) => {
    const text = row[textCol];
    const raw = (row[labelCol] ?? '').trim();
    if (text === undefined || raw === '') throw new Error(`row ${i + 2}: missing ${textCol} or ${labelCol} column (format ${format})`);
    let label = /^\d+$/.test(raw) ? Number(raw) : labels.indexOf(raw);
    if (label < 0 || label >= labels.length) throw new Error(`row ${i + 2}: label "${raw}" is not one of ${labels.map((l, k) => `${k}/${l}`).join(', ')}`);
    label = Math.trunc(label);
    out.push({ text, label });
  });
  return out;
}

/** The format a file's header names: YouTube-spam columns, else text,label. */
export function detectFormat(content: string): DataFormat {
  const header = content.slice(0, content.indexOf('\n') >>> 0).replace(/^\uFEFF/, '');
  return /\bCONTENT\b/.test(header) && /\bCLASS\b/.test(header) ? 'youtube-spam' : 'csv';
}

export async function readLabelled(file: string, format: DataFormat, labels: readonly string[]): Promise<LabelledText[]> {
  return parseLabelled(await readFile(file, 'utf8'), format, labels);
}
