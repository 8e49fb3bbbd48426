// Which npm packages may go into the corpus: those whose package.json declares a permissive licence.
// Accepted: MIT, ISC, Apache-2.0, BSD-2-Clause, BSD-3-Clause, and SPDX expressions built from them (an OR needs one
// accepted side, an AND needs both). Everything else is dropped: copyleft, "SEE LICENSE IN …", UNLICENSED, no
// licence field, the deprecated `licenses` array when it names anything else. The decision and the text it was made
// from go into the corpus manifest (the model card lists every package with its licence).

export const permissiveLicences: ReadonlySet<string> = new Set(['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause']);

export interface LicenceVerdict {
  readonly ok: boolean;
  /** The licence as declared (an SPDX expression, or the legacy forms flattened to one). */
  readonly declared: string;
  readonly reason?: string;
}

/** Reads `license` / `licenses` from a parsed package.json and decides. */
export function licenceOf(pkg: unknown): LicenceVerdict {
  const p = (pkg ?? {}) as { license?: unknown; licenses?: unknown };
  let declared: string | undefined;
  if (typeof p.license === 'string') declared = p.license.trim();
  else if (p.license && typeof p.license === 'object' && typeof (p.license as { type?: unknown }).type === 'string') {
    declared = (p.license as { type: string }).type.trim();
  } else if (Array.isArray(p.licenses)) {
    const types = p.licenses.map((l) => (l && typeof l === 'object' ? (l as { type?: unknown }).type : l)).filter((t): t is string => typeof t === 'string');
    if (types.length > 0) declared = types.length === 1 ? types[0] : `(${types.join(' OR ')})`;
  }
  if (!declared) return { ok: false, declared: '', reason: 'no license field' };
  const ok = spdxPermissive(declared);
  return ok ? { ok, declared } : { ok, declared, reason: `licence '${declared}' is not one of ${[...permissiveLicences].join(', ')} (or an expression of them)` };
}

/** True when the SPDX expression is satisfied by permissive licences alone. Unparseable text is not permissive. */
export function spdxPermissive(expression: string): boolean {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  // or := and ('OR' and)* ; and := atom ('AND' atom)* ; atom := '(' or ')' | id ['WITH' id]
  const parseOr = (): boolean | undefined => {
    let v = parseAnd();
    while (v !== undefined && peek()?.toUpperCase() === 'OR') {
      at++;
      const r = parseAnd();
      if (r === undefined) return undefined;
      v = v || r;
    }
    return v;
  };
  const parseAnd = (): boolean | undefined => {
    let v = parseAtom();
    while (v !== undefined && peek()?.toUpperCase() === 'AND') {
      at++;
      const r = parseAtom();
      if (r === undefined) return undefined;
      v = v && r;
    }
    return v;
  };
  const parseAtom = (): boolean | undefined => {
    const t = tokens[at++];
    if (t === undefined) return undefined;
    if (t === '(') {
      const v = parseOr();
      if (tokens[at++] !== ')') return undefined;
      return v;
    }
    if (t === ')' || /^(AND|OR|WITH)$/i.test(t)) return undefined;
    // An exception (`Apache-2.0 WITH LLVM-exception`) only adds permissions.
    if (peek()?.toUpperCase() === 'WITH') at += 2;
    return permissiveLicences.has(t);
  };
  const v = parseOr();
  return v === true && at === tokens.length;
}
