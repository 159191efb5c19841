// The JSON objects of a streaming request's body (a watch's or a keep-alive's requests, one
// after another), read as its chunks arrive.

/** Splits a stream of concatenated JSON objects into objects. */
export class JsonObjects {
  /** The text of the object being read, in the pieces it came in. */
  private pending: string[] = [];
  // Where the scan stands, kept between chunks so that each character is looked at once.
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Hands each complete object to `take` in turn; throws at the first text that is not one. */
  feed(chunk: string, take: (json: unknown) => void): void {
    let from = 0; // where the object being read starts in this chunk (0: in an earlier one)
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (this.depth === 0 && c !== '{' && !/\s/.test(c)) throw new SyntaxError(`invalid character '${c}' looking for beginning of value`);
      else if (c === '{') {
        if (this.depth++ === 0) from = i;
      } else if (c === '}' && --this.depth === 0) {
        this.pending.push(chunk.slice(from, i + 1));
        const json = JSON.parse(this.pending.join(''));
        this.pending = [];
        take(json);
      }
    }
    if (this.depth > 0) this.pending.push(chunk.slice(from));
  }
}
