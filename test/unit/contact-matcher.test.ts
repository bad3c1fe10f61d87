import { decideMatch, type PhoneOwnerRow } from '../../src/contacts/contact-matcher';

const contact = (id: string, org: { id: string; name: string } | null = null): PhoneOwnerRow => ({
  contact_id: id,
  contact_name: `Contact ${id}`,
  organization_id: org?.id ?? null,
  organization_name: org?.name ?? null,
  via: 'contact',
});
const orgPhone = (org: { id: string; name: string }): PhoneOwnerRow => ({
  contact_id: null,
  contact_name: null,
  organization_id: org.id,
  organization_name: org.name,
  via: 'organization',
});
const X = { id: 'org-x', name: 'Roshen' };
const Y = { id: 'org-y', name: 'Nova Poshta' };

describe('decideMatch', () => {
  it('nobody has the number: none', () => {
    expect(decideMatch([])).toEqual({ match: 'none', contact: null, organization: null, candidates: [] });
  });

  it('one contact: matched, with no organization', () => {
    expect(decideMatch([contact('c1')])).toEqual({
      match: 'matched',
      contact: { id: 'c1', name: 'Contact c1' },
      organization: null,
      candidates: [],
    });
  });

  it('one contact: matched, with its organization', () => {
    expect(decideMatch([contact('c1', X)])).toEqual({
      match: 'matched',
      contact: { id: 'c1', name: 'Contact c1' },
      organization: X,
      candidates: [],
    });
  });

  it('the same contact twice (the number stored in two forms) is still one contact', () => {
    expect(decideMatch([contact('c1', X), contact('c1', X)])).toMatchObject({ match: 'matched', contact: { id: 'c1' } });
  });

  it('a contact whose number is also its own organization’s phone: the contact, with that organization', () => {
    expect(decideMatch([orgPhone(X), contact('c1', X)])).toEqual({
      match: 'matched',
      contact: { id: 'c1', name: 'Contact c1' },
      organization: X,
      candidates: [],
    });
  });

  it('only an organization has the number: matched organization, no contact', () => {
    expect(decideMatch([orgPhone(Y)])).toEqual({ match: 'matched', contact: null, organization: Y, candidates: [] });
    expect(decideMatch([orgPhone(Y), orgPhone(Y)])).toMatchObject({ match: 'matched', organization: Y });
  });

  it('two contacts: ambiguous, never picked, both listed', () => {
    const r = decideMatch([contact('c1'), contact('c2')]);
    expect(r).toEqual({
      match: 'ambiguous',
      contact: null,
      organization: null,
      candidates: [
        { contactId: 'c1', organizationId: null, name: 'Contact c1' },
        { contactId: 'c2', organizationId: null, name: 'Contact c2' },
      ],
    });
  });

  it('two contacts of the same organization: ambiguous contact, but the organization is known', () => {
    expect(decideMatch([contact('c1', X), contact('c2', X)])).toMatchObject({ match: 'ambiguous', contact: null, organization: X });
    // the organization's own phone too: it is not listed again as a candidate
    const r = decideMatch([contact('c1', X), contact('c2', X), orgPhone(X)]);
    expect(r).toMatchObject({ match: 'ambiguous', organization: X });
    expect(r.candidates.map((c) => c.contactId)).toEqual(['c1', 'c2']);
  });

  it('two contacts of different organizations, or with and without one: no organization', () => {
    expect(decideMatch([contact('c1', X), contact('c2', Y)])).toMatchObject({ match: 'ambiguous', organization: null });
    expect(decideMatch([contact('c1', X), contact('c2')])).toMatchObject({ match: 'ambiguous', organization: null });
    expect(decideMatch([contact('c1', X), contact('c2', X), orgPhone(Y)])).toMatchObject({ match: 'ambiguous', organization: null });
  });

  it('a contact and an unrelated organization with the same number: ambiguous, both listed', () => {
    const r = decideMatch([contact('c1', X), orgPhone(Y)]);
    expect(r).toEqual({
      match: 'ambiguous',
      contact: null,
      organization: null,
      candidates: [
        { contactId: 'c1', organizationId: X.id, name: 'Contact c1' },
        { contactId: null, organizationId: Y.id, name: Y.name },
      ],
    });
    expect(decideMatch([contact('c1'), orgPhone(Y)])).toMatchObject({ match: 'ambiguous', contact: null });
  });

  it('two organizations: ambiguous, both listed', () => {
    const r = decideMatch([orgPhone(X), orgPhone(Y)]);
    expect(r).toMatchObject({ match: 'ambiguous', contact: null, organization: null });
    expect(r.candidates).toEqual([
      { contactId: null, organizationId: X.id, name: X.name },
      { contactId: null, organizationId: Y.id, name: Y.name },
    ]);
  });

  it('does not depend on the order of the rows', () => {
    const rows = [contact('c1', X), orgPhone(Y), contact('c2', X)];
    const a = decideMatch(rows);
    const b = decideMatch([...rows].reverse());
    expect({ ...b, candidates: [...b.candidates].sort((p, q) => p.name.localeCompare(q.name)) }).toEqual({
      ...a,
      candidates: [...a.candidates].sort((p, q) => p.name.localeCompare(q.name)),
    });
  });
});
