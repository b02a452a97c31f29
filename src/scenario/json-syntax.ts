/**
 * A strict JSON syntax check that says where and what, in JSON's own terms. The YAML parser reads JSON
 * too (and gives every node its position), but it tolerates trailing commas and comments, and its
 * messages speak of flow collections; a `.json` file gets this check first.
 */

export interface JsonSyntaxError {
  /** Character offset of the problem. */
  offset: number;
  message: string;
}

/** Nesting beyond this is reported rather than risking the stack. */
const MAX_DEPTH = 512;

class JsonSyntaxChecker {
  private at = 0;

  constructor(private readonly text: string) {
    if (text.startsWith('\uFEFF')) this.at = 1;
  }

  check(): JsonSyntaxError | undefined {
    try {
      this.value(0);
      this.whitespace();
      if (this.at < this.text.length) this.fail('unexpected text after the end of the document');
      return undefined;
    } catch (error) {
      if (error instanceof Failure) return { offset: error.offset, message: error.message };
      throw error;
    }
  }

  private fail(message: string, offset = this.at): never {
    throw new Failure(offset, message);
  }

  private describeHere(): string {
    if (this.at >= this.text.length) return 'the end of the file';
    const char = this.text[this.at];
    return char === '\n' || char === '\r' ? 'the end of the line' : `'${char}'`;
  }

  private whitespace(): void {
    while (this.at < this.text.length) {
      const char = this.text[this.at];
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r') this.at++;
      else if (char === '/' && (this.text[this.at + 1] === '/' || this.text[this.at + 1] === '*')) {
        this.fail('comments are not allowed in JSON');
      } else return;
    }
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} deep`);
    this.whitespace();
    const char = this.text[this.at];
    if (char === '{') this.object(depth);
    else if (char === '[') this.array(depth);
    else if (char === '"') this.string();
    else if (char === '-' || (char >= '0' && char <= '9')) this.number();
    else if (!this.literal('true') && !this.literal('false') && !this.literal('null')) {
      this.fail(
        `expected a value (object, array, string, number, true, false or null), found ${this.describeHere()}`,
      );
    }
  }

  private literal(word: string): boolean {
    if (!this.text.startsWith(word, this.at)) return false;
    this.at += word.length;
    return true;
  }

  private object(depth: number): void {
    this.at++; // {
    this.whitespace();
    if (this.text[this.at] === '}') {
      this.at++;
      return;
    }
    for (;;) {
      this.whitespace();
      if (this.text[this.at] !== '"') {
        if (this.text[this.at] === '}') this.fail("a trailing comma is not allowed before '}'");
        this.fail(`expected a property name in double quotes, found ${this.describeHere()}`);
      }
      this.string();
      this.whitespace();
      if (this.text[this.at] !== ':')
        this.fail(`expected ':' after the property name, found ${this.describeHere()}`);
      this.at++;
      this.value(depth + 1);
      this.whitespace();
      const next = this.text[this.at];
      if (next === '}') {
        this.at++;
        return;
      }
      if (next !== ',')
        this.fail(`expected ',' or '}' after the property value, found ${this.describeHere()}`);
      this.at++;
    }
  }

  private array(depth: number): void {
    this.at++; // [
    this.whitespace();
    if (this.text[this.at] === ']') {
      this.at++;
      return;
    }
    for (;;) {
      this.whitespace();
      if (this.text[this.at] === ']') this.fail("a trailing comma is not allowed before ']'");
      this.value(depth + 1);
      this.whitespace();
      const next = this.text[this.at];
      if (next === ']') {
        this.at++;
        return;
      }
      if (next !== ',') this.fail(`expected ',' or ']' after the array item, found ${this.describeHere()}`);
      this.at++;
    }
  }

  private string(): void {
    const start = this.at;
    this.at++; // opening quote
    while (this.at < this.text.length) {
      const char = this.text[this.at];
      if (char === '"') {
        this.at++;
        return;
      }
      if (char === '\\') {
        const escaped = this.text[this.at + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.at + 2, this.at + 6))) {
            this.fail('\\u must be followed by four hex digits');
          }
          this.at += 6;
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) {
          this.at += 2;
        } else {
          this.fail(`invalid escape '\\${escaped ?? ''}' in a string`);
        }
      } else if (char < ' ') {
        this.fail(
          char === '\n'
            ? 'the string is not closed on its line'
            : 'a control character in a string must be escaped',
        );
      } else {
        this.at++;
      }
    }
    this.fail('the string is never closed', start);
  }

  private number(): void {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.at, this.at + 400));
    if (!match) this.fail('invalid number');
    this.at += match[0].length;
    if (/^[0-9A-Za-z_.]/.test(this.text[this.at] ?? '')) this.fail('invalid number');
  }
}

class Failure extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** The first syntax error of a JSON text, or undefined when it is well-formed JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  return new JsonSyntaxChecker(text).check();
}
