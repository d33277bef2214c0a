import { RespWriter } from '../../protocol/encoder.js';
import { BLOCK_TARGET_PAYLOAD_BYTES, LOG_BLOCK_HEADER_BYTES, sealBlockHeader } from './log-format.js';

// The log writer's memory side: commands appended since the last write, framed as version 2
// blocks in place (13 header bytes reserved when a block opens, filled in when it closes), so a
// write hands the kernel one contiguous buffer and nothing is copied to frame it.
// Hot path: append() runs once per logged command.

const INITIAL_BYTES = 64 * 1024;
/** A buffer grown past this (one huge value) is replaced after its write rather than kept. */
const KEEP_BYTES = 4 * 1024 * 1024;

export class LogBuffer {
  private w = new RespWriter(INITIAL_BYTES);
  /** Where the open block's header starts; -1 when no block is open. */
  private blockStart = -1;

  /** Bytes buffered (closed blocks, the open one, its reserved header included). */
  get length(): number {
    return this.w.length;
  }

  /** Appends one command (latin1 arguments); returns how many bytes that added to the log. */
  append(args: readonly string[], argc: number): number {
    const w = this.w;
    const before = w.length;
    if (this.blockStart < 0) {
      w.ensure(LOG_BLOCK_HEADER_BYTES);
      this.blockStart = w.length;
      w.length += LOG_BLOCK_HEADER_BYTES;
    }
    w.arrayHeader(argc);
    for (let i = 0; i < argc; i++) w.bulkLatin1(args[i]!);
    if (w.length - this.blockStart - LOG_BLOCK_HEADER_BYTES >= BLOCK_TARGET_PAYLOAD_BYTES) this.closeBlock();
    return w.length - before;
  }

  /**
   * Closes the open block and returns every buffered byte (whole blocks). The view shares memory
   * with this buffer: valid until the next append or reset.
   */
  take(): Buffer {
    this.closeBlock();
    return this.w.view();
  }

  /** Forgets what was taken; a buffer grown for one huge record is let go. */
  reset(): void {
    this.blockStart = -1;
    if (this.w.buf.length > KEEP_BYTES) this.w = new RespWriter(INITIAL_BYTES);
    else this.w.reset();
  }

  private closeBlock(): void {
    if (this.blockStart < 0) return;
    sealBlockHeader(this.w.buf, this.blockStart, this.w.length - this.blockStart - LOG_BLOCK_HEADER_BYTES);
    this.blockStart = -1;
  }
}
