// RESP2's bytes, named once: the first byte of every reply says its type, and CR LF ends every line.
// The codec, the bench's reply scanner users, the append-only log replay and the fault tools all
// test these bytes, so they read them from here instead of writing 0x2d again.

/** `+OK\r\n`: a simple string. */
export const RESP_SIMPLE = 0x2b;
/** `-ERR message\r\n`: an error reply. */
export const RESP_ERROR = 0x2d;
/** `:42\r\n`: an integer. */
export const RESP_INTEGER = 0x3a;
/** `$3\r\nfoo\r\n` (or `$-1\r\n`, nil): a bulk string. */
export const RESP_BULK = 0x24;
/** `*2\r\n...`: an array (a request is an array of bulk strings). */
export const RESP_ARRAY = 0x2a;
export const CR = 0x0d;
export const LF = 0x0a;
