import { ProtocolError } from './errors.js';
import { CR, LF } from './resp.js';

const SPACE = 0x20;
const TAB = 0x09;
const VTAB = 0x0b;
const FORMFEED = 0x0c;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === LF || c === VTAB || c === FORMFEED;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const ESCAPES: Record<number, number> = { 0x6e: LF, 0x72: CR, 0x74: TAB, 0x62: 0x08, 0x61: 0x07 };

/**
 * Splits one inline command line (what a person types into nc or telnet, without its line ending)
 * into arguments, with the quoting rules of Redis's sdssplitargs: "double quotes" understand
 * \n \r \t \b \a \\ \" and \xHH; 'single quotes' understand \'. Arguments come back as latin1
 * strings, one char per byte, so they are binary-safe like RESP bulk strings.
 * Throws ProtocolError on unbalanced quotes or a closing quote not followed by a space.
 */
export function splitInlineArgs(line: Buffer, start = 0, end = line.length): string[] {
  const args: string[] = [];
  let i = start;
  const bytes: number[] = [];
  while (true) {
    while (i < end && isSpace(line[i]!)) i++;
    if (i >= end) return args;
    bytes.length = 0;
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      if (inDouble) {
        if (i >= end) throw new ProtocolError('unbalanced quotes in request');
        const c = line[i]!;
        if (c === BACKSLASH && i + 3 < end && line[i + 1] === 0x78 && hexValue(line[i + 2]!) >= 0 && hexValue(line[i + 3]!) >= 0) {
          bytes.push(hexValue(line[i + 2]!) * 16 + hexValue(line[i + 3]!));
          i += 3;
        } else if (c === BACKSLASH && i + 1 < end) {
          i++;
          const escaped = line[i]!;
          bytes.push(ESCAPES[escaped] ?? escaped);
        } else if (c === DQUOTE) {
          // A closing quote must be followed by a space or the end, as in Redis.
          if (i + 1 < end && !isSpace(line[i + 1]!)) throw new ProtocolError('unbalanced quotes in request');
          done = true;
        } else {
          bytes.push(c);
        }
      } else if (inSingle) {
        if (i >= end) throw new ProtocolError('unbalanced quotes in request');
        const c = line[i]!;
        if (c === BACKSLASH && i + 1 < end && line[i + 1] === SQUOTE) {
          i++;
          bytes.push(SQUOTE);
        } else if (c === SQUOTE) {
          if (i + 1 < end && !isSpace(line[i + 1]!)) throw new ProtocolError('unbalanced quotes in request');
          done = true;
        } else {
          bytes.push(c);
        }
      } else {
        if (i >= end) {
          done = true;
          break;
        }
        const c = line[i]!;
        if (isSpace(c)) {
          done = true;
          break;
        } else if (c === DQUOTE) {
          inDouble = true;
        } else if (c === SQUOTE) {
          inSingle = true;
        } else {
          bytes.push(c);
        }
      }
      i++;
    }
    args.push(Buffer.from(bytes).toString('latin1'));
  }
}
