// Node's Buffer has these methods (behind toString/write), undocumented but stable since Node 0.x.
// They skip argument normalisation, which matters on the per-request path of the codec.
interface Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length?: number): number;
  utf8Write(text: string, offset: number, length?: number): number;
}
