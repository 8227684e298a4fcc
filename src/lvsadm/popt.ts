/**
 * An option scanner with the rules of libpopt's poptGetNextOpt, which
 * ipvsadm parses its arguments with (popt/src/popt.c, read at
 * rpm-software-management/popt), so that lvsadm splits an argument list
 * exactly as ipvsadm does:
 *
 * - a word that does not start with "-" (or is "-" alone) is a leftover and
 *   scanning goes on (options may follow it); after "--" every word is a
 *   leftover;
 * - "--name" or "--name=value" is a long option, matched exactly; a
 *   single-dash word is a cluster of short options ("-Ln", "-At10.0.0.1:80");
 * - an option that takes a value takes the rest of its cluster ("-p300", an
 *   "=" skipped: "-p=300"), else the next word even when it starts with "-"
 *   ("-t -L" makes "-L" the service address);
 * - an optional value (ipvsadm's -p) is taken from the next word only when
 *   that word does not start with "-" and exists ("-p -M m" and a final
 *   "-p" have no value);
 * - a value given to an option that takes none ("--list=x", "-L=x") is an
 *   error, as is a missing value or an unknown option.
 *
 * `bad` is what poptBadOption(POPT_BADOPTION_NOALIAS) returns at that point:
 * the last word consumed (a whole cluster, or an option's value).
 *
 * @module
 */

/** How an option takes a value. */
export type ArgKind = "none" | "string" | "optional";

/** One option of the table. */
export interface OptionDef {
  /** The long name without "--"; also the option's identity. */
  long: string;
  /** The one-letter short name, if any. */
  short?: string;
  kind: ArgKind;
}

/** popt's messages (poptStrerror) for the errors the scanner reports. */
export type PoptError = "unknown option" | "missing argument" | "option does not take an argument";

/** What the scanner found next. */
export type PoptEvent =
  | { type: "option"; def: OptionDef; arg: string | null; bad: string }
  | { type: "end" }
  | { type: "error"; error: PoptError; bad: string };

/** Scans an argument list one option at a time; leftovers collect in {@link PoptScanner.leftovers}. */
export class PoptScanner {
  readonly #argv: readonly string[];
  readonly #byLong = new Map<string, OptionDef>();
  readonly #byShort = new Map<string, OptionDef>();
  #next = 0;
  /** The unread short options of the current cluster (popt's nextCharArg). */
  #chars: string | null = null;
  #restLeftover = false;
  /** Words that are not options, in order (poptGetArg hands them out). */
  readonly leftovers: string[] = [];

  constructor(argv: readonly string[], table: readonly OptionDef[]) {
    this.#argv = argv;
    for (const def of table) {
      // popt's findOption takes the first entry that matches.
      if (!this.#byLong.has(def.long)) this.#byLong.set(def.long, def);
      if (def.short && !this.#byShort.has(def.short)) this.#byShort.set(def.short, def);
    }
  }

  /** poptBadOption: the last word consumed. */
  #bad(): string {
    return this.#argv[this.#next - 1] ?? "";
  }

  next(): PoptEvent {
    for (;;) {
      let def: OptionDef | undefined;
      let longArg: string | undefined;
      if (this.#chars === null) {
        if (this.#next >= this.#argv.length) return { type: "end" };
        const word = this.#argv[this.#next++];
        if (this.#restLeftover || !word.startsWith("-") || word === "-") {
          this.leftovers.push(word);
          continue;
        }
        if (word === "--") {
          this.#restLeftover = true;
          continue;
        }
        if (word.startsWith("--")) {
          const body = word.slice(2);
          const eq = body.indexOf("=");
          const name = eq < 0 ? body : body.slice(0, eq);
          if (eq >= 0) longArg = body.slice(eq + 1);
          def = this.#byLong.get(name);
          if (!def) return { type: "error", error: "unknown option", bad: word };
        } else {
          // No option of the table is a single-dash long option
          // (POPT_ARGFLAG_ONEDASH), so the word is a cluster of short ones.
          this.#chars = word.slice(1);
        }
      }
      if (def === undefined) {
        const chars = this.#chars as string;
        def = this.#byShort.get(chars[0]);
        this.#chars = chars.length > 1 ? chars.slice(1) : null;
        if (!def) return { type: "error", error: "unknown option", bad: this.#bad() };
      }
      if (def.kind === "none") {
        if (longArg !== undefined || this.#chars?.startsWith("=")) {
          return { type: "error", error: "option does not take an argument", bad: this.#bad() };
        }
        return { type: "option", def, arg: null, bad: this.#bad() };
      }
      let arg: string | null;
      if (longArg !== undefined) arg = longArg;
      else if (this.#chars !== null) {
        arg = this.#chars.startsWith("=") ? this.#chars.slice(1) : this.#chars;
        this.#chars = null;
      } else if (this.#next >= this.#argv.length) {
        if (def.kind !== "optional") return { type: "error", error: "missing argument", bad: this.#bad() };
        arg = null;
      } else if (def.kind === "optional" && this.#argv[this.#next].startsWith("-")) {
        arg = null;
      } else {
        arg = this.#argv[this.#next++];
      }
      return { type: "option", def, arg, bad: this.#bad() };
    }
  }
}
