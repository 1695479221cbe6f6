/**
 * RFC 4180 CSV: quoted fields with "" escapes, commas and line breaks inside quotes, CRLF, LF or a
 * lone CR between rows. Strict where RFC 4180 is: a quote inside an unquoted field (a"b) or text
 * after a closing quote ("a"x) is a 422 naming the line, not silently read some way. Parsing runs
 * in slices (slices.ts) and stops at MAX_RECORDS rows.
 */
import { AppError } from '../errors';
import { tooManyRecords } from './bodyReader';
import type { Slicer } from './slices';

export interface CsvRow {
  readonly line: number;
  readonly fields: string[];
}

/** Parses CSV text into rows; each row remembers the input line it started on. */
export async function parseCsv(text: string, maxRows: number, slicer: Slicer): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let line = 1;
  let rowLine = 1;
  let i = 0;
  const n = text.length;
  const endRow = (): void => {
    rows.push({ line: rowLine, fields });
    fields = [];
    rowLine = line;
  };
  while (i < n) {
    if ((rows.length & 255) === 0) await slicer.tick();
    if (rows.length > maxRows) throw tooManyRecords(maxRows);
    let field: string;
    if (text.charCodeAt(i) === 0x22) {
      // Quoted: runs up to the closing quote; "" is one quote.
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) throw new AppError('Validation', `CSV line ${rowLine}: a quoted field is not closed`);
        const part = text.slice(from, q);
        for (let k = part.indexOf('\n'); k >= 0; k = part.indexOf('\n', k + 1)) line++;
        value += part;
        if (text.charCodeAt(q + 1) === 0x22) {
          value += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      const c = text.charCodeAt(i);
      if (i < n && c !== 0x2c && c !== 0x0a && c !== 0x0d) {
        throw new AppError('Validation', `CSV line ${line}: text after a closing quote; quote the whole field and write a quote inside it as ""`);
      }
      field = value;
    } else {
      let end = i;
      while (end < n) {
        const c = text.charCodeAt(end);
        if (c === 0x2c || c === 0x0a || c === 0x0d) break;
        if (c === 0x22) throw new AppError('Validation', `CSV line ${line}: a quote inside an unquoted field; quote the whole field and write a quote inside it as ""`);
        end++;
      }
      field = text.slice(i, end);
      i = end;
    }
    fields.push(field);
    if (i >= n) break;
    const c = text.charCodeAt(i);
    i++;
    if (c === 0x2c) {
      if (i >= n) fields.push('');
      continue;
    }
    if (c === 0x0d && text.charCodeAt(i) === 0x0a) i++;
    line++;
    endRow();
  }
  if (fields.length > 0) endRow();
  if (rows.length > maxRows) throw tooManyRecords(maxRows);
  return rows;
}

export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(values: ReadonlyArray<string | number>): string {
  return values.map(csvField).join(',');
}
