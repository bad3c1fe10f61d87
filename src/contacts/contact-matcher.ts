import type { DataSource } from 'typeorm';
import type { ContactMatch } from '../calls/call-record';

export interface PhoneOwnerRow {
  contact_id: string | null;
  contact_name: string | null;
  organization_id: string | null;
  organization_name: string | null;
  /** 'contact' when the phone is the contact's own, 'organization' when it is the organization's */
  via: 'contact' | 'organization';
}

export interface MatchResult {
  match: ContactMatch;
  contact: { id: string; name: string } | null;
  organization: { id: string; name: string } | null;
  /** every contact or organization that has the number, when ambiguous */
  candidates: { contactId: string | null; organizationId: string | null; name: string }[];
}

const NONE: MatchResult = { match: 'none', contact: null, organization: null, candidates: [] };

/**
 * Pure decision: one contact → matched (with its organization); no contact but one organization →
 * matched organization; several contacts or organizations → ambiguous, never silently picked.
 */
export function decideMatch(rows: PhoneOwnerRow[]): MatchResult {
  if (rows.length === 0) return NONE;
  const contacts = new Map<string, PhoneOwnerRow>();
  const orgs = new Map<string, string>();
  for (const r of rows) {
    if (r.via === 'contact' && r.contact_id) contacts.set(r.contact_id, r);
    if (r.via === 'organization' && r.organization_id) orgs.set(r.organization_id, r.organization_name ?? '');
  }
  if (contacts.size === 1) {
    const c = [...contacts.values()][0]!;
    const org = c.organization_id ? { id: c.organization_id, name: c.organization_name ?? '' } : null;
    // the contact's number also listed under an unrelated organization: still ambiguous
    const otherOrgs = [...orgs.keys()].filter((id) => id !== c.organization_id);
    if (otherOrgs.length === 0) {
      return { match: 'matched', contact: { id: c.contact_id!, name: c.contact_name ?? '' }, organization: org, candidates: [] };
    }
  }
  if (contacts.size === 0 && orgs.size === 1) {
    const [id, name] = [...orgs.entries()][0]!;
    return { match: 'matched', contact: null, organization: { id, name }, candidates: [] };
  }
  const candidates = [
    ...[...contacts.values()].map((c) => ({ contactId: c.contact_id, organizationId: c.organization_id, name: c.contact_name ?? '' })),
    ...[...orgs.entries()]
      .filter(([id]) => ![...contacts.values()].some((c) => c.organization_id === id))
      .map(([id, name]) => ({ contactId: null, organizationId: id, name })),
  ];
  const sharedOrgIds = new Set([...contacts.values()].map((c) => c.organization_id));
  const sharedOrg =
    sharedOrgIds.size === 1 && [...sharedOrgIds][0] && (orgs.size === 0 || (orgs.size === 1 && orgs.has([...sharedOrgIds][0]!)))
      ? { id: [...sharedOrgIds][0]!, name: [...contacts.values()][0]!.organization_name ?? '' }
      : null;
  return { match: 'ambiguous', contact: null, organization: sharedOrg, candidates };
}

export async function matchNumber(ds: DataSource, e164: string | null): Promise<MatchResult> {
  return e164 ? (await matchNumbers(ds, [e164])).get(e164)! : NONE;
}

/**
 * Who has each number: its contacts, and organizations by their own phones (at most 50 owners a
 * number), decided by decideMatch. One query for many numbers: the capture pipeline asks for
 * every new call's number, and one round trip per call cannot keep up with a busy PBX. Every
 * number asked for has a result.
 */
export async function matchNumbers(ds: DataSource, e164s: readonly string[]): Promise<Map<string, MatchResult>> {
  const unique = [...new Set(e164s)];
  const rows: (PhoneOwnerRow & { e164: string })[] = unique.length
    ? await ds.query(
        `SELECT n.e164, o.*
           FROM unnest($1::text[]) AS n(e164)
           CROSS JOIN LATERAL (
             SELECT c.id AS contact_id,
                    trim(c.first_name || ' ' || coalesce(c.last_name, '')) AS contact_name,
                    coalesce(c.organization_id, o.id) AS organization_id,
                    coalesce(co.name, o.name) AS organization_name,
                    CASE WHEN p.contact_id IS NOT NULL THEN 'contact' ELSE 'organization' END AS via
               FROM phones p
               LEFT JOIN contacts c ON c.id = p.contact_id
               LEFT JOIN organizations co ON co.id = c.organization_id
               LEFT JOIN organizations o ON o.id = p.organization_id
              WHERE p.e164 = n.e164
              LIMIT 50) o`,
        [unique],
      )
    : [];
  const byNumber = new Map<string, PhoneOwnerRow[]>(unique.map((n) => [n, []]));
  for (const { e164, ...row } of rows) byNumber.get(e164)?.push(row);
  return new Map([...byNumber].map(([n, owners]) => [n, decideMatch(owners)]));
}
